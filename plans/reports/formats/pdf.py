"""A plan's report as a tagged PDF, drawn by WeasyPrint from ``plans/reports/pdf.html``."""

from django.template.loader import render_to_string

from plans.reports.report import PlanReport

# PDF/UA-1: tagged (headings, tables and their headers, figures with their titles as
# alternative text), with the document's title and language, for screen readers.
PDF_VARIANT = "pdf/ua-1"


class PdfUnavailable(RuntimeError):
    """This server cannot draw PDFs: WeasyPrint or the Pango library it needs is missing."""


def report_html(report: PlanReport) -> str:
    return render_to_string("plans/reports/pdf.html", {"report": report})


def report_pdf(report: PlanReport) -> bytes:
    # WeasyPrint loads Pango as it is imported, so importing it here rather than at the top
    # lets the rest of the service start on a machine without Pango.
    try:
        from weasyprint import HTML
    except (ImportError, OSError) as error:
        raise PdfUnavailable(
            "PDF reports cannot be made on this server: WeasyPrint and the Pango library it "
            f"draws with must be installed ({error}). The other formats still work."
        ) from error
    return HTML(string=report_html(report)).write_pdf(pdf_variant=PDF_VARIANT)
