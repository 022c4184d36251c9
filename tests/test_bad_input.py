"""Bad text gets a clear message and changes nothing: through every form that takes text, and
through the services that the other ways in (the operator's admin, imports) reach. A request
body larger than any form needs is refused before it is read."""

import datetime
import re
from io import BytesIO

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from notifications.models import EscalationPolicy, Message
from notifications.services import escalation_policy_update
from plans import services
from plans.models import Action, ActionPlan, Evidence, Framework, ProgressUpdate
from tenants import services as tenant_services
from tenants.models import AuditEntry, Invitation, SignOffBody, User
from tests.tenants.factories import with_second_factor
from workflow.models import Approval, TransitionLog
from workflow.services import TransitionRefused, transition_perform

State = Action.State
SLUG = "central-bedfordshire"
NUL = "No longer\x00needed"
ESCAPE = "No longer \x1b[31mneeded"
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"


def url(url_name: str, **kwargs) -> str:
    return reverse(url_name, kwargs={"tenant_slug": SLUG, **kwargs})


def errors(response) -> list[str]:
    """The error summary's messages."""
    summary = response.content.decode().split('govuk-error-summary__list">')[1]
    summary = summary.split("</ul>")[0]
    return [
        re.sub(r"<[^>]+>", "", item).strip().replace("&quot;", '"').replace("&#x27;", "'")
        for item in re.findall(r"<li>(.*?)</li>", summary, re.S)
    ]


def snapshot(action: Action) -> dict:
    """Everything a refused write must leave as it was."""
    action = Action.objects.get(pk=action.pk)
    return {
        "fields": {
            name: getattr(action, name)
            for name in ("reference", "title", "description", "completion_statement", "state")
        },
        "logs": TransitionLog.objects.filter(object_id=action.pk).count(),
        "approvals": Approval.objects.filter(object_id=action.pk).count(),
        "audit": AuditEntry.objects.filter(subject_id=action.pk).count(),
        "progress": ProgressUpdate.objects.filter(action=action).count(),
        "evidence": Evidence.objects.filter(action=action).count(),
        "messages": Message.objects.count(),
    }


# -- the action form -------------------------------------------------------------------------


def action_form(**changes) -> dict:
    data = {
        "reference": "2.1",
        "title": "Audit strategy discussions",
        "description": "",
        "due_date_day": "",
        "due_date_month": "",
        "due_date_year": "",
    }
    data.update(changes)
    return data


BAD_ACTION_DETAILS = [
    ("title", "Audit strategy\ndiscussions", "The title must be on one line."),
    ("title", "Audit\r\nstrategy", "The title must be on one line."),
    ("title", "Audit\x00strategy", "Remove the control characters from the title."),
    ("title", "Audit\tstrategy", "Remove the tab characters from the title."),
    ("title", ZERO_WIDTH, "Enter a title for the action."),
    ("title", "x" * 301, "The title must be 300 characters or fewer; it has 301."),
    ("reference", "2.\n1", "The reference must be on one line."),
    ("reference", "2.1\x07", "Remove the control characters from the reference."),
    ("reference", "\u200b", 'Enter a reference, for example "3.2".'),
    (
        "reference",
        "2.1.1.1.1.1.1.1.1.1.1",
        "The reference must be 20 characters or fewer; it has 21.",
    ),
    ("description", "Audit\x00", "Remove the control characters from the description."),
    ("description", "x" * 5001, "The description must be 5000 characters or fewer; it has 5001."),
]


@pytest.mark.parametrize(("field", "value", "message"), BAD_ACTION_DETAILS)
def test_a_new_action_with_bad_text_is_refused_with_a_message(client, story, field, value, message):
    client.force_login(story.alice)
    before = Action.objects.count()

    response = client.post(url("action_new", pk=story.plan.pk), action_form(**{field: value}))

    assert response.status_code == 400
    assert errors(response) == [message]
    assert Action.objects.count() == before


@pytest.mark.parametrize(("field", "value", "message"), BAD_ACTION_DETAILS)
def test_changing_an_action_to_bad_text_is_refused_and_changes_nothing(
    client, story, field, value, message
):
    action = story.action("2.1")
    before = snapshot(action)
    client.force_login(story.alice)

    response = client.post(url("action_edit", pk=action.pk), action_form(**{field: value}))

    assert response.status_code == 400
    assert errors(response) == [message]
    assert snapshot(action) == before


