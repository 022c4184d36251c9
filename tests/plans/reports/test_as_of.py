"""The progress report as of a date is rebuilt from history, never from today's values."""

import contextlib
import datetime

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    rule,
    run_state_machine_as_test,
)

from plans import services as plan_services
from plans.models import Action, ActionPlan, Rag, rag_for
from plans.reports.as_of import plan_report
from tests.plans.factories import RecommendationFactory, ThemeFactory
from tests.plans.test_partnerships import agencies, police_action  # noqa: F401 (a fixture)
from workflow.services import TransitionRefused, transition_perform

LONDON = timezone.get_default_timezone()


def at(day: datetime.date, hour: int = 10) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour), tzinfo=LONDON)


def rows_by_reference(report):
    return {row.reference: row for row in report.rows}


@pytest.fixture
def day():
    """A Monday in the life of the plan; each test travels from it."""
    return timezone.localdate() + datetime.timedelta(days=7)


def test_due_date_moved_later_reads_as_before_on_earlier_dates(story, day):
    with time_machine.travel(at(day), tick=False):
        action = story.action(due_date=day + datetime.timedelta(days=30))
    with time_machine.travel(at(day + datetime.timedelta(days=10)), tick=False):
        plan_services.action_update(
            action=action,
            by=story.alice,
            due_date=day + datetime.timedelta(days=90),
            reason="The police restructure delays the training.",
        )

    before = rows_by_reference(plan_report(plan=story.plan, as_of=day))["1.1"]
    after = rows_by_reference(
        plan_report(plan=story.plan, as_of=day + datetime.timedelta(days=10))
    )["1.1"]

    assert before.due_date == day + datetime.timedelta(days=30)
    assert before.original_due_date is None
    assert after.due_date == day + datetime.timedelta(days=90)
    assert after.original_due_date == day + datetime.timedelta(days=30)


def test_an_action_added_after_the_date_is_not_in_the_report(story, day):
    with time_machine.travel(at(day), tick=False):
        story.action("1.1")
    with time_machine.travel(at(day + datetime.timedelta(days=1)), tick=False):
        story.action("1.2")

    assert list(rows_by_reference(plan_report(plan=story.plan, as_of=day))) == ["1.1"]
    later = plan_report(plan=story.plan, as_of=day + datetime.timedelta(days=1))
    assert list(rows_by_reference(later)) == ["1.1", "1.2"]


def test_state_and_step_dates_are_those_reached_by_the_end_of_the_date(story, day):
    with time_machine.travel(at(day), tick=False):
        action = story.action()
        transition_perform(obj=action, name="agree", user=story.alice)
    with time_machine.travel(at(day + datetime.timedelta(days=2)), tick=False):
        transition_perform(obj=Action.objects.get(pk=action.pk), name="start", user=story.bob)

    first = rows_by_reference(plan_report(plan=story.plan, as_of=day))["1.1"]
    later = rows_by_reference(plan_report(plan=story.plan, as_of=day + datetime.timedelta(days=2)))[
        "1.1"
    ]

    assert first.state == Action.State.AGREED
    assert first.step_dates == {Action.State.AGREED: day}
    assert later.state == Action.State.IN_PROGRESS
    assert later.step_dates[Action.State.IN_PROGRESS] == day + datetime.timedelta(days=2)


def test_a_step_just_before_midnight_uk_time_counts_for_that_date(story, day):
    with time_machine.travel(at(day), tick=False):
        action = story.action()
    with time_machine.travel(at(day, hour=23) + datetime.timedelta(minutes=59), tick=False):
        transition_perform(obj=action, name="agree", user=story.alice)

    assert rows_by_reference(plan_report(plan=story.plan, as_of=day))["1.1"].state == "agreed"


def test_progress_is_the_latest_note_made_by_the_date(story, day):
    with time_machine.travel(at(day), tick=False):
        action = story.action()
        plan_services.progress_add(action=action, author=story.bob, text="Scoping", rag="amber")
    with time_machine.travel(at(day + datetime.timedelta(days=5)), tick=False):
        plan_services.progress_add(action=action, author=story.bob, text="Training", rag="green")

    first = rows_by_reference(plan_report(plan=story.plan, as_of=day))["1.1"]
    assert (first.officer_rag, first.progress_note, first.progress_date) == (
        "amber",
        "Scoping",
        day,
    )
    last = rows_by_reference(plan_report(plan=story.plan, as_of=day + datetime.timedelta(days=6)))[
        "1.1"
    ]
    assert (last.officer_rag, last.progress_note) == ("green", "Training")


