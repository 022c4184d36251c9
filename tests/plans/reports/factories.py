"""Progress reports built by hand, as ``plans.reports.as_of.plan_report`` would build them, so the
formats can be tested without a database."""

import datetime
from dataclasses import replace

from plans.reports.report import (
    ChangeLine,
    Counts,
    DueDateMove,
    PlanReport,
    ReportChanges,
    ReportRecommendation,
    ReportRow,
    ReportTheme,
)

D = datetime.date

LONG_PROGRESS = (
    "The multi-agency referral pathway was agreed by the LSCB board in July. Training for "
    "front-line staff began in August: 120 of 180 social workers, 40 of 65 health visitors and "
    "all 12 designated teachers have attended.\n\n"
    "The police's new referral system goes live in November, later than planned, so referrals "
    "from the police are still passed on by telephone and e-mail and checked by hand each "
    "morning. The audit of 50 referrals in September found that 46 reached a social worker "
    "within one working day; the four that did not were all made at a weekend.\n\n"
    "Next steps: weekend cover from the emergency duty team, a second audit in December, and "
    "a report to the Executive in January."
)

# Text a spreadsheet would take for a formula, one for each character that starts one.
FORMULA_TEXTS = {
    "=": '=HYPERLINK("http://example.org/","Details")',
    "+": "+ Schools forum",
    "-": "-5 days behind plan after the summer break.",
    "@": "@Health visitors",
    "\t": "\tWaiting for the Executive's decision.",
    "\r": "\rTo be confirmed at the next board.",
}

_next_id = iter(range(1, 10_000))


def row(reference: str, title: str, state: str, schedule_rag: str | None, **fields) -> ReportRow:
    fields.setdefault("recommendations", [])
    fields.setdefault("lead_officer", "Bob Officer")
    fields.setdefault("lead_partner", "Bedfordshire Police")
    fields.setdefault("supporting_partners", "")
    fields.setdefault("due_date", D(2009, 12, 31))
    fields.setdefault("original_due_date", None)
    fields.setdefault("officer_rag", schedule_rag)
    fields.setdefault("progress_note", "")
    fields.setdefault("progress_date", None)
    return ReportRow(
        action_id=next(_next_id),
        reference=reference,
        title=title,
        state=state,
        schedule_rag=schedule_rag,
        **fields,
    )


def theme(position: int | None, title: str, *recommendations: ReportRecommendation) -> ReportTheme:
    counts = Counts()
    for recommendation in recommendations:
        for each in recommendation.rows:
            if not each.recommendations and recommendation.number is not None:
                each.recommendations = [recommendation.number]
            counts.add(each)
    return ReportTheme(
        position=position, title=title, recommendations=list(recommendations), counts=counts
    )


