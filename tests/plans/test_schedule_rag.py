"""The schedule RAG an action has on a given day (the rule documented in the README)."""

import datetime

import pytest

from plans.models import Action, Rag, schedule_rag

TODAY = datetime.date(2026, 11, 23)
State = Action.State


def rag_of(state: str, due_in_days: int | None) -> str | None:
    action = Action(
        due_date=None if due_in_days is None else TODAY + datetime.timedelta(due_in_days)
    )
    action.__dict__["state"] = state  # an unsaved illustration; saved actions move by transitions
    return schedule_rag(action, today=TODAY)


@pytest.mark.parametrize(
    ("state", "due_in_days", "expected"),
    [
        (State.WITHDRAWN, -10, None),
        (State.SIGNED_OFF, -10, Rag.BLUE),
        (State.EVIDENCED, -10, Rag.GREEN),
        (State.IN_PROGRESS, -1, Rag.RED),
        (State.PROPOSED, -1, Rag.RED),
        (State.IN_PROGRESS, 0, Rag.AMBER),
        (State.IN_PROGRESS, 28, Rag.AMBER),
        (State.IN_PROGRESS, 29, Rag.GREEN),
        (State.AGREED, None, Rag.AMBER),
    ],
)
def test_schedule_rag(state, due_in_days, expected):
    assert rag_of(state, due_in_days) == expected


def test_due_soon_window_follows_the_setting(settings):
    settings.RAG_DUE_SOON_DAYS = 7
    assert rag_of(State.IN_PROGRESS, 8) == Rag.GREEN
    assert rag_of(State.IN_PROGRESS, 7) == Rag.AMBER


def test_the_same_action_is_rated_for_any_date():
    action = Action(state=State.IN_PROGRESS, due_date=datetime.date(2009, 10, 1))
    assert schedule_rag(action, today=datetime.date(2009, 6, 1)) == Rag.GREEN
    assert schedule_rag(action, today=datetime.date(2009, 9, 15)) == Rag.AMBER
    assert schedule_rag(action, today=datetime.date(2009, 10, 2)) == Rag.RED