def test_details_read_as_they_stood_with_the_names_of_the_time(story, day):
    other_theme = ThemeFactory(framework=story.framework, position=2, title="Safer workforce")
    later_recommendation = RecommendationFactory(
        framework=story.framework, theme=other_theme, number=7, title="Safer recruitment"
    )
    with time_machine.travel(at(day), tick=False):
        action = story.action(title="Audit case files", supporting_partners=[story.health])
    with time_machine.travel(at(day + datetime.timedelta(days=3)), tick=False):
        plan_services.action_update(
            action=action,
            by=story.alice,
            title="Audit every case file",
            lead_officer=story.dave,
            lead_partner=story.health,
            supporting_partners=[],
            recommendations=[later_recommendation],
        )

    report = plan_report(plan=story.plan, as_of=day)
    row = rows_by_reference(report)["1.1"]
    assert (row.title, row.lead_officer, row.lead_partner, row.supporting_partners) == (
        "Audit case files",
        "Bob Officer",
        "Bedfordshire Police",
        "NHS Bedfordshire",
    )
    assert [theme.title for theme in report.themes] == ["Leadership and accountability"]

    now = plan_report(plan=story.plan, as_of=day + datetime.timedelta(days=3))
    row = rows_by_reference(now)["1.1"]
    assert (row.title, row.lead_officer, row.lead_partner, row.supporting_partners) == (
        "Audit every case file",
        "Dave Board",
        "NHS Bedfordshire",
        "",
    )
    assert [theme.title for theme in now.themes] == ["Safer workforce"]
    assert now.themes[0].recommendations[0].label == "7. Safer recruitment"


def test_schedule_rag_is_judged_on_the_reports_date(story, day):
    with time_machine.travel(at(day), tick=False):
        story.action(due_date=day + datetime.timedelta(days=40))

    assert rows_by_reference(plan_report(plan=story.plan, as_of=day))["1.1"].schedule_rag == (
        Rag.GREEN
    )
    late = plan_report(plan=story.plan, as_of=day + datetime.timedelta(days=41))
    assert rows_by_reference(late)["1.1"].schedule_rag == Rag.RED
    assert late.counts.rag_count(Rag.RED) == 1
    assert late.themes[0].counts.state_count(Action.State.PROPOSED) == 1


def test_changes_since_an_earlier_date(story, day):
    with time_machine.travel(at(day), tick=False):
        signed = story.action_in(Action.State.EVIDENCED, "1.1")
        slipping = story.action("1.2", due_date=day + datetime.timedelta(days=3))
        moved = story.action("1.3", due_date=day + datetime.timedelta(days=20))
    with time_machine.travel(at(day + datetime.timedelta(days=2)), tick=False):
        transition_perform(obj=signed, name="sign_off", user=story.carol)
        plan_services.action_update(
            action=moved,
            by=story.alice,
            due_date=day + datetime.timedelta(days=50),
            reason="Waiting for the new case system.",
        )

    report = plan_report(plan=story.plan, as_of=day + datetime.timedelta(days=10), since=day)

    changes = report.changes
    assert [(c.reference, c.on) for c in changes.signed_off] == [
        ("1.1", day + datetime.timedelta(days=2))
    ]
    assert [(c.reference, c.on) for c in changes.newly_overdue] == [
        (slipping.reference, day + datetime.timedelta(days=4))
    ]
    [move] = changes.due_dates_moved
    assert (move.reference, move.before, move.after, move.reason, move.by) == (
        "1.3",
        day + datetime.timedelta(days=20),
        day + datetime.timedelta(days=50),
        "Waiting for the new case system.",
        "Alice Manager",
    )


def test_the_earlier_date_must_come_first(story, day):
    with pytest.raises(ValueError, match="earlier date"):
        plan_report(plan=story.plan, as_of=day, since=day)


def test_an_adopted_action_is_in_the_agency_plan_before_and_the_partnership_plan_after(
    story,
    agencies,  # noqa: F811 (the fixture imported above)
    day,
):
    with time_machine.travel(at(day), tick=False):
        action = police_action(story, agencies, reference="P1")
    with time_machine.travel(at(day + datetime.timedelta(days=1)), tick=False):
        plan_services.action_adopt(
            action=action, into_plan=story.plan, by=story.alice, reference="4.1"
        )
    police_plan, after = agencies.police_plan, day + datetime.timedelta(days=1)

    assert list(rows_by_reference(plan_report(plan=police_plan, as_of=day))) == ["P1"]
    assert list(rows_by_reference(plan_report(plan=story.plan, as_of=day))) == []
    assert list(rows_by_reference(plan_report(plan=police_plan, as_of=after))) == []
    assert list(rows_by_reference(plan_report(plan=story.plan, as_of=after))) == ["4.1"]


