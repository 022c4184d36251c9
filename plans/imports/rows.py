"""Checking each row of an imported plan, and turning it into an action with its history.

Every problem on every row is collected, with the row a person sees in their spreadsheet, so a
dry run lists them all. A row is checked against the plan as it stands: the organisation's
members and partner agencies, the bodies that may sign off the plan's actions, its framework's
recommendations and the references already used.

The steps its state and dates give are worked out in ``history``.
"""

import datetime
import re
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError

from plans.imports.columns import DATE_FIELDS, DATE_NAMES, FIELDS_BY_KEY, ImportChoices
from plans.imports.dates import DateCell, SeenDate, doubtful_dates, read_date
from plans.imports.history import Step, steps_for
from plans.models import Action, ActionPlan, Partner, Rag, Recommendation
from plans.reports.as_of import NO_RECOMMENDATION_TITLE
from plans.services import ACTION_TEXTS, PROGRESS_TEXT, sign_off_bodies_of_plan
from plans.spreadsheets.reading import Problem, cell_text
from tenants.models import Capability, Membership, SignOffBody
from tenants.text import TextRule, paragraph_text

State = Action.State

STATE_NAMES = {
    **{state.value: state.value for state in State},
    **{state.label.casefold(): state.value for state in State},
    "in-progress": State.IN_PROGRESS.value,
    "signed-off": State.SIGNED_OFF.value,
}
STATE_LIST = "Proposed, Agreed, In progress, Evidenced, Signed off or Withdrawn"
RAG_NAMES = {
    "red": Rag.RED.value,
    "r": Rag.RED.value,
    "amber": Rag.AMBER.value,
    "a": Rag.AMBER.value,
    "green": Rag.GREEN.value,
    "g": Rag.GREEN.value,
}
# What a spreadsheet writer puts before text it would otherwise read as a formula; the
# service's own exports do it, so an exported file reads back as it was.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

EXPORTED_RECOMMENDATION = re.compile(r"(\d+)\. \S")
# The progress note's rule, except that a row may have none.
PROGRESS_TEXT_OPTIONAL = paragraph_text(PROGRESS_TEXT.what, PROGRESS_TEXT.max_length)


@dataclass
class ImportedAction:
    row: int
    reference: str
    title: str
    description: str = ""
    recommendation_ids: list[int] = field(default_factory=list)
    lead_officer_id: int | None = None
    lead_partner_id: int | None = None
    supporting_partner_ids: list[int] = field(default_factory=list)
    due_date: datetime.date | None = None
    sign_off_body_id: int | None = None
    state: str = State.PROPOSED.value
    steps: list[Step] = field(default_factory=list)
    progress_note: str = ""
    progress_date: datetime.date | None = None
    officer_rag: str = ""

    @property
    def state_label(self) -> str:
        return State(self.state).label

    @property
    def dates(self) -> list[datetime.date]:
        dates = [step.on for step in self.steps if step.on is not None]
        if self.progress_note and self.progress_date is not None:
            dates.append(self.progress_date)
        return dates

    @property
    def earliest(self) -> datetime.date | None:
        """The date the action existed from, by its history; None when it gives no date."""
        return min(self.dates, default=None)


def _key(text: str) -> str:
    return " ".join(text.split()).casefold()


@dataclass
class PlanFacts:
    """What rows are checked against, read once for the whole file."""

    plan: ActionPlan
    today: datetime.date
    members_by_email: dict[str, Membership]
    members_by_name: dict[str, list[Membership]]
    partners: dict[str, Partner]
    bodies: dict[str, SignOffBody]
    authorised: dict[int, SignOffBody]
    recommendations: dict[int, int]
    references: set[str]
    default_body: SignOffBody | None = None

    @classmethod
    def read(cls, plan: ActionPlan, *, today: datetime.date, default_body_id: int | None):
        tenant_id = plan.tenant_id
        by_email, by_name = {}, defaultdict(list)
        for membership in Membership.objects.filter(tenant_id=tenant_id).select_related("user"):
            by_email[membership.user.email.casefold()] = membership
            if membership.user.full_name:
                by_name[_key(membership.user.full_name)].append(membership)
        authorised = {body.pk: body for body in sign_off_bodies_of_plan(plan=plan)}
        return cls(
            plan=plan,
            today=today,
            members_by_email=by_email,
            members_by_name=dict(by_name),
            partners={_key(p.name): p for p in Partner.objects.filter(tenant_id=tenant_id)},
            bodies={_key(b.name): b for b in SignOffBody.objects.filter(tenant_id=tenant_id)},
            authorised=authorised,
            recommendations=dict(
                Recommendation.objects.filter(framework_id=plan.framework_id).values_list(
                    "number", "pk"
                )
            ),
            references={
                _key(reference)
                for reference in Action.objects.filter(
                    tenant_id=tenant_id, plan_id=plan.pk
                ).values_list("reference", flat=True)
            },
            default_body=authorised.get(default_body_id),
        )