def test_a_description_keeps_its_line_breaks_and_loses_invisible_ends(client, story):
    client.force_login(story.alice)
    response = client.post(
        url("action_new", pk=story.plan.pk),
        action_form(title="\u200bAudit strategy ", description="First.\r\n\r\nSecond.\u200b"),
    )
    assert response.status_code == 302
    action = Action.objects.get(reference="2.1")
    assert (action.title, action.description) == ("Audit strategy", "First.\r\n\r\nSecond.")


def test_a_description_of_invisible_characters_only_is_saved_empty(client, story):
    client.force_login(story.alice)
    client.post(url("action_new", pk=story.plan.pk), action_form(description=ZERO_WIDTH))
    assert Action.objects.get(reference="2.1").description == ""


def test_a_change_reason_with_a_nul_byte_is_refused_and_changes_nothing(client, story):
    action = story.action("2.1")
    before = snapshot(action)
    client.force_login(story.alice)

    response = client.post(
        url("action_edit", pk=action.pk), action_form(title="Clearer", reason="Clearer\x00")
    )

    assert response.status_code == 400
    assert errors(response) == ["Remove the control characters from the reason for the change."]
    assert snapshot(action) == before


def test_an_invisible_reason_does_not_explain_a_later_due_date(story):
    action = story.action(due_date=datetime.date(2027, 3, 1))
    before = snapshot(action)
    assert field_errors(
        lambda: services.action_update(
            action=action, by=story.alice, due_date=datetime.date(2027, 6, 1), reason=ZERO_WIDTH
        )
    ) == {"reason": ["Say why the due date moves later: the board will read it in the history."]}
    assert snapshot(action) == before


# -- what is reported on an action -----------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (NUL, "Remove the control characters from the progress update."),
        (ESCAPE, "Remove the control characters from the progress update."),
        (ZERO_WIDTH, "Describe the progress made."),
        (" \u200b\n\u3000", "Describe the progress made."),
        ("x" * 5001, "The progress update must be 5000 characters or fewer; it has 5001."),
    ],
)
def test_a_progress_update_with_bad_text_is_refused(client, story, value, message):
    action = story.action_in(State.IN_PROGRESS)
    before = snapshot(action)
    client.force_login(story.bob)

    response = client.post(
        url("action_progress", pk=action.pk), {"progress-text": value, "progress-rag": "green"}
    )

    assert response.status_code == 400
    assert errors(response) == [message]
    assert snapshot(action) == before


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"evidence-description": "Board\nminutes"},
            "The description of the evidence must be on one line.",
        ),
        (
            {"evidence-description": "Board\x00minutes"},
            "Remove the control characters from the description of the evidence.",
        ),
        ({"evidence-description": ZERO_WIDTH}, "Say what the evidence shows."),
        (
            {"evidence-description": "x" * 501},
            "The description of the evidence must be 500 characters or fewer; it has 501.",
        ),
        (
            {"evidence-link": "https://example.org/\nminutes.pdf"},
            "The web address must be on one line.",
        ),
        (
            {"evidence-link": "https://example.org/\x00minutes.pdf"},
            "Remove the control characters from the web address.",
        ),
    ],
)
def test_evidence_with_bad_text_is_refused(client, story, data, message):
    action = story.action_in(State.IN_PROGRESS)
    before = snapshot(action)
    client.force_login(story.bob)
    form = {"evidence-description": "Board minutes", "evidence-link": "https://example.org/m.pdf"}

    response = client.post(url("action_evidence", pk=action.pk), {**form, **data})

    assert response.status_code == 400
    assert errors(response) == [message]
    assert snapshot(action) == before