def committee_report(
    *,
    plan_title: str = "Laming action plan 2009 to 2010",
    with_changes: bool = True,
) -> PlanReport:
    """Central Bedfordshire's plan as of 1 October 2009: four themes (one for actions answering
    no recommendation), every state and RAG, a due date moved, a long progress note, a
    recommendation nothing answers yet, and text that starts like a formula."""
    themes = [
        theme(
            1,
            "Leadership and accountability",
            ReportRecommendation(
                1,
                "Shared national priorities for child protection across government",
                [
                    row(
                        "1.1",
                        "Publish the partnership's safeguarding priorities",
                        "signed_off",
                        "blue",
                        lead_officer="Alice Manager",
                        lead_partner="Central Bedfordshire Council",
                        due_date=D(2009, 9, 30),
                        progress_note="Published on the council's website.",
                        progress_date=D(2009, 9, 18),
                        step_dates={
                            "agreed": D(2009, 4, 20),
                            "in_progress": D(2009, 5, 1),
                            "evidenced": D(2009, 9, 14),
                            "signed_off": D(2009, 9, 20),
                        },
                    ),
                    row(
                        "1.2",
                        "Train every lead member in safeguarding",
                        "in_progress",
                        "red",
                        officer_rag="amber",
                        due_date=D(2009, 9, 15),
                        original_due_date=D(2009, 7, 31),
                        supporting_partners=FORMULA_TEXTS["+"],
                        progress_note=FORMULA_TEXTS["-"],
                        progress_date=D(2009, 9, 28),
                        step_dates={"agreed": D(2009, 4, 20), "in_progress": D(2009, 6, 1)},
                    ),
                ],
            ),
            ReportRecommendation(
                5,
                "Regular reports on safeguarding performance to elected members",
                [
                    row(
                        "5.1",
                        "Quarterly performance report to the Executive",
                        "evidenced",
                        "green",
                        officer_rag="green",
                        lead_officer="Mark Team",
                        lead_partner="Central Bedfordshire Council",
                        progress_note="First report went to the Executive on 8 September.",
                        progress_date=D(2009, 9, 9),
                        step_dates={
                            "agreed": D(2009, 4, 20),
                            "in_progress": D(2009, 5, 1),
                            "evidenced": D(2009, 9, 10),
                        },
                    ),
                    row(
                        "5.2",
                        "Scrutiny committee reviews the report each year",
                        "proposed",
                        "amber",
                        officer_rag=None,
                        lead_officer="",
                        lead_partner="",
                        due_date=None,
                    ),
                    row(
                        "5.3",
                        "Lead member briefed monthly by the director",
                        "signed_off",
                        "blue",
                        lead_officer="Alice Manager",
                        lead_partner="Central Bedfordshire Council",
                        due_date=D(2009, 7, 31),
                        step_dates={
                            "agreed": D(2009, 4, 20),
                            "in_progress": D(2009, 4, 21),
                            "evidenced": D(2009, 7, 1),
                            "signed_off": D(2009, 7, 8),
                        },
                    ),
                ],
            ),
        ),
        theme(
            2,
            "Support for children",
            ReportRecommendation(
                12,
                "Direct contact between social workers and the children they support",
                [
                    row(
                        "12.1",
                        FORMULA_TEXTS["="],
                        "agreed",
                        "green",
                        officer_rag="green",
                        lead_partner="NHS Bedfordshire",
                        supporting_partners=FORMULA_TEXTS["@"],
                        due_date=D(2010, 3, 31),
                        step_dates={"agreed": D(2009, 8, 3)},
                    ),
                    row(
                        "12.2",
                        "Pilot a children's panel in two schools",
                        "withdrawn",
                        None,
                        officer_rag=None,
                        progress_note=FORMULA_TEXTS["\t"],
                        progress_date=D(2009, 8, 12),
                        step_dates={"agreed": D(2009, 5, 11)},
                    ),
                ],
            ),
            ReportRecommendation(14, "Advocacy for children in child protection conferences"),
        ),
        theme(
            3,
            "Interagency working",
            ReportRecommendation(
                30,
                "A single referral pathway between agencies",
                [
                    row(
                        "30.1",
                        "Agree and train staff in one referral pathway",
                        "in_progress",
                        "amber",
                        officer_rag="red",
                        lead_partner="NHS Bedfordshire",
                        supporting_partners="Bedfordshire Police, schools, health visitors",
                        due_date=D(2009, 10, 20),
                        progress_note=LONG_PROGRESS,
                        progress_date=D(2009, 9, 30),
                        step_dates={"agreed": D(2009, 5, 11), "in_progress": D(2009, 6, 1)},
                    ),
                    row(
                        "30.2",
                        "Share the referral audit with every partner",
                        "in_progress",
                        "green",
                        officer_rag="blue",
                        due_date=D(2010, 1, 31),
                        progress_note=FORMULA_TEXTS["\r"],
                        progress_date=D(2009, 9, 1),
                        step_dates={"agreed": D(2009, 5, 11), "in_progress": D(2009, 8, 1)},
                    ),
                ],
            ),
        ),
        theme(
            None,
            "Actions not yet linked to a recommendation",
            ReportRecommendation(
                None,
                "Not linked to a recommendation",
                [
                    row(
                        "L.1",
                        "Review the out-of-hours social work service",
                        "in_progress",
                        "green",
                        lead_officer="Mark Team",
                        due_date=D(2010, 2, 28),
                        step_dates={"agreed": D(2009, 6, 1), "in_progress": D(2009, 6, 8)},
                    )
                ],
            ),
        ),
    ]
    counts = Counts()
    for each_theme in themes:
        for each in each_theme.rows:
            counts.add(each)
    changes = None
    if with_changes:
        changes = ReportChanges(
            since=D(2009, 9, 1),
            signed_off=[
                ChangeLine(
                    "1.1", "Publish the partnership's safeguarding priorities", D(2009, 9, 20)
                )
            ],
            newly_overdue=[
                ChangeLine("1.2", "Train every lead member in safeguarding", D(2009, 9, 16))
            ],
            due_dates_moved=[
                DueDateMove(
                    reference="1.2",
                    title="Train every lead member in safeguarding",
                    on=D(2009, 9, 2),
                    by="Alice Manager",
                    before=D(2009, 7, 31),
                    after=D(2009, 9, 15),
                    reason="The councillors' training day moved to September.",
                )
            ],
        )
    return PlanReport(
        tenant_name="Central Bedfordshire Council",
        plan_id=7,
        plan_title=plan_title,
        framework_title="The Protection of Children in England: A Progress Report (outline)",
        as_of=D(2009, 10, 1),
        themes=themes,
        counts=counts,
        changes=changes,
        signed_off_over_time=[
            (D(2009, 4, 30), 0),
            (D(2009, 5, 31), 0),
            (D(2009, 6, 30), 0),
            (D(2009, 7, 31), 1),
            (D(2009, 8, 31), 1),
            (D(2009, 9, 30), 2),
        ],
    )


def agency_report() -> PlanReport:
    """The police's own plan on the same date, for workbooks of several plans."""
    report = committee_report(
        plan_title="Bedfordshire Police safeguarding plan", with_changes=False
    )
    themes = report.themes[:1]
    counts = Counts()
    for each in themes[0].rows:
        counts.add(each)
    return replace(report, plan_id=8, themes=themes, counts=counts)