def choice_problems(choices: ImportChoices, width: int, facts: PlanFacts) -> list[Problem]:
    """What is wrong with the person's choices for this file, each beside its field."""
    problems = []
    used: dict[int, str] = {}
    for key, f in FIELDS_BY_KEY.items():
        position = choices.columns.get(key)
        if position is None:
            if f.required:
                problems.append(
                    Problem(None, f"Choose the column that holds the {f.label.lower()}.", key)
                )
            continue
        if not 0 <= position < width:
            problems.append(Problem(None, "Choose one of the file's columns.", key))
        elif position in used:
            problems.append(
                Problem(
                    None,
                    f"That column is already chosen for the {FIELDS_BY_KEY[used[position]].label}"
                    "; choose each column for one field only.",
                    key,
                )
            )
        else:
            used[position] = key
    if choices.sign_off_body_id is not None and facts.default_body is None:
        problems.append(
            Problem(
                None,
                "Choose a body that may sign off actions in this plan.",
                "default_sign_off_body",
            )
        )
    return problems


def check_rows(
    rows: list[tuple[int, list[Any]]], choices: ImportChoices, facts: PlanFacts
) -> tuple[list[ImportedAction], list[Problem]]:
    """Every row as an action with its history, or every problem found in them."""
    columns = choices.columns

    def value(cells: list[Any], key: str) -> Any:
        position = columns.get(key)
        if position is None or position >= len(cells):
            return None
        cell = cells[position]
        if isinstance(cell, str) and cell[:1] == "'" and cell[1:2] and cell[1] in FORMULA_STARTS:
            return cell[1:]
        return cell

    dates: dict[int, dict[str, DateCell]] = {}
    seen: list[SeenDate] = []
    for row, cells in rows:
        dates[row] = {}
        for key in DATE_FIELDS:
            if key in columns:
                cell = read_date(value(cells, key))
                dates[row][key] = cell
                if cell.form:
                    seen.append(SeenDate(row, DATE_NAMES[key], cell))
    doubtful = doubtful_dates(seen)

    actions: list[ImportedAction] = []
    problems: list[Problem] = []
    in_file: dict[str, int] = {}
    for row, cells in rows:
        found: list[str] = []
        action = _check_row(
            row, lambda key, cells=cells: value(cells, key), columns, dates[row], facts, found
        )
        for message in doubtful.get(row, []):
            found.append(message)
        if action.reference:
            key = _key(action.reference)
            if key in in_file:
                found.append(f"The reference {action.reference} is also on row {in_file[key]}.")
            else:
                in_file[key] = row
            if key in facts.references:
                found.append(
                    f"The plan already has an action {action.reference}; give this one another "
                    "reference, or leave it out of the file."
                )
        if found:
            problems.extend(Problem(row, message) for message in found)
        else:
            actions.append(action)
    return actions, problems


def _text(raw: Any, rule: TextRule, found: list[str], *, one_line: bool) -> str:
    text = cell_text(raw)
    if one_line:
        # A line break typed inside a spreadsheet cell is a space in a title or reference.
        text = " ".join(text.split())
    try:
        return rule.clean(text)
    except ValidationError as error:
        found.extend(error.messages)
        return ""


