"""The daily escalation sweep, told as the life of an action in Central Bedfordshire.

Action 1.1 is due on Friday 6 November 2026 and led by bob, for Bedfordshire Police, whose named
contact is priya. The LSCB board (carol and dave) monitors the plan and signs the action off.
With the default policy bob is reminded on Friday 30 October (five working days before), bob and
priya hear on Monday 9 November (one working day overdue), the LSCB board on Friday 20 November
(ten), and carol, who chairs it, on Friday 4 December (twenty). Evidence left waiting ten working
days chases the board members who have not yet approved it.

Who each level reaches in other plans (another monitoring body, none, an agency committee, a
body whose right to sign off was taken away) is told in test_escalation_routing.py.
"""

import datetime

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from notifications import escalations
from notifications.escalations import escalation_sweep
from notifications.models import (
    EscalationStep,
    Level,
    Message,
    Notification,
    NotificationPreference,
)
from notifications.services import escalation_policy_update, notification_preference_set
from plans import services as plan_services
from plans.models import Action
from tenants.models import Partner, SignOffBody, Tenant
from tenants.scoping import across_tenants, tenant_scope
from tenants.services import (
    membership_add,
    partner_set_contact,
    sign_off_body_add_member,
    sign_off_body_set_quorum,
)
from tests.plans.factories import action as new_action
from tests.plans.factories import plan_monitored_by
from tests.querycount import statements_sent
from tests.tenants.factories import (
    PartnerFactory,
    Role,
    TenantFactory,
    agency_committee,
    member,
    sign_off_body,
)
from workflow.services import transition_perform

State = Action.State
ONE_DAY = datetime.timedelta(days=1)

DUE = datetime.date(2026, 11, 6)  # a Friday
REMINDER_DAY = datetime.date(2026, 10, 30)  # five working days before
OVERDUE_DAY = datetime.date(2026, 11, 9)  # one working day after
MANAGERS_DAY = datetime.date(2026, 11, 20)  # ten working days after
CHAIR_DAY = datetime.date(2026, 12, 4)  # twenty working days after
EVIDENCE_SUBMITTED = datetime.date(2026, 11, 2)  # a Monday
EVIDENCE_CHASED = datetime.date(2026, 11, 16)  # ten working days later

PEOPLE = (
    "Alice Manager",
    "Bob Officer",
    "Carol Board",
    "Dave Board",
    "Erin Admin",
    "Mark Team",
    "Victor Viewer",
    "Charlie Outsider",
    "Priya Police",
)


@pytest.fixture(autouse=True)
def _lscb_monitors_the_plan(story):
    plan_monitored_by(story.plan, story.lscb)


@pytest.fixture
def priya(story):
    """Priya is Bedfordshire Police's named contact for escalations."""
    priya = member(story.tenant, Role.OFFICER, full_name="Priya Police", partner=story.police)
    partner_set_contact(partner=story.police, contact=priya)
    return priya


def days(first: datetime.date, last: datetime.date):
    day = first
    while day <= last:
        yield day
        day += ONE_DAY


def sweep(day: datetime.date):
    return escalation_sweep(today=day)


def steps_of(action: Action) -> list[tuple[str, datetime.date]]:
    """Each level the action has reached, with the day of the sweep that reached it."""
    with across_tenants():
        return [
            (step.level, step.sweep.today)
            for step in EscalationStep.objects.filter(action=action)
            .select_related("sweep")
            .order_by("pk")
        ]


def told(action: Action, level: str) -> set:
    with across_tenants():
        return {
            n.recipient
            for n in Notification.objects.filter(action=action, kind=level).select_related(
                "recipient"
            )
        }


def totals() -> tuple[int, int, int]:
    with across_tenants():
        return (
            EscalationStep.objects.count(),
            Notification.objects.count(),
            Message.objects.count(),
        )


def digests_to(user) -> list[Message]:
    return list(Message.objects.filter(recipient=user, kind=Message.Kind.DIGEST))


def evidence_dated(action: Action, day: datetime.date) -> None:
    """The sweep counts from when evidence was submitted; a test cannot wait ten working days,
    so it dates the submission directly (10:00 London time on ``day``)."""
    submitted = timezone.make_aware(datetime.datetime.combine(day, datetime.time(10)))
    Action.objects.filter(pk=action.pk).update(state_changed_at=submitted)


def html_of(email) -> str:
    [(html, mimetype)] = email.alternatives
    assert mimetype == "text/html"
    return html