def test_uploaded_evidence_with_a_bad_description_stores_no_file(client, story):
    action = story.action_in(State.IN_PROGRESS)
    before = snapshot(action)
    client.force_login(story.bob)
    upload = SimpleUploadedFile("minutes.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")

    response = client.post(
        url("action_evidence", pk=action.pk),
        {"evidence-description": "Minutes\x00", "evidence-file": upload},
    )

    assert response.status_code == 400
    assert errors(response) == [
        "Remove the control characters from the description of the evidence."
    ]
    assert snapshot(action) == before


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (NUL, "Remove the control characters from the completion statement."),
        (ZERO_WIDTH, "Write the completion statement."),
        ("x" * 5001, "The completion statement must be 5000 characters or fewer; it has 5001."),
    ],
)
def test_a_completion_statement_with_bad_text_is_refused(client, story, value, message):
    action = story.action_in(State.IN_PROGRESS)
    services.action_set_completion_statement(action=action, by=story.bob, text="First draft.")
    before = snapshot(action)
    client.force_login(story.bob)

    response = client.post(url("action_completion", pk=action.pk), {"completion-text": value})

    assert response.status_code == 400
    assert errors(response) == [message]
    assert snapshot(action) == before


# -- reasons and comments on workflow steps --------------------------------------------------


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (NUL, "Remove the control characters from the reason."),
        (ESCAPE, "Remove the control characters from the reason."),
        ("\u200b", "Give a reason to withdraw."),
        (ZERO_WIDTH, "Give a reason to withdraw."),
        ("\u00a0\u2060 \n\t", "Give a reason to withdraw."),
        ("x" * 2001, "The reason must be 2000 characters or fewer; it has 2001."),
    ],
)
def test_a_step_with_a_bad_reason_is_a_form_error_that_changes_nothing(
    client, story, value, message
):
    action = story.action_in(State.AGREED)
    before = snapshot(action)
    client.force_login(story.alice)

    response = client.post(url("action_step", pk=action.pk, name="withdraw"), {"comment": value})

    assert response.status_code == 400
    assert errors(response) == [message]
    assert snapshot(action) == before


def test_an_optional_comment_with_a_nul_byte_is_refused_and_no_approval_recorded(client, story):
    action = story.action_in(State.EVIDENCED)
    before = snapshot(action)
    client.force_login(story.carol)

    response = client.post(
        url("action_step", pk=action.pk, name="sign_off"), {"comment": "Agreed\x00"}
    )

    assert response.status_code == 400
    assert errors(response) == ["Remove the control characters from the comment."]
    assert snapshot(action) == before


def test_a_plan_returned_with_an_invisible_reason_stays_submitted(client, story):
    story.action()
    transition_perform(obj=story.plan, name="submit", user=story.alice)
    client.force_login(story.dave)

    response = client.post(
        url("plan_step", pk=story.plan.pk, name="send_back"), {"comment": "\u200b"}
    )

    assert response.status_code == 400
    assert errors(response) == ["Give a reason to return for redrafting."]
    assert ActionPlan.objects.get(pk=story.plan.pk).state == ActionPlan.State.SUBMITTED


def test_a_reason_with_line_breaks_is_kept_as_written(client, story):
    action = story.action_in(State.AGREED)
    client.force_login(story.alice)
    client.post(
        url("action_step", pk=action.pk, name="withdraw"),
        {"comment": "\u200bSuperseded.\r\nSee 4.1.\u200b"},
    )
    [log] = TransitionLog.objects.filter(object_id=action.pk, transition="withdraw")
    assert log.comment == "Superseded.\r\nSee 4.1."


# -- the plan page's search ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("q", "message"),
    [
        ("audit\x00", "Remove the control characters from the search."),
        ("audit\nstrategy", "The search must be on one line."),
        ("x" * 201, "The search must be 200 characters or fewer; it has 201."),
    ],
)
def test_a_bad_search_is_explained_and_the_list_is_left_unfiltered(client, story, q, message):
    story.action("1.1", title="Audit strategy")
    story.action("1.2", title="Training")
    client.force_login(story.alice)

    response = client.get(url("plan", pk=story.plan.pk), {"q": q})

    assert response.status_code == 400
    assert errors(response) == [message]
    actions = response.context["actions"]
    assert actions.matching == actions.total == 2


def test_a_bad_search_of_the_record_of_changes_is_explained(client, story):
    story.action()
    client.force_login(story.erin)

    response = client.get(url("audit"), {"q": "audit\x00"})

    assert response.status_code == 400
    assert errors(response) == ["Remove the control characters from the search."]