def test_a_report_of_an_imported_plan_as_of_a_past_date_shows_the_states_of_that_date(story):
    from tests.plans.imports.helpers import csv_bytes, import_plan, row

    import_plan(
        story,
        csv_bytes(
            [
                row(
                    "1.1",
                    state="Signed off",
                    agreed="2009-05-01",
                    started="2009-05-02",
                    evidenced="2009-09-01",
                    signed_off="2009-10-05",
                    rag="Amber",
                    progress="Protocol drafted.",
                    progress_dated="2009-08-14",
                ),
                row("1.2", state="In progress", agreed="2009-09-01", started="2009-09-02"),
            ]
        ),
    )

    before = plan_report(plan=story.plan, as_of=datetime.date(2009, 4, 30))
    assert list(rows_by_reference(before)) == []
    may = rows_by_reference(plan_report(plan=story.plan, as_of=datetime.date(2009, 5, 1)))
    assert list(may) == ["1.1"] and may["1.1"].state == Action.State.AGREED
    august = rows_by_reference(plan_report(plan=story.plan, as_of=datetime.date(2009, 8, 31)))
    assert august["1.1"].state == Action.State.IN_PROGRESS
    assert (august["1.1"].progress_note, august["1.1"].officer_rag) == (
        "Protocol drafted.",
        "amber",
    )
    assert august["1.1"].progress_date == datetime.date(2009, 8, 14)
    september = rows_by_reference(plan_report(plan=story.plan, as_of=datetime.date(2009, 9, 1)))
    assert (september["1.1"].state, september["1.2"].state) == (
        Action.State.EVIDENCED,
        Action.State.AGREED,
    )
    october = plan_report(plan=story.plan, as_of=datetime.date(2009, 10, 5))
    signed = rows_by_reference(october)["1.1"]
    assert signed.state == Action.State.SIGNED_OFF
    assert signed.step_dates == {
        Action.State.AGREED: datetime.date(2009, 5, 1),
        Action.State.IN_PROGRESS: datetime.date(2009, 5, 2),
        Action.State.EVIDENCED: datetime.date(2009, 9, 1),
        Action.State.SIGNED_OFF: datetime.date(2009, 10, 5),
    }
    assert rows_by_reference(october)["1.2"].state == Action.State.IN_PROGRESS
    assert october.counts.state_count(Action.State.SIGNED_OFF) == 1


def test_signed_off_over_time_counts_actions_signed_off_at_each_month_end(story, day):
    with time_machine.travel(at(day), tick=False):
        story.action_in(Action.State.SIGNED_OFF, "1.1")
        story.action_in(Action.State.IN_PROGRESS, "1.2")
    as_of = day + datetime.timedelta(days=70)

    points = plan_report(plan=story.plan, as_of=as_of).signed_off_over_time

    assert points[-1] == (as_of, 1)
    assert [count for end, count in points if end < day] == [0] * len(
        [end for end, _ in points if end < day]
    )
    assert all(count == 1 for end, count in points if end >= day)
    assert len(points) >= 3  # a point for each month end, then the report's date


def test_query_count_does_not_grow_with_the_number_of_actions(story, day):
    with time_machine.travel(at(day), tick=False):
        story.action_in(Action.State.IN_PROGRESS, "1.1")

    with CaptureQueriesContext(connection) as few:
        plan_report(plan=story.plan, as_of=day, since=day - datetime.timedelta(days=1))

    with time_machine.travel(at(day), tick=False):
        for n in range(2, 8):
            act = story.action_in(Action.State.IN_PROGRESS, f"1.{n}")
            plan_services.progress_add(action=act, author=story.bob, text="Going", rag="green")
            plan_services.action_update(action=act, by=story.alice, title=f"Renamed {n}")

    with CaptureQueriesContext(connection) as many:
        plan_report(plan=story.plan, as_of=day, since=day - datetime.timedelta(days=1))

    assert len(many) == len(few) <= 12


# -- the report as of each past moment equals the plan as it was at that moment ---------------


def snapshot(plan: ActionPlan, day: datetime.date) -> dict[int, tuple]:
    """The plan as the live pages read it now, without any history: the oracle."""
    rows = {}
    for action in Action.objects.filter(plan=plan).select_related("lead_officer", "lead_partner"):
        latest = action.progress_updates.order_by("-created_at", "-pk").first()
        rows[action.pk] = (
            action.reference,
            action.title,
            str(action.lead_officer) if action.lead_officer else "",
            action.lead_partner.name if action.lead_partner else "",
            ", ".join(sorted(p.name for p in action.supporting_partners.all())),
            action.due_date,
            action.state,
            rag_for(state=action.state, due_date=action.due_date, today=day),
            (latest.rag, latest.text) if latest else (None, ""),
            sorted(r.number for r in action.recommendations.all()),
        )
    return rows


def reported(plan: ActionPlan, day: datetime.date) -> dict[int, tuple]:
    return {
        row.action_id: (
            row.reference,
            row.title,
            row.lead_officer,
            row.lead_partner,
            row.supporting_partners,
            row.due_date,
            row.state,
            row.schedule_rag,
            (row.officer_rag, row.progress_note),
            row.recommendations,
        )
        for row in plan_report(plan=plan, as_of=day).rows
    }