# --- Who is told at each level -----------------------------------------------------------------


def test_lead_officer_alone_is_reminded_five_working_days_before_the_due_date(story, priya):
    action = story.action_in(State.AGREED, due_date=DUE)
    sweep(REMINDER_DAY - ONE_DAY)
    assert told(action, Level.REMINDER) == set()
    sweep(REMINDER_DAY)
    assert told(action, Level.REMINDER) == {story.bob}


def test_lead_officer_and_lead_partners_contact_hear_one_working_day_after_the_due_date(
    story, priya
):
    action = story.action_in(State.IN_PROGRESS, due_date=DUE)
    for day in days(DUE, OVERDUE_DAY - ONE_DAY):  # Friday, Saturday, Sunday
        sweep(day)
    assert told(action, Level.OVERDUE) == set()
    sweep(OVERDUE_DAY)
    assert told(action, Level.OVERDUE) == {story.bob, priya}


def test_the_body_monitoring_the_plan_hears_after_ten_working_days_overdue(story, priya):
    action = story.action_in(State.IN_PROGRESS, due_date=DUE)
    sweep(MANAGERS_DAY - ONE_DAY)
    assert told(action, Level.MANAGERS) == set()
    sweep(MANAGERS_DAY)
    # Not the management team (alice and mark): it does not monitor this plan.
    assert told(action, Level.MANAGERS) == {story.carol, story.dave}


def test_chair_of_the_sign_off_body_hears_after_twenty_working_days_overdue(story, priya):
    action = story.action_in(State.AGREED, due_date=DUE)
    sweep(CHAIR_DAY - ONE_DAY)
    assert told(action, Level.CHAIR) == set()
    sweep(CHAIR_DAY)
    assert told(action, Level.CHAIR) == {story.carol}


def test_board_members_who_have_not_approved_are_chased_when_evidence_waits_ten_working_days(
    story,
):
    # The LSCB board needs two of carol, dave and mark; carol has approved already.
    sign_off_body_add_member(body=story.lscb, user=story.mark)
    sign_off_body_set_quorum(body=story.lscb, quorum=2)
    action = story.action_in(State.EVIDENCED, due_date=DUE)
    assert not transition_perform(obj=action, name="sign_off", user=story.carol).fired
    evidence_dated(action, EVIDENCE_SUBMITTED)

    sweep(EVIDENCE_CHASED - 3 * ONE_DAY)  # Friday 13 November: nine working days
    assert told(action, Level.SIGN_OFF_WAITING) == set()
    sweep(EVIDENCE_CHASED)
    assert told(action, Level.SIGN_OFF_WAITING) == {story.dave, story.mark}
    # Evidenced actions are waiting for the board, not overdue: no due-date level is reached.
    assert [level for level, _ in steps_of(action)] == [Level.SIGN_OFF_WAITING]


def test_the_board_member_who_submitted_the_evidence_is_never_chased_to_approve_it(story):
    action = story.action_in(State.EVIDENCED, due_date=DUE, lead_officer=story.dave)
    assert action.evidence_submitted_by == story.dave
    evidence_dated(action, EVIDENCE_SUBMITTED)
    sweep(EVIDENCE_CHASED)
    assert told(action, Level.SIGN_OFF_WAITING) == {story.carol}


@pytest.mark.parametrize(
    ("level", "last_day_before", "first_day"),
    [
        (Level.REMINDER, datetime.date(2026, 10, 29), REMINDER_DAY),
        (Level.OVERDUE, datetime.date(2026, 11, 8), OVERDUE_DAY),
        (Level.MANAGERS, datetime.date(2026, 11, 19), MANAGERS_DAY),
        (Level.CHAIR, datetime.date(2026, 12, 3), CHAIR_DAY),
    ],
)
def test_each_level_is_reached_on_its_day_and_not_the_day_before(
    story, priya, level, last_day_before, first_day
):
    action = story.action_in(State.IN_PROGRESS, due_date=DUE)
    sweep(last_day_before)
    assert level not in [reached for reached, _ in steps_of(action)]
    sweep(first_day)
    assert (level, first_day) in steps_of(action)


