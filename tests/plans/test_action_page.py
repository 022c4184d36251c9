"""The action page and the confirmation page of each workflow step."""

import datetime
import re

import pytest
from django.core.cache import caches
from django.db import transaction
from django.urls import reverse

from plans import services
from plans.models import Action
from plans.page_cache import CACHE
from plans.selectors import action_detail, action_timeline
from tests.querycount import queries_for
from workflow.models import Approval, TransitionLog
from workflow.services import TransitionRefused, transition_perform, transitions_available

State = Action.State
PEOPLE = ("alice", "bob", "carol", "dave", "erin", "mark", "victor")


def url(url_name: str, **kwargs) -> str:
    return reverse(url_name, kwargs={"tenant_slug": "central-bedfordshire", **kwargs})


def step_url(action: Action, name: str) -> str:
    return url("action_step", pk=action.pk, name=name)


def reload(action: Action) -> Action:
    return Action.objects.get(pk=action.pk)


def main(response) -> str:
    return response.content.decode().split('id="main-content"')[1]


def steps_offered(response) -> set[str]:
    """The steps the page links to, by name."""
    return set(re.findall(r'/actions/\d+/steps/(\w+)/"', main(response)))


def messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# -- the confirmation page ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "person", "name", "label"),
    [
        (State.EVIDENCED, "carol", "send_back", "Why the evidence is not accepted"),
        (State.AGREED, "alice", "withdraw", "Why the action is withdrawn"),
        (State.SIGNED_OFF, "dave", "reopen", "Why the action is reopened"),
    ],
)
def test_confirmation_page_asks_for_the_reason_the_rules_need(
    client, story, state, person, name, label
):
    action = story.action_in(state)
    client.force_login(getattr(story, person))

    response = client.get(step_url(action, name))

    content = main(response)
    assert response.status_code == 200
    assert f'<label class="govuk-label govuk-label--s" for="id_comment">{label}' in content
    assert '<textarea class="govuk-textarea" name="comment"' in content
    assert "required" not in content.split("<textarea")[1].split(">")[0]
    assert '<form method="post" novalidate>' in content
    assert "Action 1.1" in content and state.label in content


def test_confirmation_page_offers_an_optional_comment_for_sign_off_and_says_what_it_does(
    client, story
):
    action = story.action_in(State.EVIDENCED)
    client.force_login(story.carol)

    response = client.get(step_url(action, "sign_off"))

    content = main(response)
    assert response.status_code == 200
    assert 'for="id_comment">Comment (optional)</label>' in content
    assert "the evidence shows the action is done" in content
    assert "This action moves from evidenced to signed off." in content
    assert ">1.1</dd>" in content and ">Action 1.1</dd>" in content
    assert "govuk-tag--purple" in content  # evidenced
    assert reload(action).state == State.EVIDENCED


def test_a_step_posted_without_its_reason_is_a_form_error_that_changes_nothing(client, story):
    action = story.action_in(State.EVIDENCED)
    client.force_login(story.carol)
    logs = TransitionLog.objects.count()

    response = client.post(step_url(action, "send_back"), {"comment": "  "})

    content = main(response)
    assert response.status_code == 400
    assert '<div class="govuk-error-summary" data-module="govuk-error-summary">' in content
    assert '<a href="#id_comment">Give a reason to return to in progress.</a>' in content
    assert '<p class="govuk-error-message" id="id_comment_error">' in content
    assert response.content.decode().count("<title>Error: ") == 1
    assert reload(action).state == State.EVIDENCED
    assert TransitionLog.objects.count() == logs


@pytest.mark.parametrize("method", ["get", "post"])
def test_the_submitter_forcing_the_sign_off_address_is_told_about_four_eyes(client, story, method):
    # dave sits on the LSCB board and leads the action, so he submitted its evidence.
    action = story.action_in(State.EVIDENCED, lead_officer=story.dave)
    client.force_login(story.dave)
    logs = TransitionLog.objects.count()

    response = getattr(client, method)(step_url(action, "sign_off"), {"comment": "Looks good"})

    assert response.status_code == 403
    assert (
        "You are its lead officer, so another member of the sign-off body who did not "
        "deliver this action must sign it off." in main(response)
    )
    assert "<textarea" not in main(response)
    assert reload(action).state == State.EVIDENCED
    assert TransitionLog.objects.count() == logs
    assert not Approval.objects.filter(object_id=action.pk).exists()


