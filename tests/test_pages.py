import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from plans.models import Action, ActionPlan, Evidence, ProgressUpdate
from plans.services import evidence_add_file, progress_add
from tenants.models import Membership
from tenants.scoping import tenant_scope
from tenants.services import membership_add, sign_off_body_set_quorum
from tests.conftest import evidence_count
from workflow.models import TransitionLog

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def url(url_name: str, **kwargs) -> str:
    return reverse(url_name, kwargs={"tenant_slug": "central-bedfordshire", **kwargs})


def offered(response, name: str) -> bool:
    """Whether the page has a button for the workflow step ``name``."""
    return f'/steps/{name}/"' in response.content.decode()


def pdf(name: str = "minutes.pdf", content: bytes = PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def take(client, user, action: Action, name: str, comment: str = ""):
    client.force_login(user)
    return client.post(url("action_step", pk=action.pk, name=name), {"comment": comment})


def reload(action: Action) -> Action:
    return Action.objects.get(pk=action.pk)


# -- signing in and choosing an organisation -------------------------------------------------


def test_home_redirects_a_member_of_one_tenant_to_its_home(client, story):
    client.force_login(story.bob)
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"] == url("tenant_home")


def test_home_lists_every_tenant_of_a_member_of_several(client, story):
    with tenant_scope(story.other_tenant):
        membership_add(tenant=story.other_tenant, user=story.bob, role=Membership.Role.VIEWER)
    client.force_login(story.bob)
    response = client.get(reverse("home"))
    content = response.content.decode()
    assert response.status_code == 200
    assert "Central Bedfordshire Council" in content
    assert "Sunderland Children&#x27;s Trust" in content


def test_home_needs_sign_in(client, db):
    response = client.get(reverse("home"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_tenant_pages_send_anonymous_people_to_sign_in(client, story):
    response = client.get(url("plans"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_someone_from_another_tenant_gets_not_found(client, story):
    client.force_login(story.charlie)
    assert client.get(url("plans")).status_code == 404
    assert client.get(url("plan", pk=story.plan.pk)).status_code == 404


# -- plans -----------------------------------------------------------------------------------


def test_plans_page_lists_the_tenants_plans_only(client, story):
    client.force_login(story.victor)
    response = client.get(url("plans"))
    content = response.content.decode()
    assert "Laming action plan" in content
    assert "Executive" in content
    assert "Draft" in content
    assert "CANARY" not in content
    assert "Central Bedfordshire Council" in content
    assert "Read-only viewer" in content


def test_plan_page_groups_actions_with_their_rag_and_latest_progress(client, story):
    overdue = story.action_in(
        Action.State.IN_PROGRESS, "1.2", due_date=datetime.date(2010, 3, 12), title="Audit files"
    )
    progress_add(
        action=overdue, author=story.bob, text="Half the files audited. " * 20, rag="amber"
    )
    story.action("1.1", recommendations=[], title="Unlinked action")
    client.force_login(story.victor)

    response = client.get(url("plan", pk=story.plan.pk))

    content = response.content.decode()
    assert response.status_code == 200
    assert "Theme 1: Leadership and accountability" in content
    assert f"Recommendation {story.recommendation.number}<" in content
    assert "Actions not yet linked to a recommendation" in content
    assert "12 Mar 2010" in content
    assert '<strong class="govuk-tag govuk-tag--red">Red</strong>' in content
    assert '<strong class="govuk-tag govuk-tag--orange">Amber</strong>' in content
    assert "Half the files audited." in content
    assert "Half the files audited. " * 20 not in content
    assert "Bob Officer" in content and "Bedfordshire Police" in content
    assert "Add an action" not in content


def test_viewer_is_offered_no_plan_steps(client, story):
    story.action()
    client.force_login(story.victor)
    response = client.get(url("plan", pk=story.plan.pk))
    steps = response.content.decode().split('id="steps-heading"')[1].split("</section>")[0]
    assert "<button" not in steps
    assert "govuk-button" not in steps.replace("govuk-button-group", "")
    assert not any(offered(response, name) for name in ("submit", "endorse", "send_back"))


def test_plan_is_submitted_and_endorsed_through_the_plan_page(client, story):
    story.action()
    client.force_login(story.alice)
    page = client.get(url("plan", pk=story.plan.pk))
    assert offered(page, "submit")

    client.post(url("plan_step", pk=story.plan.pk, name="submit"))
    client.force_login(story.dave)
    page = client.get(url("plan", pk=story.plan.pk))
    assert offered(page, "endorse")
    response = client.post(url("plan_step", pk=story.plan.pk, name="endorse"), follow=True)

    assert ActionPlan.objects.get(pk=story.plan.pk).state == ActionPlan.State.ENDORSED
    assert "This plan is now endorsed." in response.content.decode()


def test_empty_plan_shows_what_is_missing_before_submission(client, story):
    client.force_login(story.alice)
    response = client.get(url("plan", pk=story.plan.pk))
    content = response.content.decode()
    assert not offered(response, "submit")
    assert "Before you can submit for endorsement:" in content
    assert "Add at least one action." in content


# -- the whole journey ------------------------------------------------------------------------


def test_an_action_goes_from_proposed_to_signed_off_entirely_through_the_pages(client, story):
    client.force_login(story.alice)
    response = client.post(
        url("action_new", pk=story.plan.pk),
        {
            "reference": "1.4",
            "title": "Publish the LSCB annual report",
            "recommendations": [story.recommendation.pk],
            "lead_officer": story.bob.pk,
            "lead_partner": story.police.pk,
            "supporting_partners": [story.health.pk],
            "due_date": "2027-03-31",
            "sign_off_body": story.lscb.pk,
        },
    )
    action = Action.objects.get(plan=story.plan, reference="1.4")
    assert response["Location"] == url("action", pk=action.pk)

    page = client.get(url("action", pk=action.pk))
    assert offered(page, "agree")
    take(client, story.alice, action, "agree")

    client.force_login(story.bob)
    assert offered(client.get(url("action", pk=action.pk)), "start")
    take(client, story.bob, action, "start")
    client.post(
        url("action_evidence", pk=action.pk),
        {"evidence-description": "Board minutes approving the report", "evidence-file": pdf()},
    )
    client.post(
        url("action_completion", pk=action.pk),
        {"completion-text": "Published and presented to the board."},
    )
    assert offered(client.get(url("action", pk=action.pk)), "submit_evidence")
    take(client, story.bob, action, "submit_evidence")

    client.force_login(story.carol)
    assert offered(client.get(url("action", pk=action.pk)), "sign_off")
    response = client.post(
        url("action_step", pk=action.pk, name="sign_off"),
        {"comment": "Accepted by the board."},
        follow=True,
    )

    action = reload(action)
    assert action.state == Action.State.SIGNED_OFF
    assert action.completion_statement == "Published and presented to the board."
    content = response.content.decode()
    assert "Sign off: done. This action is now signed off." in content
    assert "Accepted by the board." in content
    assert "minutes.pdf" in content
    logs = TransitionLog.objects.filter(object_id=action.pk).order_by("at", "pk")
    assert [log.transition for log in logs] == [
        "agree",
        "start",
        "submit_evidence",
        "sign_off",
    ]
    assert [log.actor for log in logs] == [story.alice, story.bob, story.bob, story.carol]


# -- what is offered ---------------------------------------------------------------------------


def test_officer_is_not_offered_sign_off(client, story):
    action = story.action_in(Action.State.EVIDENCED)
    client.force_login(story.bob)
    response = client.get(url("action", pk=action.pk))
    assert response.status_code == 200
    assert not offered(response, "sign_off")
    assert not offered(response, "send_back")


def test_viewer_is_offered_no_buttons_or_forms(client, story):
    action = story.action_in(Action.State.IN_PROGRESS)
    client.force_login(story.victor)
    response = client.get(url("action", pk=action.pk))
    content = response.content.decode()
    assert response.status_code == 200
    main = content.split('id="main-content"')[1]
    assert "<button" not in main
    assert "<textarea" not in main
    assert "There is nothing for you to do at this stage." in content


def test_lead_officer_sees_what_is_missing_instead_of_a_submit_button(client, story):
    action = story.action_in(Action.State.IN_PROGRESS)
    client.force_login(story.bob)
    response = client.get(url("action", pk=action.pk))
    content = response.content.decode()
    assert not offered(response, "submit_evidence")
    assert "Before you can submit for sign-off:" in content
    assert "Add at least one item of evidence." in content
    assert "Write a completion statement." in content


def test_whoever_submitted_the_evidence_is_not_offered_sign_off(client, story):
    action = story.action_in(Action.State.IN_PROGRESS)
    # Dave sits on the LSCB board and delivers this action as a delegate.
    client.force_login(story.bob)
    client.post(url("action_delegates", pk=action.pk), {"delegate-user": story.dave.pk})
    client.force_login(story.dave)
    client.post(
        url("action_evidence", pk=action.pk),
        {"evidence-description": "Audit report", "evidence-link": "https://example.org/a"},
    )
    client.post(url("action_completion", pk=action.pk), {"completion-text": "Done."})
    take(client, story.dave, action, "submit_evidence")

    response = client.get(url("action", pk=action.pk))
    assert reload(action).state == Action.State.EVIDENCED
    assert not offered(response, "sign_off")
    assert offered(response, "send_back")


def test_board_needing_two_approvals_counts_them_and_does_not_offer_a_second_vote(client, story):
    sign_off_body_set_quorum(body=story.lscb, quorum=2)
    action = story.action_in(Action.State.EVIDENCED)

    response = take(client, story.carol, action, "sign_off")
    page = client.get(url("action", pk=action.pk))

    assert response.status_code == 302
    assert reload(action).state == Action.State.EVIDENCED
    content = page.content.decode()
    assert "Your approval is recorded: 1 of 2" in content
    assert "1 of 2 approvals" in content
    assert not offered(page, "sign_off")
    assert "You have approved this step" in content

    take(client, story.dave, action, "sign_off")
    assert reload(action).state == Action.State.SIGNED_OFF


# -- refusals leave everything as it was ------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "user", "name", "message"),
    [
        (Action.State.AGREED, "alice", "withdraw", "Give a reason to withdraw."),
        (Action.State.EVIDENCED, "carol", "send_back", "Give a reason to return to in progress."),
    ],
)
def test_a_step_that_needs_a_reason_is_refused_without_one(
    client, story, state, user, name, message
):
    action = story.action_in(state)
    logs_before = TransitionLog.objects.count()

    response = take(client, getattr(story, user), action, name, comment="   ")

    assert response.status_code == 400
    assert reload(action).state == state
    assert TransitionLog.objects.count() == logs_before
    assert message in response.content.decode()
    assert 'role="alert"' in response.content.decode()


def test_withdrawing_with_a_reason_records_it(client, story):
    action = story.action_in(Action.State.AGREED)
    take(client, story.alice, action, "withdraw", comment="Superseded by 4.1")
    assert reload(action).state == Action.State.WITHDRAWN
    assert TransitionLog.objects.get(object_id=action.pk, transition="withdraw").comment == (
        "Superseded by 4.1"
    )


def test_officer_posting_sign_off_anyway_is_refused_and_nothing_changes(client, story):
    action = story.action_in(Action.State.EVIDENCED)
    response = take(client, story.bob, action, "sign_off")
    assert response.status_code == 403
    assert reload(action).state == Action.State.EVIDENCED
    assert "Only a member of the action&#x27;s sign-off body can sign off." in (
        response.content.decode()
    )


def test_unknown_step_is_not_found(client, story):
    action = story.action()
    assert take(client, story.alice, action, "approve_everything").status_code == 404


def test_another_tenants_action_is_not_found_and_cannot_be_changed(client, story):
    other = story.other_action
    client.force_login(story.alice)
    assert client.get(url("action", pk=other.pk)).status_code == 404
    assert client.get(url("action", pk=999999)).status_code == 404
    response = client.post(url("action_step", pk=other.pk, name="agree"))
    assert response.status_code == 404
    with tenant_scope(story.other_tenant):
        assert Action.objects.get(pk=other.pk).state == Action.State.PROPOSED


def test_asking_for_a_step_shows_its_confirmation_and_only_a_post_takes_it(client, story):
    action = story.action()
    client.force_login(story.alice)
    page = client.get(url("action_step", pk=action.pk, name="agree"))
    assert page.status_code == 200
    assert "Agree the action" in page.content.decode()
    assert client.put(url("action_step", pk=action.pk, name="agree")).status_code == 405
    assert reload(action).state == Action.State.PROPOSED


def test_the_older_address_of_a_step_still_takes_it(client, story):
    action = story.action()
    client.force_login(story.alice)
    response = client.post(url("action_transition", pk=action.pk, name="agree"))
    assert response.status_code == 302
    assert reload(action).state == Action.State.AGREED


# -- evidence ---------------------------------------------------------------------------------


def upload(client, story, action, file, description="Board minutes"):
    client.force_login(story.bob)
    return client.post(
        url("action_evidence", pk=action.pk),
        {"evidence-description": description, "evidence-file": file},
    )


def test_oversized_upload_is_refused_with_the_limit(client, story, settings):
    settings.EVIDENCE_MAX_BYTES = 1024
    action = story.action_in(Action.State.IN_PROGRESS)
    response = upload(client, story, action, pdf(content=PDF + b"0" * 2048))
    assert response.status_code == 400
    assert "evidence files can be at most 1.0\xa0KB" in response.content.decode()
    assert evidence_count(action) == 0


def test_executable_upload_is_refused(client, story):
    action = story.action_in(Action.State.IN_PROGRESS)
    exe = SimpleUploadedFile("setup.exe", b"MZ\x90\x00" + b"\x00" * 64)
    response = upload(client, story, action, exe)
    assert response.status_code == 400
    assert "Files of type &#x27;.exe&#x27; are not accepted." in response.content.decode()
    assert evidence_count(action) == 0


def test_pdf_whose_content_is_not_pdf_is_refused(client, story):
    action = story.action_in(Action.State.IN_PROGRESS)
    response = upload(client, story, action, pdf(content=b"<html><script>x</script></html>"))
    assert response.status_code == 400
    assert "not a genuine PDF file" in response.content.decode()
    assert evidence_count(action) == 0


def test_evidence_needs_a_file_or_a_link(client, story):
    action = story.action_in(Action.State.IN_PROGRESS)
    client.force_login(story.bob)
    response = client.post(url("action_evidence", pk=action.pk), {"evidence-description": "x"})
    assert response.status_code == 400
    assert "Choose a file to upload, or give a web address." in response.content.decode()
    assert evidence_count(action) == 0


def test_evidence_can_be_a_link(client, story):
    action = story.action_in(Action.State.IN_PROGRESS)
    client.force_login(story.bob)
    client.post(
        url("action_evidence", pk=action.pk),
        {"evidence-description": "Intranet page", "evidence-link": "https://intranet.example/p"},
    )
    evidence = Evidence.objects.get(action=action)
    assert evidence.link == "https://intranet.example/p"
    page = client.get(url("action", pk=action.pk)).content.decode()
    assert 'href="https://intranet.example/p" rel="noopener noreferrer nofollow"' in page


def test_viewer_cannot_add_evidence(client, story):
    action = story.action_in(Action.State.IN_PROGRESS)
    client.force_login(story.victor)
    response = client.post(
        url("action_evidence", pk=action.pk),
        {"evidence-description": "x", "evidence-file": pdf()},
    )
    assert response.status_code == 302
    assert evidence_count(action) == 0
    assert "Only the lead officer, a delegate or a manager can add evidence." in (
        client.get(response["Location"]).content.decode()
    )


def test_evidence_for_a_signed_off_action_is_refused_with_a_message(client, story):
    action = story.action_in(Action.State.SIGNED_OFF)
    before = evidence_count(action)
    response = upload(client, story, action, pdf())
    assert response.status_code == 302
    assert "This action is signed off; reopen it to add evidence." in (
        client.get(response["Location"]).content.decode()
    )
    assert evidence_count(action) == before


def test_evidence_downloads_as_an_attachment_under_its_original_name(client, story):
    action = story.action_in(Action.State.IN_PROGRESS)
    evidence = evidence_add_file(
        action=action, by=story.bob, upload=pdf("Board minutes.pdf"), description="Minutes"
    )
    client.force_login(story.victor)
    page = client.get(url("action", pk=action.pk)).content.decode()
    download = url("evidence_download", pk=action.pk, evidence_pk=evidence.pk)
    assert f'href="{download}"' in page

    response = client.get(download)

    assert response.status_code == 200
    assert b"".join(response.streaming_content) == PDF
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == 'attachment; filename="Board minutes.pdf"'
    assert response["X-Content-Type-Options"] == "nosniff"


def test_evidence_of_another_tenant_or_another_action_is_not_found(client, story):
    action = story.action_in(Action.State.IN_PROGRESS)
    other_action = story.action("2.1")
    evidence = evidence_add_file(action=action, by=story.bob, upload=pdf(), description="x")
    with tenant_scope(story.other_tenant):
        foreign = evidence_add_file(
            action=story.other_action, by=story.charlie, upload=pdf(), description="CANARY"
        )
    client.force_login(story.alice)

    assert (
        client.get(url("evidence_download", pk=action.pk, evidence_pk=foreign.pk)).status_code
        == 404
    )
    assert (
        client.get(
            url("evidence_download", pk=story.other_action.pk, evidence_pk=foreign.pk)
        ).status_code
        == 404
    )
    assert (
        client.get(
            url("evidence_download", pk=other_action.pk, evidence_pk=evidence.pk)
        ).status_code
        == 404
    )


# -- progress, completion statement, delegates ------------------------------------------------


def test_lead_officer_adds_a_progress_update_with_a_rag(client, story):
    action = story.action_in(Action.State.IN_PROGRESS)
    client.force_login(story.bob)
    client.post(
        url("action_progress", pk=action.pk),
        {"progress-text": "Training delivered to 40 staff.", "progress-rag": "green"},
    )
    update = ProgressUpdate.objects.get(action=action)
    assert (update.text, update.rag, update.author) == (
        "Training delivered to 40 staff.",
        "green",
        story.bob,
    )


def test_progress_update_without_text_or_rating_is_refused(client, story):
    action = story.action_in(Action.State.IN_PROGRESS)
    client.force_login(story.bob)
    response = client.post(url("action_progress", pk=action.pk), {"progress-rag": "purple"})
    content = response.content.decode()
    assert response.status_code == 400
    assert "There is a problem" in content
    assert 'aria-invalid="true"' in content
    assert not ProgressUpdate.objects.filter(action=action).exists()


def test_completion_statement_is_saved_and_shown(client, story):
    action = story.action_in(Action.State.IN_PROGRESS)
    client.force_login(story.bob)
    response = client.post(
        url("action_completion", pk=action.pk),
        {"completion-text": "Embedded in supervision."},
        follow=True,
    )
    assert reload(action).completion_statement == "Embedded in supervision."
    assert "Completion statement saved." in response.content.decode()


def test_lead_officer_adds_and_removes_a_delegate_who_can_then_deliver(client, story):
    action = story.action_in(Action.State.AGREED)
    client.force_login(story.bob)
    client.post(url("action_delegates", pk=action.pk), {"delegate-user": story.erin.pk})

    client.force_login(story.erin)
    assert offered(client.get(url("action", pk=action.pk)), "start")
    assert "Action 1.1" in client.get(url("my_actions")).content.decode()

    client.force_login(story.bob)
    client.post(url("action_delegates", pk=action.pk), {"remove": story.erin.pk})
    client.force_login(story.erin)
    assert "Action 1.1" not in client.get(url("my_actions")).content.decode()


def test_viewer_and_outsiders_are_not_offered_as_delegates(client, story):
    action = story.action_in(Action.State.AGREED)
    client.force_login(story.bob)
    for person in (story.victor, story.charlie):
        response = client.post(url("action_delegates", pk=action.pk), {"delegate-user": person.pk})
        assert response.status_code == 400
        assert "Select a valid choice" in response.content.decode()
    assert "Victor Viewer" not in client.get(url("action", pk=action.pk)).content.decode()


# -- creating and changing actions -------------------------------------------------------------


def action_form(story, **overrides) -> dict:
    data = {
        "reference": "1.1",
        "title": "Audit case files",
        "description": "",
        "recommendations": [story.recommendation.pk],
        "lead_officer": story.bob.pk,
        "lead_partner": story.police.pk,
        "due_date": "2027-01-31",
        "sign_off_body": story.lscb.pk,
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def test_officer_cannot_open_the_new_action_form(client, story):
    client.force_login(story.bob)
    response = client.get(url("action_new", pk=story.plan.pk))
    assert response.status_code == 403
    assert "Only managers and tenant administrators can do this." in response.content.decode()


def test_new_action_form_offers_only_this_tenants_people_and_partners(client, story):
    client.force_login(story.alice)
    content = client.get(url("action_new", pk=story.plan.pk)).content.decode()
    assert "Bedfordshire Police" in content
    assert "Bob Officer" in content
    assert "Northumbria Police" not in content
    assert "Charlie Outsider" not in content
    assert "Children&#x27;s Trust Board" not in content
    assert "Executive" not in content  # endorses the plan; not authorised to sign off actions


def test_another_tenants_partner_is_not_a_valid_choice(client, story):
    with tenant_scope(story.other_tenant):
        from tenants.models import Partner

        foreign = Partner.objects.get(name="Northumbria Police")
    client.force_login(story.alice)
    response = client.post(
        url("action_new", pk=story.plan.pk),
        action_form(story, lead_partner=foreign.pk, supporting_partners=[foreign.pk]),
    )
    assert response.status_code == 400
    assert "Select a valid choice." in response.content.decode()
    assert not Action.objects.filter(plan=story.plan).exists()


def test_duplicate_reference_is_refused_clearly(client, story):
    story.action("1.1")
    client.force_login(story.alice)
    response = client.post(url("action_new", pk=story.plan.pk), action_form(story))
    assert response.status_code == 400
    assert "Another action in this plan already has the reference 1.1." in (
        response.content.decode()
    )
    assert Action.objects.filter(plan=story.plan).count() == 1


def test_manager_changes_an_actions_details(client, story):
    action = story.action_in(Action.State.AGREED)
    client.force_login(story.alice)
    form = client.get(url("action_edit", pk=action.pk)).content.decode()
    assert 'value="Action 1.1"' in form

    response = client.post(
        url("action_edit", pk=action.pk),
        action_form(
            story,
            title="Audit every case file",
            due_date="2027-06-30",
            reason="Every file, not a sample: it takes longer.",
        ),
    )

    action = reload(action)
    assert response.status_code == 302
    assert action.title == "Audit every case file"
    assert action.due_date == datetime.date(2027, 6, 30)
    timeline = client.get(url("action", pk=action.pk)).content.decode()
    assert "Every file, not a sample: it takes longer." in timeline


def test_moving_the_due_date_later_without_a_reason_is_explained_and_nothing_changes(client, story):
    action = story.action_in(Action.State.AGREED)
    before = (action.title, action.due_date)
    client.force_login(story.alice)
    response = client.post(
        url("action_edit", pk=action.pk),
        action_form(story, title="Changed title", due_date="2030-06-30", reason="  "),
    )
    content = response.content.decode()
    assert response.status_code == 400
    assert "Say why the due date moves later" in content
    assert 'href="#id_reason"' in content
    action = reload(action)
    assert (action.title, action.due_date) == before


def test_impossible_date_is_refused_and_the_action_is_unchanged(client, story):
    action = story.action_in(Action.State.AGREED)
    before = (action.title, action.due_date)
    client.force_login(story.alice)
    response = client.post(
        url("action_edit", pk=action.pk),
        action_form(story, title="Changed title", due_date="2026-02-30"),
    )
    content = response.content.decode()
    assert response.status_code == 400
    assert "Enter a real date, for example 31 3 2027." in content
    assert 'href="#id_due_date_day"' in content
    assert 'id="id_due_date_day"' in content
    action = reload(action)
    assert (action.title, action.due_date) == before


def test_details_cannot_be_changed_once_evidenced(client, story):
    action = story.action_in(Action.State.EVIDENCED)
    client.force_login(story.alice)
    assert "Change the details" not in client.get(url("action", pk=action.pk)).content.decode()
    response = client.post(url("action_edit", pk=action.pk), action_form(story, title="Sneaky"))
    assert response.status_code == 302
    assert reload(action).title == "Action 1.1"


def test_officer_cannot_change_an_actions_details(client, story):
    action = story.action_in(Action.State.AGREED)
    client.force_login(story.bob)
    response = client.post(url("action_edit", pk=action.pk), action_form(story, title="Mine"))
    assert response.status_code == 403
    assert reload(action).title == "Action 1.1"


# -- my actions --------------------------------------------------------------------------------


def test_my_actions_lists_open_actions_first(client, story):
    story.action_in(Action.State.SIGNED_OFF, "1.1", title="Finished first")
    story.action_in(Action.State.IN_PROGRESS, "1.2", title="Still going")
    story.action("1.3", lead_officer=story.alice, title="Alice leads this")
    client.force_login(story.bob)

    content = client.get(url("my_actions")).content.decode()

    assert content.index("Still going") < content.index("Finished first")
    assert "Alice leads this" not in content
    assert '<strong class="govuk-tag govuk-tag--blue">Blue (complete)</strong>' in content


def test_history_shows_each_approval_towards_a_quorum(client, story):
    from workflow.services import transition_perform

    sign_off_body_set_quorum(body=story.lscb, quorum=2)
    action = story.action_in(Action.State.EVIDENCED)
    transition_perform(obj=action, name="sign_off", user=story.carol, comment="Content")
    transition_perform(obj=action, name="sign_off", user=story.dave)
    client.force_login(story.bob)
    timeline = client.get(f"/t/{story.tenant.slug}/actions/{action.pk}/").context["timeline"]
    steps = [(entry.actor, entry.title) for entry in timeline]
    assert (story.carol, "Approved: sign off") in steps
    assert (story.dave, "Sign off") in steps
    assert (story.dave, "Approved: sign off") not in steps


def test_due_date_is_typed_as_day_month_and_year(client, story):
    client.force_login(story.alice)
    data = action_form(story, due_date=None)
    data.update({"due_date_day": "31", "due_date_month": "3", "due_date_year": "2027"})
    client.post(url("action_new", pk=story.plan.pk), data)
    action = Action.objects.get(plan=story.plan, reference="1.1")
    assert action.due_date == datetime.date(2027, 3, 31)


@pytest.mark.parametrize(
    ("day", "month", "year"), [("30", "2", "2027"), ("31", "three", "2027"), ("", "3", "2027")]
)
def test_an_impossible_or_partial_due_date_is_explained_and_nothing_is_saved(
    client, story, day, month, year
):
    client.force_login(story.alice)
    data = action_form(story, due_date=None)
    data.update({"due_date_day": day, "due_date_month": month, "due_date_year": year})
    response = client.post(url("action_new", pk=story.plan.pk), data)
    content = response.content.decode()
    assert response.status_code == 400
    assert '<a href="#id_due_date_day">Enter a real date, for example 31 3 2027.</a>' in content
    assert f'name="due_date_month" value="{month}"' in content or not month
    assert not Action.objects.filter(plan=story.plan, reference="1.1").exists()