def _check_row(
    row: int,
    value: Callable[[str], Any],
    columns: dict[str, int],
    dates: dict[str, DateCell],
    facts: PlanFacts,
    found: list[str],
) -> ImportedAction:
    action = ImportedAction(
        row=row,
        reference=_text(value("reference"), ACTION_TEXTS["reference"], found, one_line=True),
        title=_text(value("title"), ACTION_TEXTS["title"], found, one_line=True),
        description=_text(value("description"), ACTION_TEXTS["description"], found, one_line=False),
    )
    day: dict[str, datetime.date | None] = {}
    for key, cell in dates.items():
        if cell.problem:
            found.append(f"The {DATE_NAMES[key]} {cell.problem}")
        elif key != "due_date" and cell.date is not None and cell.date > facts.today:
            found.append(
                f"The {DATE_NAMES[key]} ({cell.text}) is in the future; history can be imported "
                "up to today."
            )
        else:
            day[key] = cell.date
    action.due_date = day.get("due_date")
    action.recommendation_ids = _recommendations(value("recommendations"), facts, found)
    action.lead_officer_id = _lead_officer(value("lead_officer"), facts, found)
    action.lead_partner_id = _partner(value("lead_partner"), "lead partner", facts, found)
    action.supporting_partner_ids = _supporting(value("supporting_partners"), facts, found)
    action.sign_off_body_id = _body(value("sign_off_body"), facts, found)
    if "state" in columns:
        action.state = _state(value("state"), found)
    _progress(action, value, columns, day, dates, found)
    # What agreeing needed and the row leaves empty (a wrong value is listed already).
    blank = [
        what
        for what, key in (
            ("a lead officer", "lead_officer"),
            ("a lead partner", "lead_partner"),
            ("a due date", "due_date"),
            ("a sign-off body", "sign_off_body"),
        )
        if not cell_text(value(key)).strip()
        and not (key == "sign_off_body" and facts.default_body is not None)
    ]
    if action.state:
        action.steps = steps_for(action.state, day, dates, blank, found)
    return action


def _recommendations(raw: Any, facts: PlanFacts, found: list[str]) -> list[int]:
    text = " ".join(cell_text(raw).split())
    if not text or text == NO_RECOMMENDATION_TITLE:
        return []
    # The service's own exports write the recommendation as "3. Its title".
    if match := EXPORTED_RECOMMENDATION.match(text):
        numbers = [match[1]]
    else:
        numbers = [part for part in re.split(r"[,;/&\s]+|\band\b", text) if part]
    wrong = [part for part in numbers if not part.isdigit()]
    if wrong:
        found.append(
            f"The recommendation numbers '{text[:60]}' are not numbers: write them like 3 or 3, 7."
        )
        return []
    unknown = sorted({int(n) for n in numbers if int(n) not in facts.recommendations})
    if unknown:
        listed = ", ".join(str(n) for n in unknown)
        found.append(
            f"{'Recommendation' if len(unknown) == 1 else 'Recommendations'} {listed} "
            f"{'is' if len(unknown) == 1 else 'are'} not in {facts.plan.framework.title}, "
            "which this plan answers."
        )
        return []
    return list(dict.fromkeys(facts.recommendations[int(n)] for n in numbers))


def _lead_officer(raw: Any, facts: PlanFacts, found: list[str]) -> int | None:
    text = " ".join(cell_text(raw).split())
    if not text:
        return None
    tenant = facts.plan.tenant.name
    if "@" in text:
        membership = facts.members_by_email.get(text.casefold())
    else:
        named = facts.members_by_name.get(_key(text), [])
        if len(named) > 1:
            found.append(
                f"{len(named)} members of {tenant} are called {text}: give the lead officer's "
                "e-mail address instead."
            )
            return None
        membership = named[0] if named else None
    if membership is None:
        found.append(
            f"The lead officer '{text[:80]}' is not a member of {tenant}: give the name or "
            "e-mail address of a member."
        )
        return None
    if not membership.user.is_active:
        found.append(f"{membership.user}'s account is deactivated: name another lead officer.")
        return None
    if not membership.can(Capability.DELIVER):
        found.append(f"{membership.user} has read-only access and cannot lead an action.")
        return None
    return membership.user_id


