"""Evidence is scanned by a real clamd before it is accepted: a file it knows as a virus is
refused, a clean one accepted, and one it could not check waits in quarantine until a later
scan accepts or refuses it. Never accepted unchecked."""

import hashlib
import importlib

import pytest
from django.apps import apps
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from config.celery import app as celery_app
from notifications.models import Notification
from plans import services
from plans.evidence import quarantine_storage
from plans.models import Action, Evidence, QuarantinedEvidence
from plans.queues import officer_queue
from plans.services import QuarantineOutcome, quarantine_scan, quarantined_evidence_scan
from plans.tasks import quarantined_evidence_scan_task
from tenants.models import AuditEntry
from tests.plans.scanning.conftest import CLEAN, INFECTED, SIGNATURE
from workflow.services import TransitionRefused, transition_perform, transitions_available

pytestmark = pytest.mark.django_db


def upload(content: bytes, name: str = "minutes.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def add_file(story, action: Action, content: bytes, name: str = "minutes.pdf"):
    return services.evidence_add_file(
        action=action, by=story.bob, upload=upload(content, name), description="Board minutes"
    )


def told(kind: str) -> dict[str, Notification]:
    return {n.recipient.email: n for n in Notification.objects.filter(kind=kind)}


def refusals() -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(summary__startswith="Evidence refused"))


# -- scanned as it is uploaded -----------------------------------------------------------------


def test_a_clean_file_becomes_evidence(story, scanning):
    action = story.action_in(Action.State.IN_PROGRESS)
    evidence = add_file(story, action, CLEAN)
    assert isinstance(evidence, Evidence)
    assert evidence.sha256 == hashlib.sha256(CLEAN).hexdigest()
    with evidence.file.open("rb") as stored:
        assert stored.read() == CLEAN
    assert not QuarantinedEvidence.objects.exists()


def test_a_clean_file_is_accepted_through_a_unix_socket(story, scanning, settings):
    settings.CLAMD_URL = scanning.unix_url
    action = story.action_in(Action.State.IN_PROGRESS)
    assert isinstance(add_file(story, action, CLEAN), Evidence)


def test_a_file_with_a_virus_is_refused_and_nothing_is_kept(story, scanning, settings):
    action = story.action_in(Action.State.IN_PROGRESS)
    with pytest.raises(ValidationError) as refused:
        add_file(story, action, INFECTED, name="infected.pdf")
    message = refused.value.message_dict["file"][0]
    assert "a virus was found" in message
    assert SIGNATURE not in message
    assert not Evidence.objects.filter(action=action).exists()
    assert not QuarantinedEvidence.objects.exists()
    assert not list((settings.MEDIA_ROOT).rglob("*.pdf"))


def test_a_virus_is_recorded_and_the_administrators_are_told(story, scanning):
    action = story.action_in(Action.State.IN_PROGRESS)
    with pytest.raises(ValidationError):
        add_file(story, action, INFECTED, name="infected.pdf")
    [entry] = refusals()
    assert entry.actor == story.bob
    assert entry.subject_type == AuditEntry.Subject.EVIDENCE_FILE
    assert entry.subject_id == action.pk
    found = {change["field"]: change["after"] for change in entry.changes}
    assert found["file"] == "infected.pdf"
    assert found["found"].startswith(SIGNATURE)
    # erin administers Central Bedfordshire; bob was on the page and read why.
    assert set(told(Notification.Kind.VIRUS_FOUND)) == {story.erin.email}


# -- the scanner down, slow or missing -----------------------------------------------------------


def test_a_stopped_scanner_leaves_the_upload_in_quarantine(story, stopped_scanner, settings):
    action = story.action_in(Action.State.IN_PROGRESS)
    waiting = add_file(story, action, CLEAN)
    assert isinstance(waiting, QuarantinedEvidence)
    assert not Evidence.objects.filter(action=action).exists()
    assert quarantine_storage().exists(waiting.storage_key)
    # Stored apart: nothing under the evidence's own storage.
    assert not [path for path in settings.MEDIA_ROOT.rglob("*") if path.is_file()]


def test_a_scanner_that_never_answers_leaves_the_upload_in_quarantine(story, silent_scanner):
    action = story.action_in(Action.State.IN_PROGRESS)
    assert isinstance(add_file(story, action, CLEAN), QuarantinedEvidence)
    assert not Evidence.objects.filter(action=action).exists()