def test_evidence_is_chased_on_the_tenth_working_day_of_waiting_not_the_ninth(story):
    action = story.action_in(State.EVIDENCED, due_date=DUE)
    # Submitted late in the evening: still counted from that day, in London time.
    submitted = timezone.make_aware(
        datetime.datetime.combine(EVIDENCE_SUBMITTED, datetime.time(23, 30))
    )
    Action.objects.filter(pk=action.pk).update(state_changed_at=submitted)
    sweep(datetime.date(2026, 11, 13))
    assert steps_of(action) == []
    sweep(EVIDENCE_CHASED)
    assert steps_of(action) == [(Level.SIGN_OFF_WAITING, EVIDENCE_CHASED)]


# --- Once, and only once -------------------------------------------------------------------------


def test_a_second_sweep_of_the_same_day_creates_and_sends_nothing(
    story, priya, mailoutbox, django_capture_on_commit_callbacks
):
    notification_preference_set(user=story.carol, events=NotificationPreference.Events.DAILY)
    overdue = story.action_in(State.IN_PROGRESS, "1.1", due_date=DUE)
    waiting = story.action_in(State.EVIDENCED, "1.2", due_date=DUE)
    evidence_dated(waiting, EVIDENCE_SUBMITTED)

    with django_capture_on_commit_callbacks(execute=True):
        first = sweep(CHAIR_DAY)
    assert first.steps_created == 4  # overdue, managers and chair for 1.1; waiting for 1.2
    assert told(overdue, Level.CHAIR) == {story.carol}
    assert mailoutbox
    before, sent = totals(), len(mailoutbox)

    with django_capture_on_commit_callbacks(execute=True):
        second = sweep(CHAIR_DAY)
    assert (second.steps_created, second.notifications_created, second.messages_created) == (
        0,
        0,
        0,
    )
    assert totals() == before
    assert len(mailoutbox) == sent


def test_sweeping_every_day_reaches_each_level_once_on_its_day(story, priya):
    action = story.action_in(State.IN_PROGRESS, due_date=DUE)
    for day in days(datetime.date(2026, 10, 19), datetime.date(2026, 12, 31)):
        sweep(day)
    assert steps_of(action) == [
        (Level.REMINDER, REMINDER_DAY),
        (Level.OVERDUE, OVERDUE_DAY),
        (Level.MANAGERS, MANAGERS_DAY),
        (Level.CHAIR, CHAIR_DAY),
    ]
    escalations = Notification.objects.filter(action=action, step__isnull=False)
    assert sorted(n.recipient.full_name for n in escalations) == [
        "Bob Officer",
        "Bob Officer",
        "Carol Board",
        "Carol Board",
        "Dave Board",
        "Priya Police",
    ]
    # One digest per person on each day something reached them, and none on the other days.
    people = (story.bob, priya, story.carol, story.dave, story.alice)
    assert [len(digests_to(person)) for person in people] == [2, 1, 2, 1, 0]


# --- A changed due date starts a fresh chain ----------------------------------------------------


def test_due_date_moved_later_stops_the_chase_until_the_new_date_comes_round(story, priya):
    action = story.action_in(State.IN_PROGRESS, due_date=DUE)
    sweep(REMINDER_DAY)
    sweep(OVERDUE_DAY)
    new_due = datetime.date(2026, 12, 18)  # a Friday: reminded on Friday 11 December
    plan_services.action_update(
        action=action, by=story.alice, due_date=new_due, reason="Agreed with the board."
    )

    for day in days(OVERDUE_DAY + ONE_DAY, datetime.date(2026, 12, 10)):
        sweep(day)
    assert steps_of(action) == [(Level.REMINDER, REMINDER_DAY), (Level.OVERDUE, OVERDUE_DAY)]

    sweep(datetime.date(2026, 12, 11))
    sweep(datetime.date(2026, 12, 21))
    assert steps_of(action)[2:] == [
        (Level.REMINDER, datetime.date(2026, 12, 11)),
        (Level.OVERDUE, datetime.date(2026, 12, 21)),
    ]
    with across_tenants():
        assert (
            EscalationStep.objects.filter(action=action, level=Level.OVERDUE)
            .latest("pk")
            .counted_from
            == new_due
        )


