"""Import a national framework's themes and recommendations from the operator's own copy."""

import datetime
from pathlib import Path

from django.core.exceptions import PermissionDenied
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from plans.frameworks.services import FrameworkImport, FrameworkImportRefused, framework_import
from tenants.models import User


class Command(BaseCommand):
    help = (
        "Import a national framework from a CSV file or Excel workbook (see "
        "docs/framework-import.md). A framework with the same short name, such as the outline "
        "of Laming 2009, is updated in place. --dry-run lists every problem and changes nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the .csv or .xlsx file")
        parser.add_argument("--short-name", required=True, help="e.g. laming-2009")
        parser.add_argument("--title", required=True, help="the framework's full title")
        parser.add_argument("--published", help="publication date, YYYY-MM-DD")
        parser.add_argument("--source", default="", help="where the text comes from")
        parser.add_argument(
            "--by",
            required=True,
            metavar="EMAIL",
            help="the operator's account importing it, recorded in the admin log",
        )
        parser.add_argument("--dry-run", action="store_true", help="check only; change nothing")

    def handle(self, *args, **options):
        path = Path(options["file"])
        if not path.is_file():
            raise CommandError(f"There is no file at {path}.")
        by = User.objects.filter(email__iexact=options["by"].strip()).first()
        if by is None:
            raise CommandError(f"No account has the e-mail address {options['by']}.")
        published = None
        if options["published"]:
            try:
                published = datetime.date.fromisoformat(options["published"])
            except ValueError:
                raise CommandError("Give --published as a date, YYYY-MM-DD.") from None
        with path.open("rb") as handle:
            try:
                report = framework_import(
                    file=File(handle, name=path.name),
                    tenant=None,
                    by=by,
                    short_name=options["short_name"],
                    title=options["title"],
                    published=published,
                    source=options["source"],
                    dry_run=options["dry_run"],
                )
            except PermissionDenied as error:
                raise CommandError(str(error)) from None
            except FrameworkImportRefused as refused:
                report = refused.report
        if not report.ok:
            for problem in report.problems:
                self.stderr.write(str(problem))
            raise CommandError(
                f"{len(report.problems)} problem(s) found; nothing has been imported."
            )
        self.stdout.write(self._summary(report, dry_run=options["dry_run"]))

    def _summary(self, report: FrameworkImport, *, dry_run: bool) -> str:
        lines = []
        if report.existing is not None:
            lines.append(
                f"{'Would update' if dry_run else 'Updated'} {report.existing.short_name}: "
                f"{report.changes.summary}."
            )
        else:
            lines.append(f"{'Would create' if dry_run else 'Created'} {report.short_name}.")
        lines.append(f"{len(report.themes)} themes, {report.recommendation_count} recommendations:")
        lines.extend(
            f"  {theme.number}. {theme.title} ({theme.recommendations})" for theme in report.themes
        )
        if dry_run:
            lines.append("Dry run: nothing has been imported.")
        return "\n".join(lines)