def test_with_no_scanner_configured_uploads_wait_and_are_never_accepted(story, settings, tmp_path):
    settings.EVIDENCE_SCANNING = True
    settings.CLAMD_URL = ""
    settings.QUARANTINE_ROOT = tmp_path / "quarantine"
    action = story.action_in(Action.State.IN_PROGRESS)
    waiting = add_file(story, action, CLEAN)
    assert isinstance(waiting, QuarantinedEvidence)
    assert quarantined_evidence_scan(item_id=waiting.pk) == QuarantineOutcome.WAITING
    assert not Evidence.objects.filter(action=action).exists()


def test_a_later_scan_accepts_a_clean_file_and_tells_the_uploader(
    story, stopped_scanner, scanning, settings, django_capture_on_commit_callbacks
):
    action = story.action_in(Action.State.IN_PROGRESS)
    waiting = add_file(story, action, CLEAN)
    settings.CLAMD_URL = scanning.tcp_url  # clamd is back

    with django_capture_on_commit_callbacks(execute=True):
        assert quarantined_evidence_scan(item_id=waiting.pk) == QuarantineOutcome.ACCEPTED

    [evidence] = Evidence.objects.filter(action=action)
    assert (evidence.original_name, evidence.description) == ("minutes.pdf", "Board minutes")
    assert evidence.uploaded_by == story.bob
    assert evidence.sha256 == hashlib.sha256(CLEAN).hexdigest()
    with evidence.file.open("rb") as stored:
        assert stored.read() == CLEAN
    assert not QuarantinedEvidence.objects.exists()
    assert not quarantine_storage().exists(waiting.storage_key)
    assert set(told(Notification.Kind.EVIDENCE_CHECKED)) == {story.bob.email}


def test_a_later_scan_refuses_a_file_with_a_virus_deletes_it_and_tells_everyone(
    story, stopped_scanner, scanning, settings, django_capture_on_commit_callbacks
):
    action = story.action_in(Action.State.IN_PROGRESS)
    waiting = add_file(story, action, INFECTED, name="infected.pdf")
    settings.CLAMD_URL = scanning.tcp_url

    with django_capture_on_commit_callbacks(execute=True):
        assert quarantined_evidence_scan(item_id=waiting.pk) == QuarantineOutcome.REFUSED

    assert not Evidence.objects.filter(action=action).exists()
    assert not QuarantinedEvidence.objects.exists()
    assert not quarantine_storage().exists(waiting.storage_key)
    [entry] = refusals()
    assert entry.actor is None  # the service found it, not bob
    assert {c["field"]: c["after"] for c in entry.changes}["uploaded_by"] == str(story.bob)
    # The uploader is no longer on the page, so they are told too.
    assert set(told(Notification.Kind.VIRUS_FOUND)) == {story.erin.email, story.bob.email}


def test_a_later_scan_with_the_scanner_still_down_keeps_the_file_waiting(story, stopped_scanner):
    action = story.action_in(Action.State.IN_PROGRESS)
    waiting = add_file(story, action, CLEAN)
    assert quarantined_evidence_scan(item_id=waiting.pk) == QuarantineOutcome.WAITING
    waiting.refresh_from_db()
    assert waiting.attempts == 1
    assert waiting.last_attempt_at is not None
    assert "did not answer" in waiting.last_problem
    assert not Evidence.objects.filter(action=action).exists()
    assert quarantine_storage().exists(waiting.storage_key)


def test_the_scan_task_retries_while_the_scanner_is_down(story, stopped_scanner, settings):
    settings.QUARANTINE_RETRIES = 2
    action = story.action_in(Action.State.IN_PROGRESS)
    waiting = add_file(story, action, CLEAN)
    quarantined_evidence_scan_task.apply(kwargs={"item_id": waiting.pk})
    waiting.refresh_from_db()
    assert waiting.attempts == 3  # the first try and two retries
    assert not Evidence.objects.filter(action=action).exists()


def test_the_scheduled_scan_decides_every_waiting_file_in_every_organisation(
    story, stopped_scanner, scanning, settings
):
    action = story.action_in(Action.State.IN_PROGRESS)
    add_file(story, action, CLEAN, name="clean.pdf")
    add_file(story, action, INFECTED, name="infected.pdf")
    settings.CLAMD_URL = scanning.tcp_url

    assert quarantine_scan() == {QuarantineOutcome.ACCEPTED: 1, QuarantineOutcome.REFUSED: 1}
    assert [e.original_name for e in Evidence.objects.filter(action=action)] == ["clean.pdf"]
    assert not QuarantinedEvidence.objects.exists()