def test_a_viewer_forcing_a_step_is_refused_and_nothing_changes(client, story):
    action = story.action_in(State.AGREED)
    client.force_login(story.victor)

    response = client.post(step_url(action, "withdraw"), {"comment": "Not needed"})

    assert response.status_code == 403
    assert "Only a manager or tenant administrator can withdraw." in main(response)
    assert reload(action).state == State.AGREED
    assert not TransitionLog.objects.filter(object_id=action.pk, transition="withdraw").exists()


def test_a_step_that_cannot_start_from_the_present_state_is_refused_on_its_page(client, story):
    action = story.action()
    client.force_login(story.bob)
    response = client.get(step_url(action, "start"))
    assert response.status_code == 403
    assert "&#x27;Start work&#x27; is not possible while this is proposed." in main(response)


def test_a_step_missing_its_conditions_lists_them_on_its_page(client, story):
    action = story.action_in(State.IN_PROGRESS)
    client.force_login(story.bob)
    response = client.post(step_url(action, "submit_evidence"))
    assert response.status_code == 403
    assert "Add at least one item of evidence. Write a completion statement." in main(response)
    assert reload(action).state == State.IN_PROGRESS


def test_an_unknown_step_is_not_found(client, story):
    client.force_login(story.alice)
    assert client.get(step_url(story.action(), "approve_everything")).status_code == 404


# -- what the action page offers ---------------------------------------------------------------


def attempt(action: Action, name: str, user) -> bool:
    """Whether the service takes the step; whatever it did is rolled back."""
    try:
        with transaction.atomic():
            transition_perform(obj=action, name=name, user=user, comment="Because.")
            transaction.set_rollback(True)
    except TransitionRefused:
        return False
    return True


def scenarios(story):
    """An action in every state; one in progress with its evidence and statement ready; then
    evidenced ones whose sign-off a board member may not take (dave leads and submitted) or has
    already approved (carol, with a quorum of two)."""
    for n, state in enumerate(State, start=1):
        yield state, story.action_in(state, reference=f"1.{n}")
    ready = story.action_in(State.IN_PROGRESS, "2.0")
    services.evidence_add_link(
        action=ready, by=story.bob, url="https://example.org/r", description="Report"
    )
    services.action_set_completion_statement(action=ready, by=story.bob, text="Done.")
    yield "ready to submit", reload(ready)
    yield "dave submitted", story.action_in(State.EVIDENCED, "2.1", lead_officer=story.dave)
    story.lscb_needs_two()
    approved = story.action_in(State.EVIDENCED, "2.2")
    transition_perform(obj=approved, name="sign_off", user=story.carol)
    yield "carol approved", reload(approved)


def test_the_page_offers_exactly_the_steps_the_service_takes(client, story):
    checked, seen = 0, set()
    for scenario, action in scenarios(story):
        for person in PEOPLE:
            user = getattr(story, person)
            client.force_login(user)
            page = client.get(url("action", pk=action.pk))
            offered = {
                o.transition.name for o in transitions_available(obj=action, user=user) if o.offered
            }
            assert steps_offered(page) == offered, (scenario, person)
            seen |= offered
            for transition in action.workflow.transitions:
                assert attempt(action, transition.name, user) == (transition.name in offered), (
                    scenario,
                    person,
                    transition.name,
                )
                checked += 1
    assert checked == 9 * len(PEOPLE) * len(Action.workflow.transitions)
    assert seen == {t.name for t in Action.workflow.transitions}  # every step was offered somewhere


def test_the_page_offers_the_forms_its_rules_allow(client, story):
    for scenario, action in scenarios(story):
        for person in ("alice", "bob", "carol", "dave", "victor"):
            user = getattr(story, person)
            client.force_login(user)
            content = main(client.get(url("action", pk=action.pk)))
            manager = person == "alice"
            delivers = manager or user == action.lead_officer
            where = (scenario, person)
            editable = action.state in (State.PROPOSED, State.AGREED, State.IN_PROGRESS)
            assert (url("action_edit", pk=action.pk) in content) == (manager and editable), where
            assert (url("action_progress", pk=action.pk) in content) == (
                delivers and action.is_open
            ), where
            assert (url("action_completion", pk=action.pk) in content) == (
                delivers and action.state in (State.AGREED, State.IN_PROGRESS)
            ), where
            assert (url("action_delegates", pk=action.pk) in content) == (
                (manager or user == action.lead_officer) and action.is_open
            ), where


