"""The whole organisation's progress as of a date: each plan's report, and their totals."""

import datetime
from collections import defaultdict
from dataclasses import dataclass

from plans.models import ActionPlan
from plans.reports.as_of import plan_report
from plans.reports.report import Counts, PlanReport
from tenants.models import Tenant


@dataclass
class TenantProgress:
    tenant_name: str
    as_of: datetime.date
    reports: list[PlanReport]
    counts: Counts
    signed_off_over_time: list[tuple[datetime.date, int]]


def tenant_progress(*, tenant: Tenant, as_of: datetime.date) -> TenantProgress:
    """Every plan of ``tenant`` as it stood at the end of ``as_of`` (plans that
    had no actions then are left out). A handful of queries per plan, whatever its size."""
    reports = [
        plan_report(plan=plan, as_of=as_of)
        for plan in ActionPlan.objects.filter(tenant=tenant).order_by("title", "pk")
    ]
    reports = [report for report in reports if report.counts.total]
    counts = Counts()
    signed: dict[datetime.date, int] = defaultdict(int)
    for report in reports:
        for row in report.rows:
            counts.add(row)
        # Every plan's series ends on the same date and steps by month end, so a plan that began
        # later simply adds nothing to the earlier months.
        for day, count in report.signed_off_over_time:
            signed[day] += count
    return TenantProgress(
        tenant_name=tenant.name,
        as_of=as_of,
        reports=reports,
        counts=counts,
        signed_off_over_time=sorted(signed.items()),
    )
