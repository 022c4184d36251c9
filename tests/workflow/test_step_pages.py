"""The confirmation pages are the workflow's, not the action's: a plan's steps get the same page
and the same outcome messages through workflow.views.step_confirm."""

from django.urls import reverse

from plans.models import ActionPlan
from workflow.models import TransitionLog


def url(url_name: str, **kwargs) -> str:
    return reverse(url_name, kwargs={"tenant_slug": "central-bedfordshire", **kwargs})


def plan_step(story, name: str) -> str:
    return url("plan_step", pk=story.plan.pk, name=name)


def messages(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def test_submitting_a_plan_says_who_endorses_it_next(client, story):
    story.action()
    client.force_login(story.alice)

    page = client.get(plan_step(story, "submit"))
    response = client.post(plan_step(story, "submit"), follow=True)

    assert page.status_code == 200
    assert "The plan goes to its owning body" in page.content.decode()
    assert messages(response) == [
        "Submitted for endorsement. This plan is now submitted for endorsement. The Executive "
        "endorses it: one of its members must approve (Dave Board, Mark Team)."
    ]


def test_the_plan_page_links_to_the_steps_confirmation_pages(client, story):
    story.action()
    client.force_login(story.alice)
    content = client.get(url("plan", pk=story.plan.pk)).content.decode()
    assert f'href="{plan_step(story, "submit")}" role="button"' in content


def test_endorsing_towards_a_quorum_reports_progress_and_who_else_may_endorse(client, story):
    story.quorum_set_directly(story.executive, 2)
    story.action()
    client.force_login(story.alice)
    client.post(plan_step(story, "submit"), follow=True)
    client.force_login(story.dave)

    response = client.post(plan_step(story, "endorse"), {"comment": "Agreed"}, follow=True)

    assert messages(response) == [
        "Your approval is recorded: 1 of 2. It needs 1 more approval from the Executive: "
        "Mark Team may still approve."
    ]
    content = response.content.decode()
    assert "<strong>1 of 2 approvals</strong> towards endorse the plan." in content
    assert ActionPlan.objects.get(pk=story.plan.pk).state == ActionPlan.State.SUBMITTED


def test_returning_a_plan_without_saying_what_must_change_is_a_form_error(client, story):
    story.action()
    client.force_login(story.alice)
    client.post(plan_step(story, "submit"))
    client.force_login(story.dave)
    logs = TransitionLog.objects.count()

    response = client.post(plan_step(story, "send_back"), {"comment": ""})

    assert response.status_code == 400
    assert '<a href="#id_comment">Give a reason to return for redrafting.</a>' in (
        response.content.decode()
    )
    assert TransitionLog.objects.count() == logs


def test_the_submitter_of_a_plan_is_refused_its_endorsement_with_why(client, story):
    story.action()
    client.force_login(story.mark)  # a manager on the Executive
    client.post(plan_step(story, "submit"))

    response = client.post(plan_step(story, "endorse"))

    assert response.status_code == 403
    assert (
        "You submitted this plan, so another member of the owning body must endorse it."
        in response.content.decode()
    )
    assert ActionPlan.objects.get(pk=story.plan.pk).state == ActionPlan.State.SUBMITTED
