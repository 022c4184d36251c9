"""Check that each organisation's history is as it was written: its hash chain unbroken from the
first row to the head, and (with --head) that the head printed on a report is in it."""

import re

from django.core.management.base import BaseCommand, CommandError

from tenants.history import chain_link_at, chain_verify
from tenants.models import Tenant
from tenants.scoping import across_tenants, tenant_scope

HEAD = re.compile(r"^(\d+):([0-9a-f]{64})$")


class Command(BaseCommand):
    help = (
        "Check each organisation's history chain (the transition log, approvals, the record of "
        "changes and published reports) and name the first broken row. Exits 1 on a break."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--tenant", help="The organisation's slug; every organisation when left out."
        )
        parser.add_argument(
            "--head",
            help=(
                "A head as printed on a published report, POSITION:HASH: checks that the chain "
                "holds that hash at that position. Needs --tenant."
            ),
        )

    def handle(self, *args, tenant: str | None = None, head: str | None = None, **options):
        expected = self._head(head, tenant)
        with across_tenants():
            tenants = Tenant.objects.order_by("slug")
            if tenant is not None:
                tenants = tenants.filter(slug=tenant)
            tenants = list(tenants)
        if tenant is not None and not tenants:
            raise CommandError(f'There is no organisation with the slug "{tenant}".')
        if not tenants:
            self.stdout.write("There are no organisations, so there is no history to check.")
        broken = 0
        for each in tenants:
            with tenant_scope(each):
                verified = self._check(each) and (
                    expected is None or self._check_head(each, *expected)
                )
            broken += not verified
        if broken:
            raise CommandError(
                f"History does not verify for {broken} of {len(tenants)} "
                f"organisation{'s' if len(tenants) != 1 else ''}."
            )

    def _head(self, head: str | None, tenant: str | None) -> tuple[int, str] | None:
        if head is None:
            return None
        if tenant is None:
            raise CommandError("--head needs --tenant: a head belongs to one organisation.")
        match = HEAD.match(head.strip().lower())
        if match is None:
            raise CommandError(
                f'"{head}" is not a head: write it as printed on the report, POSITION:HASH, '
                "the hash being 64 characters 0-9 and a-f."
            )
        return int(match[1]), match[2]

    def _check(self, tenant: Tenant) -> bool:
        check = chain_verify(tenant_id=tenant.pk)
        head = f"{check.head_position}:{check.head_hash}" if check.head_position else "none"
        if check.intact:
            self.stdout.write(
                self.style.SUCCESS(f"{tenant.slug}: intact") + f", {check.rows} rows; head {head}"
            )
            return True
        self.stdout.write(
            self.style.ERROR(f"{tenant.slug}: BROKEN")
            + f" after {check.rows} intact rows, at {check.broken}"
        )
        return False

    def _check_head(self, tenant: Tenant, position: int, hash: str) -> bool:
        link = chain_link_at(tenant_id=tenant.pk, position=position)
        if link is not None and link.hash == hash:
            self.stdout.write(
                self.style.SUCCESS(f"{tenant.slug}: head {position}:{hash} is in the chain")
                + f" ({link.table} row {link.row_id})"
            )
            return True
        found = "no row" if link is None else f"{link.table} row {link.row_id}, hash {link.hash}"
        self.stdout.write(
            self.style.ERROR(f"{tenant.slug}: head {position}:{hash} is NOT in the chain")
            + f"; at position {position} there is {found}"
        )
        return False