def test_a_member_the_four_eyes_rule_bars_is_told_why_on_the_action_page(client, story):
    action = story.action_in(State.EVIDENCED, lead_officer=story.dave)
    client.force_login(story.dave)
    response = client.get(url("action", pk=action.pk))
    content = main(response)
    assert "sign_off" not in steps_offered(response)
    assert "You cannot sign off. You are its lead officer, so another member" in content
    assert "send_back" in steps_offered(response)


def test_approvals_towards_a_quorum_show_who_has_approved_and_who_may_still(client, story):
    story.lscb_needs_two()
    action = story.action_in(State.EVIDENCED)
    transition_perform(obj=action, name="sign_off", user=story.carol, comment="Content")
    client.force_login(story.victor)

    content = main(client.get(url("action", pk=action.pk)))

    today = datetime.date.today().strftime("%-d %B %Y")
    assert "The LSCB board signs it off: 2 of its members must approve." in content
    assert "<strong>1 of 2 approvals</strong> towards sign off. 1 more needed." in content
    assert f"<li>Carol Board, {today}: “Content”</li>" in content
    assert "May still approve:" in content and "<li>Dave Board</li>" in content


def test_after_submitting_the_message_says_who_signs_off_next(client, story):
    story.lscb_needs_two()
    action = story.action_in(State.IN_PROGRESS)
    services.evidence_add_link(
        action=action, by=story.bob, url="https://example.org/m", description="Minutes"
    )
    services.action_set_completion_statement(action=action, by=story.bob, text="Done.")
    client.force_login(story.bob)

    response = client.post(step_url(action, "submit_evidence"), follow=True)

    assert messages(response) == [
        "Submitted for sign-off. This action is now evidenced. The LSCB board signs it off: "
        "2 of its members must approve (Carol Board, Dave Board, Mark Team)."
    ]
    assert reload(action).state == State.EVIDENCED


def test_the_submitter_is_left_out_of_who_may_sign_off(client, story):
    action = story.action_in(State.IN_PROGRESS, lead_officer=story.dave)
    services.evidence_add_link(
        action=action, by=story.dave, url="https://example.org/m", description="Minutes"
    )
    services.action_set_completion_statement(action=action, by=story.dave, text="Done.")
    client.force_login(story.dave)

    response = client.post(step_url(action, "submit_evidence"), follow=True)

    assert messages(response) == [
        "Submitted for sign-off. This action is now evidenced. The LSCB board signs it off: "
        "one of its members must approve (Carol Board)."
    ]


def test_an_approval_towards_a_quorum_says_how_far_it_has_got_and_who_else_may_approve(
    client, story
):
    story.lscb_needs_two()
    action = story.action_in(State.EVIDENCED)
    client.force_login(story.carol)

    response = client.post(step_url(action, "sign_off"), follow=True)

    assert messages(response) == [
        "Your approval is recorded: 1 of 2. It needs 1 more approval from the LSCB board: "
        "Dave Board or Mark Team may still approve."
    ]
    assert reload(action).state == State.EVIDENCED


# -- the timeline ------------------------------------------------------------------------------