def test_due_date_moved_to_another_past_date_starts_the_chain_again_from_that_date(story, priya):
    action = story.action_in(State.IN_PROGRESS, due_date=DUE)
    sweep(MANAGERS_DAY)
    assert steps_of(action) == [(Level.OVERDUE, MANAGERS_DAY), (Level.MANAGERS, MANAGERS_DAY)]

    new_due = datetime.date(2026, 11, 16)  # a Monday, already past
    plan_services.action_update(
        action=action, by=story.alice, due_date=new_due, reason="Agreed with the board."
    )
    sweep(datetime.date(2026, 11, 23))  # five working days after the new date
    assert steps_of(action)[2:] == [(Level.OVERDUE, datetime.date(2026, 11, 23))]
    assert told(action, Level.OVERDUE) == {story.bob, priya}
    assert len(Notification.objects.filter(action=action, kind=Level.OVERDUE)) == 4

    for day in days(datetime.date(2026, 11, 24), datetime.date(2026, 12, 11)):
        sweep(day)
    # Ten working days after 16 November is Monday 30 November; the old chair date of
    # 4 December no longer applies.
    assert steps_of(action)[3:] == [(Level.MANAGERS, datetime.date(2026, 11, 30))]


def test_returned_and_resubmitted_evidence_starts_the_waiting_count_again(story):
    action = story.action_in(State.EVIDENCED, due_date=DUE)
    evidence_dated(action, EVIDENCE_SUBMITTED)
    sweep(EVIDENCE_CHASED)
    assert told(action, Level.SIGN_OFF_WAITING) == {story.carol, story.dave}

    transition_perform(
        obj=action, name="send_back", user=story.carol, comment="The audit is not attached."
    )
    transition_perform(obj=action, name="submit_evidence", user=story.bob)
    evidence_dated(action, EVIDENCE_CHASED)

    sweep(datetime.date(2026, 11, 27))  # nine working days after the resubmission
    assert [level for level, _ in steps_of(action)] == [Level.SIGN_OFF_WAITING]
    sweep(datetime.date(2026, 11, 30))
    assert steps_of(action) == [
        (Level.SIGN_OFF_WAITING, EVIDENCE_CHASED),
        (Level.SIGN_OFF_WAITING, datetime.date(2026, 11, 30)),
    ]
    assert Notification.objects.filter(action=action, kind=Level.SIGN_OFF_WAITING).count() == 4


# --- What is never escalated ---------------------------------------------------------------------


def withdrawn_after_evidence(story) -> Action:
    action = story.action_in(State.EVIDENCED, "1.2", due_date=DUE)
    return transition_perform(
        obj=action, name="withdraw", user=story.alice, comment="Superseded by 4.1"
    ).obj


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda s: s.action_in(State.PROPOSED, "1.2", due_date=DUE), id="proposed"),
        pytest.param(lambda s: s.action_in(State.SIGNED_OFF, "1.2", due_date=DUE), id="signed-off"),
        pytest.param(lambda s: s.action_in(State.WITHDRAWN, "1.2", due_date=DUE), id="withdrawn"),
        pytest.param(withdrawn_after_evidence, id="withdrawn-after-evidence"),
    ],
)
def test_proposed_signed_off_and_withdrawn_actions_are_never_escalated(story, priya, make):
    delivering = story.action_in(State.IN_PROGRESS, "1.1", due_date=DUE)
    quiet = make(story)
    evidence_dated(quiet, EVIDENCE_SUBMITTED)
    for day in (REMINDER_DAY, OVERDUE_DAY, EVIDENCE_CHASED, MANAGERS_DAY, CHAIR_DAY):
        sweep(day)
    assert len(steps_of(delivering)) == 4
    assert steps_of(quiet) == []
    assert not Notification.objects.filter(action=quiet, step__isnull=False).exists()


# --- The digest ----------------------------------------------------------------------------------


def test_each_person_gets_one_digest_listing_everything_that_reached_them(
    story, priya, mailoutbox, django_capture_on_commit_callbacks
):
    story.action_in(State.IN_PROGRESS, "1.1", title="Audit strategy discussions", due_date=DUE)
    story.action_in(State.AGREED, "1.2", title="Refresh the threshold document", due_date=DUE)
    story.action_in(
        State.AGREED,
        "1.3",
        title="Train front-door staff",
        due_date=datetime.date(2026, 11, 13),
    )
    with django_capture_on_commit_callbacks(execute=True):
        sweep(OVERDUE_DAY)

    [to_bob] = [m for m in mailoutbox if m.to == [story.bob.email]]
    for line in (
        "Overdue: 1.1 Audit strategy discussions (due 6 November 2026)",
        "Overdue: 1.2 Refresh the threshold document (due 6 November 2026)",
        "Due soon: 1.3 Train front-door staff (due 13 November 2026)",
    ):
        assert line in to_bob.body
    assert "3 items" in to_bob.subject
    [to_priya] = [m for m in mailoutbox if m.to == [priya.email]]
    assert "2 items" in to_priya.subject
    assert "Train front-door staff" not in to_priya.body
    assert len(digests_to(story.bob)) == 1
    assert len(mailoutbox) == 2


