"""Evidence uploads: size, type and name are checked, and a refusal stores nothing."""

import hashlib

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from plans import services
from plans.models import Action, Evidence

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def upload(name="minutes.pdf", content=PDF, content_type="application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def test_pdf_evidence_is_stored_with_its_hash_size_and_type(story):
    action = story.action_in(Action.State.IN_PROGRESS)
    evidence = services.evidence_add_file(
        action=action, by=story.bob, upload=upload(), description="LSCB minutes"
    )
    assert evidence.sha256 == hashlib.sha256(PDF).hexdigest()
    assert evidence.size == len(PDF)
    assert evidence.content_type == "application/pdf"
    assert evidence.original_name == "minutes.pdf"
    assert "minutes" not in evidence.file.name  # stored under a random name
    with evidence.file.open("rb") as stored:
        assert stored.read() == PDF


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("virus.exe", b"MZ\x90\x00", "not accepted"),
        ("report.pdf", b"<html>not a pdf</html>", "not a genuine PDF"),
        ("photo.png", PDF, "not a genuine PNG"),
        ("notes.txt", b"text\x00with nul", "not plain text"),
        ("empty.pdf", b"", "empty"),
        ("noextension", b"hello", "not accepted"),
        ("a" * 200 + ".pdf", PDF, "keep it to 150"),
        ("bad\x07name.pdf", PDF, "control characters"),
    ],
)
def test_unacceptable_uploads_are_refused_and_store_nothing(story, name, content, message):
    action = story.action_in(Action.State.IN_PROGRESS)
    with pytest.raises(ValidationError, match=message):
        services.evidence_add_file(
            action=action, by=story.bob, upload=upload(name, content), description="Evidence"
        )
    assert not Evidence.objects.exists()


def test_oversized_upload_is_refused(story, settings):
    settings.EVIDENCE_MAX_BYTES = 1024
    action = story.action_in(Action.State.IN_PROGRESS)
    with pytest.raises(ValidationError, match="can be at most"):
        services.evidence_add_file(
            action=action,
            by=story.bob,
            upload=upload(content=PDF + b"0" * 2000),
            description="Too big",
        )
    assert not Evidence.objects.exists()


def test_evidence_needs_a_description(story):
    action = story.action_in(Action.State.IN_PROGRESS)
    with pytest.raises(ValidationError, match="what the evidence shows"):
        services.evidence_add_file(action=action, by=story.bob, upload=upload(), description=" ")
    assert not Evidence.objects.exists()


@pytest.mark.parametrize("url", ["javascript:alert(1)", "ftp://x.org/a", "not a url", ""])
def test_links_must_be_web_addresses(story, url):
    action = story.action_in(Action.State.IN_PROGRESS)
    with pytest.raises(ValidationError, match="web address"):
        services.evidence_add_link(action=action, by=story.bob, url=url, description="Link")
    assert not Evidence.objects.exists()


def test_viewer_cannot_add_evidence(story):
    action = story.action_in(Action.State.IN_PROGRESS)
    with pytest.raises(PermissionDenied):
        services.evidence_add_file(
            action=action, by=story.victor, upload=upload(), description="Minutes"
        )
    assert not Evidence.objects.exists()


def test_no_evidence_can_be_added_to_a_signed_off_action(story):
    action = story.action_in(Action.State.SIGNED_OFF)
    before = Evidence.objects.count()
    with pytest.raises(ValidationError, match="reopen it"):
        services.evidence_add_link(
            action=action, by=story.bob, url="https://example.org/late", description="Late"
        )
    assert Evidence.objects.count() == before
