"""A report published for a meeting is kept byte for byte, with its SHA-256, and downloads the
same later; nobody changes or deletes it, and only managers publish."""

import datetime
import hashlib
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from plans.models import Action, PublishedReport
from plans.reports.publishing import report_publish
from tenants.models import AuditEntry
from tenants.scoping import tenant_scope
from tenants.selectors import history_head_of
from tests.plans.reports.reading import report_footers

TODAY = timezone.localdate


def publish(story, by=None, **overrides) -> PublishedReport:
    values = {
        "plan": story.plan,
        "by": by or story.alice,
        "meeting": "LSCB board",
        "meeting_date": TODAY() + datetime.timedelta(days=7),
        "as_of": TODAY(),
        "format": PublishedReport.Format.CSV,
        "today": TODAY(),
    }
    values.update(overrides)
    return report_publish(**values)


def url(name: str, story, **kwargs) -> str:
    return reverse(name, kwargs={"tenant_slug": story.tenant.slug, **kwargs})


def test_a_published_report_is_stored_with_its_hash_and_recorded(story):
    story.action_in(Action.State.IN_PROGRESS)

    published = publish(story, format=PublishedReport.Format.PDF)

    content = published.file.open("rb").read()
    assert content.startswith(b"%PDF-")
    assert published.sha256 == hashlib.sha256(content).hexdigest()
    assert published.size == len(content)
    assert (published.meeting, published.published_by) == ("LSCB board", story.alice)
    entry = AuditEntry.objects.filter(
        subject_type=AuditEntry.Subject.PLAN, subject_id=story.plan.pk
    ).last()
    assert entry.summary == "Report published for LSCB board"
    assert {c["field"]: c["after"] for c in entry.changes}["sha256"] == published.sha256


@pytest.mark.parametrize("who", ["bob", "carol", "victor"])
def test_only_managers_and_tenant_administrators_publish(story, who):
    with pytest.raises(PermissionDenied, match="Only managers"):
        publish(story, by=getattr(story, who))
    assert not PublishedReport.objects.exists()