def test_a_member_of_two_tenants_gets_one_digest_with_a_heading_for_each(
    story, mailoutbox, django_capture_on_commit_callbacks
):
    sunderland = story.other_tenant
    with tenant_scope(sunderland):
        membership_add(tenant=sunderland, user=story.bob, role=Role.OFFICER)
        board = SignOffBody.objects.get(name="Children's Trust Board")
        theirs = new_action(
            story.other_plan,
            by=story.charlie,
            reference="4.2",
            title="Multi-agency audit of neglect cases",
            lead_officer=story.bob,
            lead_partner=Partner.objects.get(name="Northumbria Police"),
            due_date=DUE,
            sign_off_body=board,
        )
        transition_perform(obj=theirs, name="agree", user=story.charlie)
    story.action_in(State.AGREED, "1.1", title="Audit strategy discussions", due_date=DUE)

    with django_capture_on_commit_callbacks(execute=True):
        sweep(OVERDUE_DAY)

    [email] = [m for m in mailoutbox if m.to == [story.bob.email]]
    text, html = email.body, html_of(email)
    cb, sd = "Central Bedfordshire Council", "Sunderland Children&#x27;s Trust"
    assert f"{cb}\n{'=' * len(cb)}" in text
    assert "Sunderland Children's Trust\n" in text
    assert text.index("Audit strategy discussions") < text.index("Sunderland Children's Trust")
    assert text.index("Sunderland Children's Trust") < text.index("Multi-agency audit")
    assert f"<h2>{cb}</h2>" in html and f"<h2>{sd}</h2>" in html
    [digest] = digests_to(story.bob)
    assert digest.tenant is None
    with across_tenants():
        assert {n.tenant for n in digest.notifications.all()} == {story.tenant, sunderland}


def test_the_email_says_why_links_to_the_action_and_names_nobody(
    story, priya, mailoutbox, django_capture_on_commit_callbacks
):
    action = story.action_in(
        State.IN_PROGRESS, "3.2", title="Audit strategy discussions", due_date=DUE
    )
    with django_capture_on_commit_callbacks(execute=True):
        sweep(OVERDUE_DAY)

    [email] = [m for m in mailoutbox if m.to == [story.bob.email]]
    link = f"{settings.SITE_URL}/t/central-bedfordshire/actions/{action.pk}/"
    text, html = email.body, html_of(email)
    assert "Overdue: 3.2 Audit strategy discussions (due 6 November 2026)" in text
    assert "Why you: you are the lead officer for this action." in text
    assert "Central Bedfordshire Council" in text
    assert link in text
    assert f'href="{link}"' in html
    assert "Central Bedfordshire Council" in html
    assert "you are the lead officer for this action" in html
    [to_priya] = [m for m in mailoutbox if m.to == [priya.email]]
    assert "named contact at Bedfordshire Police" in to_priya.body
    for sent in mailoutbox:
        for part in (sent.subject, sent.body, html_of(sent)):
            for name in PEOPLE:
                assert name not in part


# --- Tenant policy and preferences --------------------------------------------------------------


def test_a_tenants_own_policy_changes_its_thresholds_and_nobody_elses(story, priya):
    escalation_policy_update(
        tenant=story.tenant,
        by=story.erin,
        reminder_days_before=2,
        overdue_days=3,
        managers_days=5,
        chair_days=8,
    )
    ours = story.action_in(State.IN_PROGRESS, "1.1", due_date=DUE)
    with tenant_scope(story.other_tenant):
        board = SignOffBody.objects.get(name="Children's Trust Board")
        theirs = new_action(
            story.other_plan,
            by=story.charlie,
            reference="4.2",
            lead_officer=story.charlie,
            lead_partner=Partner.objects.get(name="Northumbria Police"),
            due_date=DUE,
            sign_off_body=board,
        )
        transition_perform(obj=theirs, name="agree", user=story.charlie)

    for day in days(datetime.date(2026, 10, 26), datetime.date(2026, 12, 31)):
        sweep(day)
    assert steps_of(ours) == [
        (Level.REMINDER, datetime.date(2026, 11, 4)),  # two working days before
        (Level.OVERDUE, datetime.date(2026, 11, 11)),  # three after
        (Level.MANAGERS, datetime.date(2026, 11, 13)),  # five after
        (Level.CHAIR, datetime.date(2026, 11, 18)),  # eight after
    ]
    # Sunderland has no policy of its own and keeps the defaults.
    assert steps_of(theirs) == [
        (Level.REMINDER, REMINDER_DAY),
        (Level.OVERDUE, OVERDUE_DAY),
        (Level.MANAGERS, MANAGERS_DAY),
        (Level.CHAIR, CHAIR_DAY),
    ]


