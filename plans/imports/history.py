"""The history an imported row's state and dates give: the workflow's own steps, in order.

A row gives the date of each step its action reached (agree, start, submit for sign-off, sign
off) up to its state. An action in progress whose row gives the date it was evidenced was
returned by its sign-off body (or, with a date it was signed off, reopened); a withdrawn action
was withdrawn after the last step the row dates. The file dates neither a return nor a
reopening, and a withdrawal only when it has a column for it: a step without a date is known
only to have happened by the import, and is dated then.
"""

import datetime
from dataclasses import dataclass

from plans.imports.columns import DATE_NAMES
from plans.imports.dates import DateCell
from plans.models import Action

State = Action.State

# The workflow's steps, in order, with the field that dates each.
CHAIN = (
    ("agreed_on", "agree", State.PROPOSED, State.AGREED),
    ("started_on", "start", State.AGREED, State.IN_PROGRESS),
    ("evidenced_on", "submit_evidence", State.IN_PROGRESS, State.EVIDENCED),
    ("signed_off_on", "sign_off", State.EVIDENCED, State.SIGNED_OFF),
)
# How many of the chain's steps an action in each state has taken.
STEPS_TAKEN = {
    State.PROPOSED: 0,
    State.AGREED: 1,
    State.IN_PROGRESS: 2,
    State.EVIDENCED: 3,
    State.SIGNED_OFF: 4,
}
RETURNED = (
    "Returned to in progress by its sign-off body before the import; the file gives the date "
    "it was evidenced, not the date or reason of the return."
)
REOPENED = (
    "Reopened before the import; the file gives the date it was signed off, not the date or "
    "reason it was reopened."
)
WITHDRAWN = "Withdrawn before the import; the file gives no reason."

STEP_LABELS = {
    "agree": "Agreed",
    "start": "Started",
    "submit_evidence": "Evidenced",
    "sign_off": "Signed off",
    "send_back": "Returned",
    "reopen": "Reopened",
    "withdraw": "Withdrawn",
}


@dataclass(frozen=True)
class Step:
    """One step of an imported action's history; ``on`` None: the file gives no date, so it is
    dated when it was imported."""

    name: str
    from_state: str
    to_state: str
    on: datetime.date | None
    comment: str = ""

    @property
    def label(self) -> str:
        return STEP_LABELS[self.name]


def steps_for(
    state: str,
    day: dict[str, datetime.date | None],
    dates: dict[str, DateCell],
    blank: list[str],
    found: list[str],
) -> list[Step]:
    """The steps a row in ``state`` took, by its readable dates (``day``) and its cells as
    written (``dates``); or none, with what stops them added to ``found``. ``blank``: what
    agreeing needs and the row leaves empty ("a lead officer")."""
    written = [key for key, *_ in CHAIN if key in dates and not dates[key].empty]
    given = [key for key in written if day.get(key) is not None]
    state_label = State(state).label
    taken = len(written)
    gaps = [key for key, *_ in CHAIN[:taken] if key not in written]
    if gaps:
        found.append(
            f"The row gives the {DATE_NAMES[written[-1]]} but not the {names_listed(gaps)}: "
            "give the date of each step up to the last."
        )
        return []
    previous = None
    for key in given:
        if previous is not None and day[key] < day[previous]:
            found.append(
                f"The dates are out of order: the {DATE_NAMES[key]} ({dates[key].text}) is "
                f"before the {DATE_NAMES[previous]} ({dates[previous].text})."
            )
            return []
        previous = key
    if len(given) != taken:
        return []  # a date that could not be read is listed already
    withdrawn_on = day.get("withdrawn_on")
    if state == State.WITHDRAWN:
        if taken == len(CHAIN):
            found.append(
                "The state is Withdrawn, but the row gives the date signed off: a signed-off "
                "action cannot be withdrawn."
            )
            return []
        if withdrawn_on is not None and previous is not None and withdrawn_on < day[previous]:
            found.append(
                f"The dates are out of order: the date withdrawn ({dates['withdrawn_on'].text}) "
                f"is before the {DATE_NAMES[previous]} ({dates[previous].text})."
            )
            return []
    else:
        if "withdrawn_on" in dates and not dates["withdrawn_on"].empty:
            found.append(
                f"The row gives the date withdrawn, but the state is {state_label}: leave the "
                "date empty, or give the state Withdrawn."
            )
            return []
        needed = STEPS_TAKEN[State(state)]
        if taken < needed:
            missing = [key for key, *_ in CHAIN[taken:needed]]
            found.append(
                f"The state is {state_label}, so the row needs the {names_listed(missing)}."
            )
            return []
        returned = state == State.IN_PROGRESS and taken > needed
        if taken > needed and not returned:
            extra = [key for key, *_ in CHAIN[needed:taken]]
            found.append(
                f"The state is {state_label}, but the row gives the {names_listed(extra)}: the "
                "state and the dates disagree."
            )
            return []
        if needed and blank:
            found.append(
                f"The state is {state_label}, so the row needs "
                f"{names_listed(blank, plain=True)}, as agreeing an action does."
            )
            return []
    steps = [
        Step(name, from_state, to_state, day[key])
        for key, name, from_state, to_state in CHAIN[:taken]
    ]
    last = steps[-1] if steps else None
    if state == State.IN_PROGRESS and taken == 3:
        steps.append(Step("send_back", State.EVIDENCED, State.IN_PROGRESS, None, RETURNED))
    elif state == State.IN_PROGRESS and taken == 4:
        steps.append(Step("reopen", State.SIGNED_OFF, State.IN_PROGRESS, None, REOPENED))
    elif state == State.WITHDRAWN:
        steps.append(
            Step(
                "withdraw",
                last.to_state if last else State.PROPOSED,
                State.WITHDRAWN,
                withdrawn_on,
                WITHDRAWN,
            )
        )
    return steps


def names_listed(keys: list[str], *, plain: bool = False) -> str:
    names = keys if plain else [DATE_NAMES[key] for key in keys]
    if len(names) == 1:
        return names[0]
    return ", ".join(names[:-1]) + " and " + names[-1]