def test_a_file_checked_after_its_action_was_withdrawn_is_not_added(
    story, stopped_scanner, scanning, settings
):
    action = story.action_in(Action.State.IN_PROGRESS)
    waiting = add_file(story, action, CLEAN)
    transition_perform(obj=action, name="withdraw", user=story.alice, comment="Superseded")
    settings.CLAMD_URL = scanning.tcp_url

    assert quarantined_evidence_scan(item_id=waiting.pk) == QuarantineOutcome.DISCARDED
    assert not Evidence.objects.filter(action=action).exists()
    assert not QuarantinedEvidence.objects.exists()
    [note] = Notification.objects.filter(kind=Notification.Kind.EVIDENCE_CHECKED)
    assert note.recipient == story.bob
    assert "not added" in note.title
    assert AuditEntry.objects.filter(summary="Evidence not added after its virus check").exists()


# -- what a file in quarantine means for the workflow --------------------------------------------


def _ready_to_submit(story, action: Action) -> None:
    services.evidence_add_link(
        action=action, by=story.bob, url="https://example.org/minutes", description="Minutes"
    )
    services.action_set_completion_statement(action=action, by=story.bob, text="All done.")


def test_an_action_cannot_be_submitted_while_a_file_waits_for_its_virus_check(
    story, stopped_scanner, scanning, settings
):
    action = story.action_in(Action.State.IN_PROGRESS)
    _ready_to_submit(story, action)
    add_file(story, action, CLEAN)

    with pytest.raises(TransitionRefused, match="waiting for a virus check"):
        transition_perform(obj=action, name="submit_evidence", user=story.bob)
    assert Action.objects.get(pk=action.pk).state == Action.State.IN_PROGRESS

    settings.CLAMD_URL = scanning.tcp_url
    quarantine_scan()
    action = Action.objects.get(pk=action.pk)
    transition_perform(obj=action, name="submit_evidence", user=story.bob)
    assert Action.objects.get(pk=action.pk).state == Action.State.EVIDENCED


def test_files_waiting_for_a_virus_check_are_not_evidence_for_submission(story, stopped_scanner):
    action = story.action_in(Action.State.IN_PROGRESS)
    services.action_set_completion_statement(action=action, by=story.bob, text="All done.")
    add_file(story, action, CLEAN)
    [submit] = [
        t
        for t in transitions_available(obj=action, user=story.bob)
        if t.transition.name == "submit_evidence"
    ]
    assert "Add at least one item of evidence." in submit.missing


def test_a_file_missing_from_the_quarantine_keeps_waiting_with_the_problem_noted(
    story, stopped_scanner, scanning, settings
):
    action = story.action_in(Action.State.IN_PROGRESS)
    waiting = add_file(story, action, CLEAN)
    quarantine_storage().delete(waiting.storage_key)
    settings.CLAMD_URL = scanning.tcp_url

    assert quarantined_evidence_scan(item_id=waiting.pk) == QuarantineOutcome.WAITING
    waiting.refresh_from_db()
    assert "QUARANTINE_ROOT" in waiting.last_problem
    assert not Evidence.objects.filter(action=action).exists()


def test_the_officer_is_told_to_wait_for_the_virus_check_not_to_submit(story, stopped_scanner):
    action = story.action_in(Action.State.IN_PROGRESS)
    _ready_to_submit(story, action)
    add_file(story, action, CLEAN)
    queue = officer_queue(tenant=story.tenant, user=story.bob, today=timezone.localdate())
    [row] = [item for item in queue.items if item.action.pk == action.pk]
    assert "Wait for the virus check of uploaded files" in row.needs
    assert "Submit for sign-off" not in row.needs


def test_an_upload_put_in_quarantine_is_handed_to_the_worker_to_scan_again(
    story, stopped_scanner, settings, django_capture_on_commit_callbacks
):
    # Tasks run in-process in the tests, at once: the worker's first try finds clamd still down.
    settings.QUARANTINE_RETRIES = 0
    action = story.action_in(Action.State.IN_PROGRESS)
    with django_capture_on_commit_callbacks(execute=True):
        waiting = add_file(story, action, CLEAN)
    waiting.refresh_from_db()
    assert waiting.attempts == 1
    assert "did not answer" in waiting.last_problem


def test_files_waiting_are_scanned_every_five_minutes_on_the_schedule_in_the_database():
    # Installed by a data migration; run again here because tests that truncate tables empty
    # the schedule for the tests after them.
    schedule = importlib.import_module("plans.migrations.0010_quarantine_scan_schedule")
    schedule.install(apps, None)

    scheduled = PeriodicTask.objects.get(task="plans.quarantine_scan")
    assert scheduled.enabled
    assert (scheduled.interval.every, scheduled.interval.period) == (300, "seconds")
    celery_app.loader.import_default_modules()
    assert {"plans.quarantine_scan", "plans.quarantined_evidence_scan"} <= set(celery_app.tasks)