def test_a_tenants_policy_sets_how_long_evidence_may_wait(story):
    escalation_policy_update(tenant=story.tenant, by=story.erin, sign_off_waiting_days=3)
    action = story.action_in(State.EVIDENCED, due_date=DUE)
    evidence_dated(action, EVIDENCE_SUBMITTED)
    sweep(datetime.date(2026, 11, 4))
    assert steps_of(action) == []
    sweep(datetime.date(2026, 11, 5))
    assert steps_of(action) == [(Level.SIGN_OFF_WAITING, datetime.date(2026, 11, 5))]


def test_someone_who_chose_a_daily_email_hears_of_events_in_the_next_digest(
    story, mailoutbox, django_capture_on_commit_callbacks
):
    notification_preference_set(user=story.carol, events=NotificationPreference.Events.DAILY)
    with django_capture_on_commit_callbacks(execute=True):
        action = story.action_in(State.EVIDENCED, title="Audit strategy discussions")
    assert [m.to for m in mailoutbox if "Sign-off requested" in m.subject] == [[story.dave.email]]
    [waiting] = Notification.objects.filter(recipient=story.carol, action=action)
    assert waiting.awaiting_digest and waiting.message is None

    with django_capture_on_commit_callbacks(execute=True):
        sweep(datetime.date(2026, 11, 2))
    [digest] = [m for m in mailoutbox if m.to == [story.carol.email]]
    assert "Sign-off requested: 1.1 Audit strategy discussions" in digest.body
    waiting.refresh_from_db()
    assert not waiting.awaiting_digest
    assert waiting.message.kind == Message.Kind.DIGEST

    with django_capture_on_commit_callbacks(execute=True):
        sweep(datetime.date(2026, 11, 3))
    assert len([m for m in mailoutbox if m.to == [story.carol.email]]) == 1


# --- Cost ----------------------------------------------------------------------------------------


def test_the_sweep_costs_the_same_queries_for_thirty_overdue_actions_as_for_three(story, priya):
    for n in range(3):
        story.action_in(State.AGREED, f"1.{n}", due_date=DUE)
    with CaptureQueriesContext(connection) as three:
        first = sweep(OVERDUE_DAY)

    # Thirty more, due a week later, reach the same single level on the same weekday.
    for n in range(30):
        story.action_in(State.AGREED, f"2.{n}", due_date=DUE + 7 * ONE_DAY)
    with CaptureQueriesContext(connection) as thirty:
        second = sweep(OVERDUE_DAY + 7 * ONE_DAY)

    assert (first.steps_created, second.steps_created) == (3, 30)
    assert (first.notifications_created, second.notifications_created) == (6, 60)
    assert len(thirty.captured_queries) == len(three.captured_queries)