def test_a_tenant_administrator_publishes(story):
    assert publish(story, by=story.erin).published_by == story.erin


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"meeting": ""}, "meeting", "Enter the meeting"),
        ({"meeting": "LSCB\x00 board"}, "meeting", "meeting"),
        ({"meeting": "LSCB\nboard"}, "meeting", "one line"),
        ({"meeting": "\u200b"}, "meeting", "Enter the meeting"),
        ({"as_of": TODAY() + datetime.timedelta(days=1)}, "as_of", "today or in the past"),
        (
            {"as_of": TODAY() - datetime.timedelta(days=3), "since": TODAY()},
            "since",
            "before the report's date",
        ),
        ({"format": "exe"}, "format", "Choose PDF, DOCX"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_nothing_is_stored(
    story, overrides, field, message, settings
):
    with pytest.raises(ValidationError) as refused:
        publish(story, **overrides)
    assert message in " ".join(refused.value.message_dict[field])
    assert not PublishedReport.objects.exists()
    media = settings.MEDIA_ROOT / "published"
    assert not media.exists() or not any(media.rglob("*"))


def test_a_published_report_is_never_changed_or_deleted(story):
    published = publish(story)
    published.meeting = "Something else"
    with pytest.raises(ValidationError, match="never changed"):
        published.save()
    with pytest.raises(ValidationError, match="never deleted"):
        published.delete()
    assert PublishedReport.objects.get(pk=published.pk).meeting == "LSCB board"


def test_a_published_report_downloads_byte_for_byte_with_its_hash(client, story):
    story.action_in(Action.State.AGREED)
    published = publish(story, format=PublishedReport.Format.XLSX)
    stored = published.file.open("rb").read()
    # The plan changes after publication: the published copy must not.
    story.action_in(Action.State.SIGNED_OFF, "1.2")

    client.force_login(story.victor)
    response = client.get(
        url("published_report", story, pk=story.plan.pk, published_pk=published.pk)
    )

    body = b"".join(response.streaming_content)
    assert response.status_code == 200
    assert body == stored
    assert response["X-Checksum-SHA256"] == hashlib.sha256(body).hexdigest()
    assert response["Cache-Control"] == "no-store"
    assert published.file_name in response["Content-Disposition"]


def test_the_report_page_lists_published_reports_with_their_hash(client, story):
    published = publish(story)
    client.force_login(story.victor)
    page = client.get(url("report", story, pk=story.plan.pk)).content.decode()
    assert published.sha256 in page
    assert "LSCB board" in page


def test_another_tenants_published_report_answers_404(client, story):
    with tenant_scope(story.other_tenant):
        theirs = report_publish(
            plan=story.other_plan,
            by=story.charlie,
            meeting="CANARY board",
            meeting_date=TODAY(),
            as_of=TODAY(),
            format=PublishedReport.Format.CSV,
            today=TODAY(),
        )
    client.force_login(story.alice)
    for plan_pk in (story.other_plan.pk, story.plan.pk):
        response = client.get(url("published_report", story, pk=plan_pk, published_pk=theirs.pk))
        assert response.status_code == 404


def test_publishing_through_the_page(client, story):
    client.force_login(story.alice)
    as_of = TODAY() - datetime.timedelta(days=1)
    address = url("report_publish", story, pk=story.plan.pk) + f"?as_of={as_of.isoformat()}"

    form = client.get(address)
    response = client.post(
        address,
        {
            "meeting": "Children's Trust board",
            "meeting_date_day": "14",
            "meeting_date_month": "10",
            "meeting_date_year": "2027",
            "format": "docx",
        },
    )

    assert form.status_code == 200
    assert response.status_code == 302
    # Back to the report of the date published, not today's.
    assert response["Location"] == url("report", story, pk=story.plan.pk) + (
        f"?as_of={as_of.isoformat()}"
    )
    published = PublishedReport.objects.get()
    assert (published.as_of, published.format, published.meeting_date) == (
        as_of,
        "docx",
        datetime.date(2027, 10, 14),
    )


def test_a_publish_form_with_mistakes_says_what_to_fix(client, story):
    client.force_login(story.alice)
    response = client.post(
        url("report_publish", story, pk=story.plan.pk),
        {"meeting": "", "meeting_date_day": "31", "meeting_date_month": "2", "format": "pdf"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Enter the meeting" in page
    assert "Enter a real date" in page
    assert not PublishedReport.objects.exists()


def test_the_publish_page_is_refused_to_an_officer(client, story):
    client.force_login(story.bob)
    assert client.get(url("report_publish", story, pk=story.plan.pk)).status_code == 403


@pytest.mark.parametrize("fmt", ["pdf", "docx", "xlsx", "csv"])
def test_a_published_report_prints_the_history_chain_head_as_the_file_was_made(story, fmt):
    story.action_in(Action.State.IN_PROGRESS)
    head = history_head_of(tenant_id=story.tenant.pk)

    published = publish(story, format=fmt)

    footers = report_footers(fmt, published.file.open("rb").read())
    assert f"History chain head when made: {head.position}:{head.hash}" in footers
    # The publication's own rows come after the head it prints, and the head is in the chain.
    published = PublishedReport.objects.get(pk=published.pk)
    assert published.chain_position == head.position + 1
    out = io.StringIO()
    call_command("audit_verify", "--tenant", story.tenant.slug, "--head", str(head), stdout=out)
    assert f"head {head} is in the chain" in out.getvalue()


def test_a_published_csv_imports_back_without_its_footer(story):
    from plans.imports.services import plan_file_read
    from tests.plans.imports.helpers import upload

    story.action_in(Action.State.IN_PROGRESS)
    published = publish(story, format=PublishedReport.Format.CSV)
    content = published.file.open("rb").read()
    assert content.decode("utf-8-sig").rstrip().splitlines()[-1].startswith("History chain head")

    read = plan_file_read(file=upload(content, "published.csv"))

    assert read.ok, read.problems
    assert read.rows == 1
