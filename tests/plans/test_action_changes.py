"""Changes to an action other than workflow steps are recorded by the service that makes them,
in its transaction, with what each field read before and after, and only when something
really changed."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from plans import services
from plans.models import Action
from plans.signals import lead_officer_assigned
from tenants.models import AuditEntry
from tests.tenants.factories import Role, member


def changes_of(action) -> list[AuditEntry]:
    """The action's recorded changes after it was added."""
    return list(
        AuditEntry.objects.filter(
            subject_type=AuditEntry.Subject.ACTION, subject_id=action.pk
        ).exclude(summary="Action added")
    )


def changed(entry: AuditEntry) -> dict[str, list[str]]:
    return {c["field"]: [c["before"], c["after"]] for c in entry.changes}


def test_changing_details_records_each_changed_field_before_and_after(story):
    action = story.action_in(Action.State.AGREED, due_date=datetime.date(2027, 3, 1))

    services.action_update(
        action=action,
        by=story.alice,
        due_date=datetime.date(2027, 6, 1),
        title="Audit every case file",
        reference="1.1",
        reason="The audit covers every case file, which takes longer.",
    )

    [change] = changes_of(action)
    assert change.actor == story.alice
    assert change.summary == "Details changed"
    assert changed(change) == {
        "due_date": ["1 March 2027", "1 June 2027"],
        "title": ["Action 1.1", "Audit every case file"],
    }
    assert [(r.label, r.before, r.after) for r in change.rows] == [
        ("Title", "Action 1.1", "Audit every case file"),
        ("Due date", "1 March 2027", "1 June 2027"),
    ]


def test_people_partners_bodies_and_links_are_recorded_by_name(story):
    action = story.action_in(Action.State.PROPOSED)

    services.action_update(
        action=action,
        by=story.alice,
        lead_officer=story.dave,
        lead_partner=story.health,
        sign_off_body=story.management_team,
        recommendations=[],
        supporting_partners=[story.police],
    )

    [change] = changes_of(action)
    assert changed(change) == {
        "lead_officer": ["Bob Officer", "Dave Board"],
        "lead_partner": ["Bedfordshire Police", "NHS Bedfordshire"],
        "sign_off_body": ["LSCB board", "Management team"],
        "recommendations": [str(story.recommendation), ""],
        "supporting_partners": ["", "Bedfordshire Police"],
    }


def test_saving_unchanged_details_records_nothing(story):
    action = story.action_in(Action.State.IN_PROGRESS)

    services.action_update(
        action=action,
        by=story.alice,
        reference=action.reference,
        title=f"  {action.title} ",
        description=action.description,
        lead_officer=story.bob,
        lead_partner=story.police,
        due_date=action.due_date,
        sign_off_body=story.lscb,
        recommendations=[story.recommendation],
        supporting_partners=[],
    )

    assert changes_of(action) == []


def test_a_change_that_fails_later_in_its_transaction_leaves_no_record(story):
    action = story.action_in(Action.State.AGREED)

    def refuse(**kwargs):
        raise RuntimeError("the outbox is unavailable")

    lead_officer_assigned.connect(refuse, dispatch_uid="test-refuse")
    try:
        with pytest.raises(RuntimeError):
            services.action_update(
                action=action, by=story.alice, lead_officer=story.dave, title="Changed"
            )
    finally:
        lead_officer_assigned.disconnect(dispatch_uid="test-refuse")

    assert changes_of(action) == []
    action = Action.objects.get(pk=action.pk)
    assert (action.title, action.lead_officer) == ("Action 1.1", story.bob)


def test_a_refused_change_records_nothing(story):
    action = story.action_in(Action.State.AGREED)
    with pytest.raises(PermissionDenied):
        services.action_update(action=action, by=story.bob, title="Mine now")
    assert changes_of(action) == []


def test_completion_statement_is_recorded_when_it_changes_and_not_when_saved_again(story):
    action = story.action_in(Action.State.IN_PROGRESS)

    services.action_set_completion_statement(action=action, by=story.bob, text="First draft.")
    services.action_set_completion_statement(action=action, by=story.bob, text="First draft. ")
    services.action_set_completion_statement(action=action, by=story.bob, text="Final.")

    assert [(c.summary, changed(c)) for c in changes_of(action)] == [
        ("Completion statement saved", {"completion_statement": ["", "First draft."]}),
        ("Completion statement saved", {"completion_statement": ["First draft.", "Final."]}),
    ]


def test_delegates_added_and_removed_are_recorded_once_each(story):
    action = story.action_in(Action.State.AGREED)
    fiona = member(story.tenant, Role.OFFICER, full_name="Fiona Officer")

    services.action_delegate(action=action, by=story.bob, delegate=story.erin)
    services.action_delegate(action=action, by=story.bob, delegate=story.erin)  # already one
    services.action_delegate(action=action, by=story.alice, delegate=fiona)
    services.action_delegate_remove(action=action, by=story.bob, delegate=story.erin)
    services.action_delegate_remove(action=action, by=story.bob, delegate=story.erin)  # gone

    assert [(c.actor, c.summary, changed(c)) for c in changes_of(action)] == [
        (story.bob, "Delegate added: Erin Admin", {"delegates": ["", "Erin Admin"]}),
        (
            story.alice,
            "Delegate added: Fiona Officer",
            {"delegates": ["Erin Admin", "Erin Admin, Fiona Officer"]},
        ),
        (
            story.bob,
            "Delegate removed: Erin Admin",
            {"delegates": ["Erin Admin, Fiona Officer", "Fiona Officer"]},
        ),
    ]


def test_moving_the_due_date_later_needs_a_reason_and_the_reason_is_kept(story):
    action = story.action_in(Action.State.AGREED, due_date=datetime.date(2027, 3, 1))

    with pytest.raises(ValidationError) as refused:
        services.action_update(action=action, by=story.alice, due_date=datetime.date(2027, 6, 1))
    assert "Say why the due date moves later" in str(refused.value)
    assert Action.objects.get(pk=action.pk).due_date == datetime.date(2027, 3, 1)
    assert changes_of(action) == []

    services.action_update(
        action=action,
        by=story.alice,
        due_date=datetime.date(2027, 6, 1),
        reason="The audit team is on another review until May.",
    )
    [change] = changes_of(action)
    assert changed(change) == {"due_date": ["1 March 2027", "1 June 2027"]}
    assert change.reason == "The audit team is on another review until May."


def test_bringing_the_due_date_forward_needs_no_reason(story):
    action = story.action_in(Action.State.AGREED, due_date=datetime.date(2027, 3, 1))
    services.action_update(action=action, by=story.alice, due_date=datetime.date(2027, 2, 1))
    assert Action.objects.get(pk=action.pk).due_date == datetime.date(2027, 2, 1)


def test_adding_an_action_records_what_it_was_added_with(story):
    action = story.action("1.1", due_date=datetime.date(2027, 3, 1))
    [entry] = AuditEntry.objects.filter(
        subject_type=AuditEntry.Subject.ACTION, subject_id=action.pk
    )
    assert (entry.actor, entry.summary) == (story.alice, "Action added")
    assert changed(entry)["due_date"] == ["", "1 March 2027"]
    assert changed(entry)["lead_officer"] == ["", "Bob Officer"]
    assert changed(entry)["sign_off_body"] == ["", "LSCB board"]
