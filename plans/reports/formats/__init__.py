"""A plan's progress report as a file: spreadsheet (XLSX, CSV), document (DOCX) or PDF.

``report_file`` is the one entry point for pages and tasks. Every format is a pure function of
a ``PlanReport``, so each carries the same rows in the same order.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from django.utils.text import slugify

from plans.reports.report import PlanReport
from tenants.history import HistoryHead


@dataclass(frozen=True)
class ReportFile:
    content: bytes
    content_type: str
    filename: str


@dataclass(frozen=True)
class Format:
    label: str
    extension: str
    content_type: str
    # Whether one file can carry several plans (the organisation-wide download).
    several_plans: bool


FORMATS = {
    "xlsx": Format(
        "Spreadsheet (XLSX)",
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        several_plans=True,
    ),
    "csv": Format("Spreadsheet (CSV)", "csv", "text/csv; charset=utf-8", several_plans=False),
    "docx": Format(
        "Document (DOCX)",
        "docx",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        several_plans=False,
    ),
    "pdf": Format("PDF", "pdf", "application/pdf", several_plans=False),
}

SLUG_LENGTH = 80


class ReportFormatError(ValueError):
    """A report file that cannot be made as asked; the message says why."""


def _writer(fmt: str) -> Callable[[Sequence[PlanReport]], bytes]:
    # Imported on demand: the PDF writer needs WeasyPrint only when a PDF is asked for.
    if fmt == "xlsx":
        from plans.reports.formats.xlsx import report_xlsx

        return report_xlsx
    if fmt == "csv":
        from plans.reports.formats.csv import report_csv

        return lambda reports: report_csv(reports[0])
    if fmt == "docx":
        from plans.reports.formats.docx import report_docx

        return lambda reports: report_docx(reports[0])
    from plans.reports.formats.pdf import report_pdf

    return lambda reports: report_pdf(reports[0])


def filename(reports: Sequence[PlanReport], extension: str) -> str:
    """``<plan>-progress-as-of-2009-10-01.xlsx``; named after the organisation for several
    plans."""
    first = reports[0]
    name = first.plan_title if len(reports) == 1 else f"{first.tenant_name} action plans"
    slug = slugify(name)[:SLUG_LENGTH].strip("-") or "action-plan"
    return f"{slug}-progress-as-of-{first.as_of.isoformat()}.{extension}"


def report_file(
    report_or_reports: PlanReport | Sequence[PlanReport],
    fmt: str,
    *,
    history_head: HistoryHead | None = None,
) -> ReportFile:
    """The report (or, in a spreadsheet, several plans' reports) as a file in format ``fmt``:
    one of ``FORMATS``; with ``history_head``, the organisation's history chain as the file
    is made, printed in its footer."""
    if fmt not in FORMATS:
        raise ReportFormatError(
            f'There is no report format "{fmt}". Choose one of: {", ".join(FORMATS)}.'
        )
    chosen = FORMATS[fmt]
    if isinstance(report_or_reports, PlanReport):
        reports = [report_or_reports]
    else:
        reports = list(report_or_reports)
    if not reports:
        raise ReportFormatError("There is no plan to report on.")
    if len(reports) > 1 and not chosen.several_plans:
        several = [name for name, each in FORMATS.items() if each.several_plans]
        raise ReportFormatError(
            f"A {fmt.upper()} file carries one plan. For several plans in one file, choose "
            f"{' or '.join(several)}."
        )
    # One file is for one organisation's readers, and its summary states one date.
    if len({report.tenant_name for report in reports}) > 1:
        raise ReportFormatError("One file carries the plans of one organisation only.")
    if len({report.as_of for report in reports}) > 1:
        raise ReportFormatError("One file carries the plans' progress as of one date only.")
    if history_head is not None:
        reports = [replace(report, history_head=history_head) for report in reports]
    return ReportFile(
        content=_writer(fmt)(reports),
        content_type=chosen.content_type,
        filename=filename(reports, chosen.extension),
    )