# -- escalation settings and accounts --------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("notify_template_id", "f33517ff\n-2a88", "The template ID must be on one line."),
        (
            "notify_template_id",
            "f33517ff\x00",
            "Remove the control characters from the template ID.",
        ),
        ("notify_api_key", "key\r\nX-Injected: 1", "The API key must be on one line."),
    ],
)
def test_escalation_settings_with_bad_text_are_refused(client, story, field, value, message):
    client.force_login(story.erin)
    data = {
        "reminder_days_before": "5",
        "overdue_days": "1",
        "managers_days": "10",
        "chair_days": "20",
        "sign_off_waiting_days": "10",
        "channel": "notify",
        "notify_api_key": "a-live-key",
        "notify_template_id": "f33517ff-2a88-4f6e-b855-c550268ce08a",
        field: value,
    }

    response = client.post(url("escalation_settings"), data)

    assert response.status_code == 400
    assert message in errors(response)
    assert not EscalationPolicy.objects.filter(tenant=story.tenant).exists()


@pytest.mark.parametrize(
    ("login", "password"), [("bob@example.org\x00", "x"), ("bob@example.org", "pass\x00word")]
)
def test_a_nul_byte_in_the_sign_in_form_is_refused_without_signing_in(
    client, story, login, password
):
    response = client.post(reverse("account_login"), {"login": login, "password": password})
    assert response.status_code == 200
    assert "There is a problem" in response.content.decode()
    assert "_auth_user_id" not in client.session


def test_a_nul_byte_in_the_password_reset_form_is_refused(client, story, mailoutbox):
    response = client.post(reverse("account_reset_password"), {"email": "bob\x00@example.org"})
    assert response.status_code == 200
    assert "There is a problem" in response.content.decode()
    assert mailoutbox == []


# -- the operator's admin, through the models' validators ------------------------------------


@pytest.fixture
def operator(db) -> User:
    return User.objects.create_user(
        "olive@example.org", "a long passphrase", full_name="Olive Operator", is_superuser=True
    )


def test_the_admin_refuses_an_action_title_on_two_lines(client, story, operator):
    operator.is_staff = True
    operator.save()
    with_second_factor(operator)
    action = story.action()
    before = snapshot(action)
    client.force_login(operator)

    response = client.post(
        reverse("admin:plans_action_change", args=[action.pk]),
        {
            "plan": story.plan.pk,
            "reference": action.reference,
            "title": "Audit\nstrategy",
            "lead_officer": story.bob.pk,
            "lead_partner": story.police.pk,
            "sign_off_body": story.lscb.pk,
            "due_date": action.due_date.isoformat(),
        },
    )

    assert response.status_code == 200
    assert "This text must be on one line." in response.content.decode()
    assert snapshot(action) == before


def test_the_admin_refuses_a_person_whose_name_is_invisible(client, story, operator):
    operator.is_staff = True
    operator.save()
    with_second_factor(operator)
    client.force_login(operator)

    response = client.post(
        reverse("admin:tenants_user_add"),
        {
            "email": "new.person@example.org",
            "full_name": "\u200b\u200b",
            "usable_password": "true",
            "password1": "a long and unusual passphrase",
            "password2": "a long and unusual passphrase",
        },
    )

    assert response.status_code == 200
    assert "only spaces or invisible characters" in response.content.decode()
    assert not User.objects.filter(email="new.person@example.org").exists()


# -- the services, called directly -----------------------------------------------------------


@pytest.mark.parametrize(
    ("comment", "message"),
    [
        (NUL, "Remove the control characters from the reason."),
        ("\u200b", "Give a reason to withdraw."),
        (ZERO_WIDTH + " \n", "Give a reason to withdraw."),
        ("x" * 2001, "The reason must be 2000 characters or fewer; it has 2001."),
    ],
)
def test_the_transition_service_refuses_a_bad_reason_and_changes_nothing(story, comment, message):
    action = story.action_in(State.AGREED)
    before = snapshot(action)

    with pytest.raises(TransitionRefused) as refused:
        transition_perform(obj=action, name="withdraw", user=story.alice, comment=comment)

    assert str(refused.value) == message
    assert snapshot(action) == before


def test_the_transition_service_refuses_a_nul_byte_in_an_optional_comment(story):
    action = story.action_in(State.EVIDENCED)
    before = snapshot(action)

    with pytest.raises(TransitionRefused, match="Remove the control characters from the comment"):
        transition_perform(obj=action, name="sign_off", user=story.carol, comment="Fine\x00")

    assert snapshot(action) == before


