"""The one way a subject's change is written to the record of changes (``Recorded``), which
sign-off bodies, people, invitations, partners, the organisation, plans, actions, frameworks
and escalation settings all use."""

from operator import attrgetter

from tenants.models import AuditEntry
from tenants.services import Recorded

BODY = Recorded(
    AuditEntry.Subject.SIGN_OFF_BODY,
    {"name": "Name", "quorum": "Quorum", "chair": "Chair"},
    lambda body: {"chair": str(body.chair or ""), "name": body.name, "quorum": str(body.quorum)},
    name=attrgetter("name"),
)


def test_only_changed_fields_are_kept_in_the_order_of_their_labels(story):
    before = BODY.texts(story.lscb)
    story.lscb.name, story.lscb.quorum = "Safeguarding board", 2

    entry = BODY.record(story.lscb, by=story.erin, summary="Renamed", before=before)

    assert [(c["label"], c["before"], c["after"]) for c in entry.changes] == [
        ("Name", "LSCB board", "Safeguarding board"),
        ("Quorum", "1", "2"),
    ]
    assert (entry.subject_id, entry.subject_label, entry.actor_name) == (
        story.lscb.pk,
        "Safeguarding board",
        "Erin Admin",
    )


def test_a_change_that_changed_nothing_is_not_recorded(story):
    recorded = AuditEntry.objects.count()
    unchanged = BODY.texts(story.lscb)
    assert BODY.record(story.lscb, by=story.erin, summary="Saved", before=unchanged) is None
    assert AuditEntry.objects.count() == recorded


def test_something_set_up_is_recorded_even_when_it_has_no_text(story):
    empty = Recorded(AuditEntry.Subject.PARTNER, {"contact": "Contact"}, lambda p: {"contact": ""})
    entry = empty.record(story.police, by=story.erin, summary="Added", before={})
    assert entry.summary == "Added" and entry.changes == []


def test_an_event_is_recorded_without_fields_with_its_reason(story):
    entry = BODY.event(story.lscb, by=None, summary="Looked at", reason="A check.")
    assert (entry.changes, entry.reason, entry.actor_name) == ([], "A check.", "")
