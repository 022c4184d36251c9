"""Create the demo: the national Laming framework, two tenants, their people and plans."""

import os

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from plans.demo import DemoRefused, DemoSummary, demo_build

URL_HINT = f"http://127.0.0.1:{os.environ.get('PORT', '8000')}/"


class Command(BaseCommand):
    help = (
        "Create the demo tenants (Central Bedfordshire, Sunderland), their users and Laming "
        "plans. Development only: refuses to run with DEBUG off unless --force is given. "
        "Running it again changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--force",
            action="store_true",
            help="Run even though DEBUG is off (adds users with a published password).",
        )

    def handle(self, *args, force: bool = False, **options):
        try:
            summary = demo_build(today=timezone.localdate(), force=force)
        except DemoRefused as refusal:
            raise CommandError(str(refusal)) from None
        self._report(summary)

    def _report(self, summary: DemoSummary) -> None:
        out = self.stdout
        if summary.created:
            out.write(self.style.SUCCESS("Demo data created."))
        else:
            out.write(self.style.WARNING("Demo data already exists; nothing was changed."))
        out.write("")
        rows = [("E-mail", "Name", "Tenant", "Role", "Second factor")]
        rows += [
            (
                u.email,
                u.full_name,
                u.tenant or "(all tenants)",
                u.role,
                "app" if u.second_factor else "",
            )
            for u in summary.users
        ]
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for index, row in enumerate(rows):
            out.write(
                "  ".join(
                    cell.ljust(width) for cell, width in zip(row, widths, strict=True)
                ).rstrip()
            )
            if index == 0:
                out.write("  ".join("-" * width for width in widths))
        out.write("")
        for tenant, title, state in summary.plans:
            out.write(f"{tenant}: plan '{title}' is {state.lower()}.")
        for tenant, counts in summary.action_counts.items():
            listed = ", ".join(f"{state.replace('_', ' ')} {n}" for state, n in counts.items())
            out.write(f"{tenant}: {sum(counts.values())} actions ({listed}).")
        out.write("")
        out.write(f"Password for every demo user: {summary.password}")
        out.write(
            "Those marked 'app' (everyone on a sign-off body, tenant administrators, the operator) "
            "also enter a code from an authenticator app with this key (or "
            "`oathtool --totp -b KEY`): "
            f"{summary.totp_secret}"
        )
        out.write(f"Sign in at {URL_HINT}")