STEPS = {
    "agree": "alice",
    "start": "bob",
    "submit_evidence": "bob",
    "sign_off": "carol",
    "send_back": "carol",
    "reopen": "carol",
    "withdraw": "alice",
}


def test_the_report_as_of_each_past_day_equals_the_plan_as_it_was_then(story, day):
    second_theme = ThemeFactory(framework=story.framework, position=2, title="Workforce")
    recommendations = [
        story.recommendation,
        RecommendationFactory(framework=story.framework, theme=second_theme, number=2),
        RecommendationFactory(framework=story.framework, theme=second_theme, number=3),
    ]

    class PlanThroughTime(RuleBasedStateMachine):
        @initialize()
        def begin(self):
            self.atomic = transaction.atomic()
            self.atomic.__enter__()
            self.now = at(day)
            self.traveller = time_machine.travel(self.now, tick=False)
            self.traveller.start()
            self.actions: list[Action] = []
            self.snapshots: dict[datetime.date, dict] = {}

        def _tick(self, minutes: int = 7) -> None:
            self.traveller.stop()
            self.now += datetime.timedelta(minutes=minutes)
            self.traveller = time_machine.travel(self.now, tick=False)
            self.traveller.start()

        def _record(self) -> None:
            today = timezone.localtime(self.now, LONDON).date()
            self.snapshots[today] = snapshot(story.plan, today)

        def _action(self, index: int) -> Action | None:
            if not self.actions:
                return None
            return Action.objects.get(pk=self.actions[index % len(self.actions)].pk)

        @rule(days=st.integers(min_value=1, max_value=40))
        def time_passes(self, days):
            self._tick(days * 24 * 60)
            self._record()

        @rule(due_in=st.integers(min_value=-5, max_value=60))
        def add_action(self, due_in):
            self._tick()
            reference = f"1.{len(self.actions) + 1}"
            self.actions.append(
                story.action(reference, due_date=self.now.date() + datetime.timedelta(days=due_in))
            )
            self._record()

        @rule(index=st.integers(min_value=0), step=st.sampled_from(sorted(STEPS)))
        def take_step(self, index, step):
            action = self._action(index)
            if action is None:
                return
            self._tick()
            if step == "submit_evidence" and not action.completion_statement:
                try:
                    plan_services.evidence_add_link(
                        action=action, by=story.bob, url="https://example.org/e", description="E"
                    )
                    plan_services.action_set_completion_statement(
                        action=action, by=story.bob, text="Done."
                    )
                except (ValidationError, PermissionDenied):
                    pass
            with contextlib.suppress(TransitionRefused, ValidationError, PermissionDenied):
                transition_perform(
                    obj=Action.objects.get(pk=action.pk),
                    name=step,
                    user=getattr(story, STEPS[step]),
                    comment="Because.",
                )
            self._record()

        @rule(
            index=st.integers(min_value=0),
            change=st.sampled_from(["due_date", "title", "lead", "partners", "recommendations"]),
            amount=st.integers(min_value=-20, max_value=30),
        )
        def change_details(self, index, change, amount):
            action = self._action(index)
            if action is None:
                return
            self._tick()
            values = {
                "due_date": {
                    "due_date": (action.due_date or self.now.date())
                    + datetime.timedelta(days=amount)
                },
                "title": {"title": f"Action renamed {amount}"},
                "lead": {
                    "lead_officer": story.dave if amount % 2 else story.bob,
                    "lead_partner": story.health if amount % 3 else story.police,
                },
                "partners": {"supporting_partners": [story.health] if amount % 2 else []},
                "recommendations": {
                    "recommendations": recommendations[abs(amount) % 3 :] or recommendations
                },
            }[change]
            try:
                with transaction.atomic():
                    plan_services.action_update(
                        action=action, by=story.alice, reason="Agreed at the meeting.", **values
                    )
            except (ValidationError, PermissionDenied):
                pass
            self._record()

        @rule(index=st.integers(min_value=0), rag=st.sampled_from(["red", "amber", "green"]))
        def report_progress(self, index, rag):
            action = self._action(index)
            if action is None:
                return
            self._tick()
            with contextlib.suppress(ValidationError, PermissionDenied):
                plan_services.progress_add(
                    action=action, author=story.bob, text=f"Progress {self.now}", rag=rag
                )
            self._record()

        def teardown(self):
            try:
                for snapshot_day, expected in self.snapshots.items():
                    assert reported(story.plan, snapshot_day) == expected, snapshot_day
            finally:
                self.traveller.stop()
                transaction.set_rollback(True)
                self.atomic.__exit__(None, None, None)

    run_state_machine_as_test(
        PlanThroughTime,
        settings=settings(
            max_examples=25,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