def test_the_transition_service_trims_invisible_characters_from_a_reason(story):
    action = story.action_in(State.AGREED)
    outcome = transition_perform(
        obj=action, name="withdraw", user=story.alice, comment="\ufeffSuperseded by 4.1.\u200b"
    )
    assert outcome.log.comment == "Superseded by 4.1."


def field_errors(call) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as refused:
        call()
    return refused.value.message_dict


def test_action_create_refuses_bad_texts_keyed_by_field(story):
    before = Action.objects.count()
    assert field_errors(
        lambda: services.action_create(
            plan=story.plan,
            by=story.alice,
            reference="2.\x001",
            title="Audit\nstrategy",
            description="x" * 5001,
        )
    ) == {
        "reference": ["Remove the control characters from the reference."],
        "title": ["The title must be on one line."],
        "description": ["The description must be 5000 characters or fewer; it has 5001."],
    }
    assert Action.objects.count() == before


def test_action_update_refuses_bad_texts_and_records_nothing(story):
    action = story.action()
    before = snapshot(action)
    assert field_errors(
        lambda: services.action_update(
            action=action, by=story.alice, title=ZERO_WIDTH, description="Why\x00"
        )
    ) == {
        "title": ["Enter a title for the action."],
        "description": ["Remove the control characters from the description."],
    }
    assert snapshot(action) == before


def test_progress_add_refuses_an_invisible_update(story):
    action = story.action_in(State.IN_PROGRESS)
    before = snapshot(action)
    assert field_errors(
        lambda: services.progress_add(action=action, author=story.bob, text=ZERO_WIDTH, rag="red")
    ) == {"text": ["Describe the progress made."]}
    assert snapshot(action) == before


def test_evidence_services_refuse_bad_descriptions_and_links(story):
    action = story.action_in(State.IN_PROGRESS)
    before = snapshot(action)
    assert field_errors(
        lambda: services.evidence_add_link(
            action=action,
            by=story.bob,
            url="https://example.org/\r\nm.pdf",
            description="Board\nminutes",
        )
    ) == {
        "description": ["The description of the evidence must be on one line."],
        "link": ["The web address must be on one line."],
    }
    upload = SimpleUploadedFile("minutes.pdf", b"%PDF-1.4\n%%EOF\n", "application/pdf")
    assert field_errors(
        lambda: services.evidence_add_file(
            action=action, by=story.bob, upload=upload, description="\u200b"
        )
    ) == {"description": ["Say what the evidence shows."]}
    assert snapshot(action) == before


def test_completion_statement_service_refuses_control_characters(story):
    action = story.action_in(State.IN_PROGRESS)
    before = snapshot(action)
    assert field_errors(
        lambda: services.action_set_completion_statement(
            action=action, by=story.bob, text="Done\x1b"
        )
    ) == {"text": ["Remove the control characters from the completion statement."]}
    assert snapshot(action) == before


def test_an_invisible_completion_statement_does_not_let_evidence_be_submitted(story):
    action = story.action_in(State.IN_PROGRESS)
    services.evidence_add_link(
        action=action, by=story.bob, url="https://example.org/m.pdf", description="Minutes"
    )
    # Written before the rules existed, or straight into the database.
    Action.objects.filter(pk=action.pk).update(completion_statement="\u200b")

    with pytest.raises(TransitionRefused, match="Write a completion statement"):
        transition_perform(obj=action, name="submit_evidence", user=story.bob)


def test_a_plan_title_on_two_lines_is_refused(story):
    before = ActionPlan.objects.count()
    assert field_errors(
        lambda: services.action_plan_create(
            tenant=story.tenant,
            framework=story.framework,
            title="Laming\nplan",
            owner_body=story.executive,
        )
    ) == {"title": ["The plan's title must be on one line."]}
    assert ActionPlan.objects.count() == before


def test_escalation_policy_service_refuses_a_key_on_two_lines(story):
    assert field_errors(
        lambda: escalation_policy_update(
            tenant=story.tenant,
            by=story.erin,
            channel="notify",
            notify_template_id="f33517ff-2a88-4f6e-b855-c550268ce08a",
            notify_api_key="key\nX-Injected: 1",
        )
    ) == {"notify_api_key": ["The API key must be on one line."]}
    assert not EscalationPolicy.objects.filter(tenant=story.tenant).exists()