def test_every_level_costs_the_same_queries_however_many_actions_and_bodies_there_are(
    postgres, story, priya
):
    """Monitoring bodies, agency committees and the plan's sign-off grants are read for all
    the actions at once: neither more actions nor more bodies, here or in another tenant, add
    a query. (On PostgreSQL: SQLite's bulk inserts are split into batches by row count.)"""
    police_committee = agency_committee(
        story.tenant, name="Police safeguarding committee", partner=story.police, members=[priya]
    )
    for n in range(3):
        story.action_in(State.IN_PROGRESS, f"1.{n}", due_date=DUE)
        evidence_dated(story.action_in(State.EVIDENCED, f"2.{n}", due_date=DUE), EVIDENCE_SUBMITTED)
    with CaptureQueriesContext(connection) as few:
        first = sweep(CHAIR_DAY)

    # More of everything a week later: actions, another agency's committee, and another
    # tenant's monitored plan with an agency committee and overdue actions of its own.
    agency_committee(
        story.tenant,
        name="Health safeguarding committee",
        partner=story.health,
        members=[story.mark],
    )
    sign_off_body_add_member(body=police_committee, user=story.alice)
    for n in range(30):
        lead_partner = story.police if n % 2 else story.health
        story.action_in(
            State.IN_PROGRESS, f"3.{n}", due_date=DUE + 7 * ONE_DAY, lead_partner=lead_partner
        )
    for n in range(10):
        waiting = story.action_in(State.EVIDENCED, f"4.{n}", due_date=DUE + 7 * ONE_DAY)
        evidence_dated(waiting, EVIDENCE_SUBMITTED + 7 * ONE_DAY)
    sunderland = story.other_tenant
    with tenant_scope(sunderland):
        board = SignOffBody.objects.get(name="Children's Trust Board")
        northumbria = Partner.objects.get(name="Northumbria Police")
        plan_monitored_by(story.other_plan, board)
        agency_committee(
            sunderland,
            name="Northumbria safeguarding committee",
            partner=northumbria,
            members=[story.charlie],
        )
        for n in range(5):
            theirs = new_action(
                story.other_plan,
                by=story.charlie,
                reference=f"5.{n}",
                lead_officer=story.charlie,
                lead_partner=northumbria,
                due_date=DUE + 7 * ONE_DAY,
                sign_off_body=board,
            )
            transition_perform(obj=theirs, name="agree", user=story.charlie)
    with CaptureQueriesContext(connection) as many:
        second = sweep(CHAIR_DAY + 7 * ONE_DAY)

    # Overdue, monitoring body and chair for each delivering action; the waiting ones once.
    assert (first.steps_created, second.steps_created) == (3 * 3 + 3, 35 * 3 + 10)
    # First: 3 x (bob, priya; carol, dave, priya; carol) + 3 x (carol, dave). Second: 15 police
    # actions x 7 (alice joined the committee), 15 health ones x 5 (no named contact), 10 x 2
    # waiting, and Sunderland's 5 x charlie twice (as lead officer, then on both bodies).
    assert (first.notifications_created, second.notifications_created) == (24, 210)
    assert len(many.captured_queries) == len(few.captured_queries)


def test_evidence_submitted_just_after_midnight_in_summer_time_counts_from_that_london_day(
    story,
):
    action = story.action_in(State.EVIDENCED, due_date=DUE)
    # 00:30 on Monday 5 October 2026 in London is still Sunday 4 October in UTC.
    submitted = timezone.make_aware(datetime.datetime(2026, 10, 5, 0, 30))
    Action.objects.filter(pk=action.pk).update(state_changed_at=submitted)
    sweep(datetime.date(2026, 10, 16))  # ten working days after the Sunday, nine after Monday
    assert steps_of(action) == []
    sweep(datetime.date(2026, 10, 19))
    assert steps_of(action) == [(Level.SIGN_OFF_WAITING, datetime.date(2026, 10, 19))]


def test_a_deactivated_tenant_is_not_escalated(story, priya):
    action = story.action_in(State.IN_PROGRESS, due_date=DUE)
    Tenant.objects.filter(pk=story.tenant.pk).update(is_active=False)

    sweep(OVERDUE_DAY)

    assert steps_of(action) == []
    assert Message.objects.filter(kind=Message.Kind.DIGEST).count() == 0


# --- Two ways of writing ------------------------------------------------------------------------


@pytest.fixture(params=["copy", "bulk"])
def writes(request, monkeypatch):
    """The sweep writes by COPY on PostgreSQL and by bulk inserts elsewhere (the demo's
    SQLite); on PostgreSQL both are tried."""
    if request.param == "copy" and connection.vendor != "postgresql":
        pytest.skip("COPY needs PostgreSQL")
    if request.param == "bulk":
        monkeypatch.setattr(escalations, "CopyWrites", escalations.BulkWrites)
    return request.param