def test_the_timeline_shows_every_kind_of_entry_newest_first(client, story):
    story.lscb_needs_two()
    action = story.action_in(State.AGREED, due_date=datetime.date(2027, 3, 1))
    services.action_delegate(action=action, by=story.bob, delegate=story.erin)
    services.action_update(
        action=action, by=story.alice, due_date=datetime.date(2027, 6, 1), reason="Audit delayed."
    )
    action = transition_perform(obj=action, name="start", user=story.bob).obj
    services.progress_add(action=action, author=story.bob, text="Half the files read", rag="amber")
    services.evidence_add_link(
        action=action, by=story.bob, url="https://example.org/audit", description="Audit report"
    )
    services.action_set_completion_statement(action=action, by=story.bob, text="Embedded.")
    action = transition_perform(obj=action, name="submit_evidence", user=story.bob).obj
    transition_perform(obj=action, name="sign_off", user=story.carol, comment="Fine by me")
    transition_perform(obj=action, name="send_back", user=story.dave, comment="Needs the audit")
    client.force_login(story.victor)

    response = client.get(url("action", pk=action.pk))

    timeline = response.context["timeline"]
    assert [(entry.kind, entry.title) for entry in timeline] == [
        ("transition", "Return to in progress"),
        ("approval", "Approved: sign off"),
        ("transition", "Submit for sign-off"),
        ("change", "Completion statement saved"),
        ("evidence", "Evidence added"),
        ("progress", "Progress update"),
        ("transition", "Start work"),
        ("change", "Details changed"),
        ("change", "Delegate added: Erin Admin"),
        ("transition", "Agree the action"),
        ("change", "Action added"),
    ]
    assert [entry.at for entry in timeline] == sorted((e.at for e in timeline), reverse=True)
    history = main(response).split('id="history-heading"')[1]
    expected_in_order = [
        "Return to in progress",
        "From evidenced to in progress.",
        "Needs the audit",
        "Approved: sign off",
        "Fine by me",
        "Completion statement saved",
        "Embedded.",
        "Evidence added",
        'href="https://example.org/audit"',
        "Audit report",
        "Progress update",
        '<strong class="govuk-tag govuk-tag--orange">Amber</strong>',
        "Half the files read",
        "Details changed",
        "<strong>Due date</strong>: from 1 March 2027 to 1 June 2027",
        "Delegate added: Erin Admin",
        "<strong>Delegates</strong>: from none to Erin Admin",
        "Agree the action",
    ]
    positions = [history.index(text) for text in expected_in_order]
    assert positions == sorted(positions)


def test_the_action_page_costs_the_same_queries_with_2_or_20_of_each_kind_of_entry(client, story):
    story.lscb_needs_two()
    action = story.action_in(State.IN_PROGRESS)
    services.action_set_completion_statement(action=action, by=story.bob, text="Done.")

    def add_history(count: int) -> Action:
        act = reload(action)
        for n in range(count):
            services.progress_add(action=act, author=story.bob, text=f"Update {n}", rag="green")
            services.evidence_add_link(
                action=act, by=story.bob, url=f"https://example.org/{n}", description=f"Item {n}"
            )
            services.action_update(action=act, by=story.alice, title=f"Title {n}")
            act = transition_perform(obj=act, name="submit_evidence", user=story.bob).obj
            transition_perform(obj=act, name="sign_off", user=story.carol, comment=f"Yes {n}")
            act = transition_perform(
                obj=act, name="send_back", user=story.dave, comment=f"No {n}"
            ).obj
        return transition_perform(obj=act, name="submit_evidence", user=story.bob).obj

    add_history(2)
    transition_perform(obj=reload(action), name="sign_off", user=story.carol)
    client.force_login(story.dave)
    page = url("action", pk=action.pk)
    drawn_2, kept_2 = queries_drawn_and_kept(client, page)
    assert len(history_of(action)) > 10

    transition_perform(obj=reload(action), name="send_back", user=story.dave, comment="Again")
    add_history(18)
    transition_perform(obj=reload(action), name="sign_off", user=story.carol)
    drawn_20, kept_20 = queries_drawn_and_kept(client, page)

    assert len(history_of(action)) > 100
    assert (drawn_2, kept_2) == (drawn_20, kept_20)
    # A board member's page, with the approvals panel. Served kept: the session, the person,
    # the organisation and their membership (once, for every rule the page asks); the action;
    # their bodies and the plan's grant to sign off; their second factor; who delivered the
    # action (the four-eyes rule); the approvals awaited, with the bodies' members and their
    # roles; the header's notifications and organisations. Drawing the kept parts adds the
    # action's details and lists, its history and the people the delegate form offers.
    assert kept_20 <= 20
    assert drawn_20 <= 32


def queries_drawn_and_kept(client, page: str) -> tuple[int, int]:
    """The page's statements when its kept parts are drawn, and when they are served kept."""
    caches[CACHE].clear()
    client.get(page)  # starts the organisation's version token, keeping nothing
    return queries_for(client, page), queries_for(client, page)


def history_of(action: Action) -> list:
    return action_timeline(action=action_detail(tenant=action.tenant, pk=action.pk))


def test_the_action_page_has_no_table_to_scroll_sideways_on_a_phone(client, story):
    action = story.action_in(State.SIGNED_OFF)
    client.force_login(story.alice)
    content = main(client.get(url("action", pk=action.pk)))
    assert "<table" not in content
    assert 'class="app-timeline"' in content
    assert 'class="govuk-link app-wrap" href="https://example.org/minutes.pdf"' in content