def test_names_that_reach_e_mails_must_be_on_one_line(story):
    body = SignOffBody(
        tenant=story.tenant, name="LSCB\nboard", kind="lscb_board", group=story.lscb.group
    )
    assert field_errors(lambda: body.full_clean(exclude=["group"])) == {
        "name": ["This text must be on one line."]
    }


# -- e-mails about an action ----------------------------------------------------------------


def test_a_title_on_two_lines_never_reaches_an_e_mail_subject(
    story, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(ValidationError):
        story.action(title="Audit strategy\ndiscussions")
    assert Message.objects.count() == 0

    with django_capture_on_commit_callbacks(execute=True):
        story.action(title="Audit strategy discussions")  # bob is told he leads it

    [message] = Message.objects.all()
    assert message.status == Message.Status.SENT
    [email] = mailoutbox
    assert "Audit strategy discussions" in email.subject


# -- request bodies --------------------------------------------------------------------------


class Unreadable(BytesIO):
    """A request body that fails the test if anything reads it."""

    def read(self, *args, **kwargs):
        raise AssertionError("the body was read")

    readline = read


def test_a_body_larger_than_the_service_accepts_gets_413_before_it_is_read(client, story, settings):
    action = story.action_in(State.IN_PROGRESS)
    before = snapshot(action)
    client.force_login(story.bob)
    declared = settings.REQUEST_BODY_MAX_BYTES + 1

    response = client.generic(
        "POST",
        url("action_evidence", pk=action.pk),
        content_type="multipart/form-data; boundary=BoUnDaRy",
        CONTENT_LENGTH=str(declared),
        **{"wsgi.input": Unreadable()},
    )

    assert response.status_code == 413
    content = response.content.decode()
    assert "The file is too large" in content
    assert "Evidence files can be at most 20.0\xa0MB;" in content
    assert snapshot(action) == before


def test_a_framework_file_too_large_for_any_form_gets_413_and_imports_nothing(client, story):
    client.force_login(story.erin)
    upload = SimpleUploadedFile("big.csv", b"x" * (30 * 1024 * 1024), "text/csv")

    response = client.post(
        url("framework_import"), {"title": "SCR Child H", "short_name": "scr-h", "file": upload}
    )

    assert response.status_code == 413
    assert "The file is too large" in response.content.decode()
    assert not Framework.objects.filter(short_name="scr-h").exists()


def test_the_limit_is_an_evidence_file_at_its_limit_with_room_for_the_form(settings):
    assert settings.REQUEST_BODY_MAX_BYTES > settings.EVIDENCE_MAX_BYTES
    # Only the Content-Security-Policy comes before it: it reads nothing of the request, and so
    # the 413 page carries the policy like every other.
    assert settings.MIDDLEWARE[:2] == [
        "csp.middleware.CSPMiddleware",
        "tenants.middleware.RequestBodyLimitMiddleware",
    ]


def test_a_body_within_the_limit_reaches_the_page(client, story, settings):
    settings.REQUEST_BODY_MAX_BYTES = 4096
    action = story.action_in(State.IN_PROGRESS)
    client.force_login(story.bob)

    small = client.post(
        url("action_progress", pk=action.pk),
        {"progress-text": "On track.", "progress-rag": "green"},
    )
    large = client.post(
        url("action_progress", pk=action.pk),
        {"progress-text": "x" * 5000, "progress-rag": "green"},
    )

    assert small.status_code == 302
    assert large.status_code == 413
    assert "frame-ancestors 'none'" in large["Content-Security-Policy"]
    assert ProgressUpdate.objects.filter(action=action).count() == 1


def test_an_invitation_to_a_name_on_two_lines_is_refused_and_sends_nothing(story, mailoutbox):
    assert field_errors(
        lambda: tenant_services.invitation_create(
            tenant=story.tenant,
            by=story.erin,
            email="new.person@example.org",
            full_name="New\nPerson",
            role="officer",
        )
    ) == {"full_name": ["The full name must be on one line."]}
    assert not Invitation.objects.filter(email="new.person@example.org").exists()
    assert mailoutbox == []