def test_either_way_of_writing_tells_the_same_people_once_in_one_digest_each(
    writes, story, priya, mailoutbox, django_capture_on_commit_callbacks
):
    notification_preference_set(user=story.carol, events=NotificationPreference.Events.DAILY)
    overdue = story.action_in(State.IN_PROGRESS, "1.1", title="Audit strategy", due_date=DUE)
    with django_capture_on_commit_callbacks(execute=True):
        waiting_evidence = story.action_in(State.EVIDENCED, "1.2", title="Threshold document")
    evidence_dated(waiting_evidence, EVIDENCE_SUBMITTED)
    [event] = Notification.objects.filter(recipient=story.carol, awaiting_digest=True)
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        first = sweep(MANAGERS_DAY)
    with django_capture_on_commit_callbacks(execute=True):
        again = sweep(MANAGERS_DAY)

    assert told(overdue, Level.OVERDUE) == {story.bob, priya}
    assert told(overdue, Level.MANAGERS) == {story.carol, story.dave}
    assert told(waiting_evidence, Level.SIGN_OFF_WAITING) == {story.carol, story.dave}
    assert (first.steps_created, first.notifications_created, first.messages_created) == (3, 6, 4)
    assert (again.steps_created, again.notifications_created, again.messages_created) == (0, 0, 0)
    assert sorted(m.to[0] for m in mailoutbox) == sorted(
        person.email for person in (story.bob, priya, story.carol, story.dave)
    )
    [to_carol] = [m for m in mailoutbox if m.to == [story.carol.email]]
    assert "3 items" in to_carol.subject
    for line in (
        "Overdue, for the body monitoring the plan: 1.1 Audit strategy (due 6 November 2026)",
        "Waiting for your sign-off: 1.2 Threshold document",
        "Sign-off requested: 1.2 Threshold document",
    ):
        assert line in to_carol.body
    event.refresh_from_db()
    [digest] = digests_to(story.carol)
    assert (event.awaiting_digest, event.message) == (False, digest)
    with across_tenants():
        assert set(
            Notification.objects.filter(step__sweep=first).values_list("message", flat=True)
        ) == set(Message.objects.filter(kind=Message.Kind.DIGEST).values_list("pk", flat=True))
    first.refresh_from_db()
    assert first.finished_at is not None and first.messages_created == 4


def overdue_tenant(n: int, story, due: datetime.date) -> None:
    """Another partnership with its own board, partner, officer and plan: one action overdue
    since ``due`` and one whose evidence has waited since ``due``."""
    tenant = TenantFactory(name=f"Partnership {n}", slug=f"partnership-{n}")
    with tenant_scope(tenant):
        manager = member(tenant, Role.MANAGER)
        officer = member(tenant, Role.OFFICER)
        board = sign_off_body(
            tenant,
            name="Board",
            kind=SignOffBody.Kind.LSCB_BOARD,
            members=[manager],
            chair=manager,
        )
        partner = PartnerFactory(tenant=tenant, name="Police", kind=Partner.Kind.POLICE)
        plan = plan_services.action_plan_create(
            tenant=tenant,
            framework=story.framework,
            title="Plan",
            owner_body=board,
            sign_off_bodies=[board],
        )
        for reference, state in (("1.1", State.IN_PROGRESS), ("1.2", State.EVIDENCED)):
            made = new_action(
                plan,
                by=manager,
                reference=reference,
                lead_officer=officer,
                lead_partner=partner,
                sign_off_body=board,
                due_date=due,
            )
            # The sweep reads only the state: set directly, the workflow's steps are not
            # what this test is about.
            Action.objects.filter(pk=made.pk).update(
                state=state,
                state_changed_at=timezone.make_aware(
                    datetime.datetime.combine(due, datetime.time(10))
                ),
            )


@pytest.mark.django_db(transaction=True)
def test_the_sweep_sends_the_same_few_statements_for_twenty_tenants_as_for_two(
    postgres, story, priya, monkeypatch
):
    """Counted at the driver, so the COPY and the tenant setting count too; outside a test's
    transaction, as the task runs, so the sweep's transaction is its own. The digests it
    queues for delivery on commit are not sent: delivery is not the sweep's cost."""
    monkeypatch.setattr(escalations, "outbox_queue_on_commit", lambda message_ids: None)
    story.action_in(State.IN_PROGRESS, "1.1", due_date=DUE)
    evidence_dated(story.action_in(State.EVIDENCED, "1.2", due_date=DUE), DUE)
    overdue_tenant(1, story, DUE)
    with statements_sent() as two_tenants:
        two = sweep(CHAIR_DAY)

    later = DUE + 7 * ONE_DAY
    story.action_in(State.IN_PROGRESS, "2.1", due_date=later)
    evidence_dated(story.action_in(State.EVIDENCED, "2.2", due_date=later), later)
    for n in range(2, 20):
        overdue_tenant(n, story, later)
    with statements_sent() as twenty_tenants:
        twenty = sweep(CHAIR_DAY + 7 * ONE_DAY)

    with across_tenants():
        tenants_told = {
            Notification.objects.filter(step__sweep=s).values("tenant").distinct().count()
            for s in (two, twenty)
        }
    assert tenants_told == {2, 19}
    assert twenty.notifications_created > 5 * two.notifications_created
    assert len(twenty_tenants) == len(two_tenants) <= 15, "\n".join(twenty_tenants)
