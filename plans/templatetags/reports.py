"""What the report partials (``templates/plans/reports/``) need from a report beyond its fields."""

from django import template

from plans.reports.dashboard import Chart, dashboard
from plans.reports.report import (
    APPENDIX_COLUMNS,
    COUNT_COLUMNS,
    RAG_ORDER,
    STATE_ORDER,
    PlanReport,
    count_table,
)

register = template.Library()


@register.simple_tag
def report_counts(report: PlanReport) -> dict:
    """``{% report_counts report as counts %}``: the counts table's headings and rows."""
    return {
        "columns": COUNT_COLUMNS,
        "rows": count_table(report),
        "rag_span": len(RAG_ORDER),
        "state_span": len(STATE_ORDER),
    }


@register.simple_tag
def report_columns() -> list[str]:
    return APPENDIX_COLUMNS


@register.simple_tag
def report_charts(report: PlanReport, id_prefix: str = "dashboard") -> list[Chart]:
    return dashboard(report, id_prefix=id_prefix)