def _partner(raw: Any, what: str, facts: PlanFacts, found: list[str]) -> int | None:
    text = " ".join(cell_text(raw).split())
    if not text:
        return None
    partner = facts.partners.get(_key(text))
    if partner is None:
        found.append(
            f"The {what} '{text[:80]}' is not one of {facts.plan.tenant.name}'s partner agencies."
        )
        return None
    return partner.pk


def _supporting(raw: Any, facts: PlanFacts, found: list[str]) -> list[int]:
    text = " ".join(cell_text(raw).split())
    if not text:
        return []
    whole = facts.partners.get(_key(text))
    if whole is not None:
        return [whole.pk]
    # Names are separated by commas or semicolons; a name that has a comma in it is still
    # found, by joining neighbouring parts.
    parts = [part.strip() for part in re.split(r"[;,]", text)]
    ids, unknown, start = [], [], 0
    while start < len(parts):
        for end in range(len(parts), start, -1):
            partner = facts.partners.get(_key(", ".join(parts[start:end])))
            if partner is not None:
                ids.append(partner.pk)
                start = end
                break
        else:
            if parts[start]:
                unknown.append(parts[start])
            start += 1
    if unknown:
        names = ", ".join(f"'{name[:60]}'" for name in unknown)
        found.append(
            f"The supporting {'partner' if len(unknown) == 1 else 'partners'} {names} "
            f"{'is' if len(unknown) == 1 else 'are'} not among {facts.plan.tenant.name}'s "
            "partner agencies."
        )
    return list(dict.fromkeys(ids))


def _body(raw: Any, facts: PlanFacts, found: list[str]) -> int | None:
    text = " ".join(cell_text(raw).split())
    if not text:
        return facts.default_body.pk if facts.default_body else None
    body = facts.bodies.get(_key(text))
    if body is None:
        found.append(f"There is no sign-off body called '{text[:80]}' in {facts.plan.tenant.name}.")
        return None
    if body.pk not in facts.authorised:
        allowed = ", ".join(b.name for b in facts.authorised.values()) or "none yet"
        found.append(
            f"The {body.name} may not sign off actions in this plan (those that may: {allowed})."
        )
        return None
    return body.pk


def _state(raw: Any, found: list[str]) -> str:
    text = " ".join(cell_text(raw).split())
    if not text:
        found.append(f"The state is missing: give one of {STATE_LIST}.")
        return ""
    state = STATE_NAMES.get(text.casefold())
    if state is None:
        found.append(f"The state '{text[:40]}' is not one the service knows: {STATE_LIST}.")
        return ""
    return state


def _progress(
    action: ImportedAction,
    value: Callable[[str], Any],
    columns: dict[str, int],
    day: dict[str, datetime.date | None],
    dates: dict[str, DateCell],
    found: list[str],
) -> None:
    note = _text(value("progress_note"), PROGRESS_TEXT_OPTIONAL, found, one_line=False)
    rag_text = " ".join(cell_text(value("officer_rag")).split())
    rag = RAG_NAMES.get(rag_text.casefold(), "")
    if rag_text and not rag:
        if rag_text.casefold() in ("blue", "b", "blue (complete)"):
            found.append(
                "The officer's RAG is Blue, which the service gives signed-off actions itself: "
                "the officer's own rating is Red, Amber or Green."
            )
        else:
            found.append(f"The officer's RAG '{rag_text[:20]}' is not Red, Amber or Green.")
    date_cell = dates.get("progress_date")
    if note:
        if date_cell is None:
            found.append(
                "The row has a progress note: choose the column with the date of the progress "
                "note too."
            )
        elif date_cell.empty:
            found.append("The progress note has no date: give the date it was written.")
        if not rag_text:
            found.append("The progress note has no officer's RAG: give Red, Amber or Green.")
    elif rag_text or (date_cell is not None and not date_cell.empty):
        given = "an officer's RAG" if rag_text else "a date for the progress note"
        found.append(f"The row gives {given} but no progress note: give the note too.")
    action.progress_note, action.progress_date = note, day.get("progress_date")
    action.officer_rag = rag
