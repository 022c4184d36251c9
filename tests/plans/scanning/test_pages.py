"""What the uploader reads on the action page when the virus scanner refuses a file, accepts it,
or cannot check it yet."""

import html
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from plans.models import Action, Evidence, QuarantinedEvidence
from plans.services import quarantine_scan
from tests.plans.scanning.conftest import CLEAN, INFECTED, SIGNATURE

pytestmark = pytest.mark.django_db


def url(url_name: str, **kwargs) -> str:
    return reverse(url_name, kwargs={"tenant_slug": "central-bedfordshire", **kwargs})


def text(response) -> str:
    content = response.content.decode().split('id="main-content"')[1]
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", content)))


def post_file(client, action: Action, content: bytes, name: str = "minutes.pdf", **kwargs):
    return client.post(
        url("action_evidence", pk=action.pk),
        {
            "evidence-description": "Board minutes",
            "evidence-file": SimpleUploadedFile(name, content, "application/pdf"),
        },
        **kwargs,
    )


def test_a_clean_file_is_added_as_evidence(client, story, scanning):
    action = story.action_in(Action.State.IN_PROGRESS)
    client.force_login(story.bob)
    page = post_file(client, action, CLEAN, follow=True)
    assert "Evidence added." in text(page)
    evidence = Evidence.objects.get(action=action)
    assert url("evidence_download", pk=action.pk, evidence_pk=evidence.pk) in page.content.decode()


def test_a_file_with_a_virus_is_refused_beside_the_field_naming_nothing_internal(
    client, story, scanning
):
    action = story.action_in(Action.State.IN_PROGRESS)
    client.force_login(story.bob)
    response = post_file(client, action, INFECTED, name="infected.pdf")

    assert response.status_code == 400
    page = text(response)
    assert "There is a problem" in page
    assert "The file was not accepted: a virus was found in it." in page
    assert "your organisation's administrators have been told" in page
    assert SIGNATURE not in page
    assert "clamd" not in page.lower()
    assert not Evidence.objects.filter(action=action).exists()
    assert not QuarantinedEvidence.objects.exists()


def test_a_file_the_scanner_cannot_check_is_shown_waiting_and_cannot_be_downloaded(
    client, story, stopped_scanner
):
    action = story.action_in(Action.State.IN_PROGRESS)
    client.force_login(story.bob)
    response = post_file(client, action, CLEAN, name="waiting.pdf", follow=True)

    page = text(response)
    assert "Your file is waiting for a virus check." in page
    waiting = page.split("Waiting for a virus check", 1)[1]
    assert "waiting.pdf Waiting for a virus check Board minutes Uploaded by Bob Officer" in waiting
    assert "No evidence yet." in page
    # No link to download it: the only address under evidence/ is the upload form's.
    main = response.content.decode().split('id="main-content"')[1]
    assert re.findall(r'"[^"]*/evidence/[^"]*"', main) == [
        f'"{url("action_evidence", pk=action.pk)}"'
    ]


def test_the_submit_step_says_to_wait_for_the_virus_check(client, story, stopped_scanner):
    action = story.action_in(Action.State.IN_PROGRESS)
    client.force_login(story.bob)
    client.post(
        url("action_evidence", pk=action.pk),
        {"evidence-description": "Minutes", "evidence-link": "https://example.org/minutes"},
    )
    client.post(url("action_completion", pk=action.pk), {"completion-text": "All done."})
    post_file(client, action, CLEAN)

    response = client.post(url("action_step", pk=action.pk, name="submit_evidence"))
    assert "Wait until the files waiting for a virus check have been checked." in text(response)
    assert Action.objects.get(pk=action.pk).state == Action.State.IN_PROGRESS


def test_once_checked_the_file_is_evidence_on_the_page(
    client, story, stopped_scanner, scanning, settings
):
    action = story.action_in(Action.State.IN_PROGRESS)
    client.force_login(story.bob)
    post_file(client, action, CLEAN, name="waiting.pdf")
    settings.CLAMD_URL = scanning.tcp_url
    quarantine_scan()

    page = client.get(url("action", pk=action.pk))
    assert "Waiting for a virus check" not in text(page)
    evidence = Evidence.objects.get(action=action)
    assert url("evidence_download", pk=action.pk, evidence_pk=evidence.pk) in page.content.decode()


def test_administrators_read_what_was_found_in_the_record_of_changes_and_nobody_else_sees_it(
    client, story, scanning
):
    action = story.action_in(Action.State.IN_PROGRESS)
    client.force_login(story.bob)
    post_file(client, action, INFECTED, name="infected.pdf")

    assert SIGNATURE not in text(client.get(url("action", pk=action.pk)))
    client.force_login(story.erin)
    record = text(client.get(url("audit")))
    assert "Evidence refused: a virus was found" in record
    assert "infected.pdf" in record
    assert SIGNATURE in record
    told = text(client.get(url("notifications")))
    assert "A virus was found in a file uploaded as evidence: 1.1" in told
    assert SIGNATURE not in told
