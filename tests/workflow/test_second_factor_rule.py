"""Board members, tenant administrators and the operator need a second factor before they sign
off, endorse or administer: one rule (``tenants.rules.second_factor_refusal``) asked by the
transition service, the administration rule, the pages and the operator's admin."""

import pytest
from allauth.mfa.models import Authenticator
from django.urls import reverse

from plans.models import Action, ActionPlan
from tenants.models import SignOffBody
from tenants.rules import SecondFactorRequired, administer_refusal, second_factor_refusal
from tenants.services import sign_off_body_create, tenant_set_nation
from tests.tenants.factories import UserFactory, with_second_factor
from workflow.models import Approval, TransitionLog
from workflow.services import TransitionRefused, transition_perform, transitions_available

NEEDS_ONE = "You need to set up a second factor"


def without_second_factor(user):
    Authenticator.objects.filter(user=user).delete()
    user.__dict__.pop("_has_second_factor", None)
    return user


def url(url_name: str, **kwargs) -> str:
    return reverse(url_name, kwargs={"tenant_slug": "central-bedfordshire", **kwargs})


# -- the rule ------------------------------------------------------------------------------------


def test_the_rule_refuses_only_people_without_a_second_factor(story):
    without_second_factor(story.carol)

    refusal = second_factor_refusal(user=story.carol, what="sign off")

    assert refusal is not None and refusal.second_factor
    assert refusal.message.startswith(NEEDS_ONE) and refusal.message.endswith("sign off.")
    assert second_factor_refusal(user=story.dave, what="sign off") is None
    # The service itself (demo data, fixtures) acts as nobody.
    assert second_factor_refusal(user=None, what="sign off") is None


def test_recovery_codes_alone_are_not_a_second_factor(story):
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    without_second_factor(story.carol)
    RecoveryCodes.activate(story.carol)
    story.carol.__dict__.pop("_has_second_factor", None)

    assert second_factor_refusal(user=story.carol, what="sign off") is not None


# -- signing off and endorsing -------------------------------------------------------------------


def test_board_member_without_second_factor_cannot_sign_off(story):
    act = story.action_in(Action.State.EVIDENCED)
    without_second_factor(story.carol)

    with pytest.raises(TransitionRefused, match=NEEDS_ONE):
        transition_perform(obj=act, name="sign_off", user=story.carol)

    assert Action.objects.get(pk=act.pk).state == Action.State.EVIDENCED
    assert not Approval.objects.filter(object_id=act.pk).exists()


def test_board_member_without_second_factor_cannot_return_or_reopen(story):
    evidenced = story.action_in(Action.State.EVIDENCED)
    signed_off = story.action_in(Action.State.SIGNED_OFF, reference="1.2")
    without_second_factor(story.carol)

    with pytest.raises(TransitionRefused, match=NEEDS_ONE):
        transition_perform(obj=evidenced, name="send_back", user=story.carol, comment="Thin.")
    with pytest.raises(TransitionRefused, match=NEEDS_ONE):
        transition_perform(obj=signed_off, name="reopen", user=story.carol, comment="Lapsed.")

    assert Action.objects.get(pk=evidenced.pk).state == Action.State.EVIDENCED
    assert Action.objects.get(pk=signed_off.pk).state == Action.State.SIGNED_OFF


def test_the_same_board_member_signs_off_once_a_second_factor_is_set_up(story):
    act = story.action_in(Action.State.EVIDENCED)
    without_second_factor(story.carol)
    with pytest.raises(TransitionRefused):
        transition_perform(obj=act, name="sign_off", user=story.carol)

    with_second_factor(story.carol)
    outcome = transition_perform(obj=act, name="sign_off", user=story.carol)

    assert outcome.obj.state == Action.State.SIGNED_OFF


def test_board_member_without_second_factor_cannot_endorse(story):
    story.action()
    transition_perform(obj=story.plan, name="submit", user=story.alice)
    without_second_factor(story.dave)

    with pytest.raises(TransitionRefused, match=NEEDS_ONE):
        transition_perform(obj=story.plan, name="endorse", user=story.dave)

    assert ActionPlan.objects.get(pk=story.plan.pk).state == ActionPlan.State.SUBMITTED


def test_steps_that_are_not_a_bodys_decision_need_no_second_factor(story):
    """An officer delivering an action, a manager agreeing it: others may have one."""
    without_second_factor(story.alice)
    without_second_factor(story.bob)
    act = story.action()

    act = transition_perform(obj=act, name="agree", user=story.alice).obj
    act = transition_perform(obj=act, name="start", user=story.bob).obj

    assert act.state == Action.State.IN_PROGRESS


def test_the_steps_offered_say_why_a_second_factor_is_needed(story):
    act = story.action_in(Action.State.EVIDENCED)
    without_second_factor(story.carol)

    options = {o.transition.name: o for o in transitions_available(obj=act, user=story.carol)}

    assert not options["sign_off"].offered
    assert options["sign_off"].second_factor
    assert options["sign_off"].refusal.startswith(NEEDS_ONE)
    assert options["send_back"].second_factor


def test_action_page_tells_a_board_member_to_set_up_a_second_factor(client, story):
    act = story.action_in(Action.State.EVIDENCED)
    without_second_factor(story.carol)
    client.force_login(story.carol)

    content = client.get(url("action", pk=act.pk)).content.decode()

    assert "You cannot sign off. " + NEEDS_ONE in content
    assert f'href="{reverse("mfa_index")}">Set up a second factor</a>' in content
    assert f'href="{url("action_step", pk=act.pk, name="sign_off")}"' not in content


def test_sign_off_page_refuses_a_board_member_without_second_factor(client, story):
    act = story.action_in(Action.State.EVIDENCED)
    without_second_factor(story.carol)
    client.force_login(story.carol)
    step = url("action_step", pk=act.pk, name="sign_off")

    page = client.get(step)
    posted = client.post(step, {"comment": ""})

    for response in (page, posted):
        assert response.status_code == 403
        content = response.content.decode()
        assert NEEDS_ONE in content
        assert f'href="{reverse("mfa_index")}"' in content
    assert Action.objects.get(pk=act.pk).state == Action.State.EVIDENCED
    assert not TransitionLog.objects.filter(object_id=act.pk, transition="sign_off").exists()


def test_endorse_page_refuses_a_board_member_without_second_factor(client, story):
    story.action()
    transition_perform(obj=story.plan, name="submit", user=story.alice)
    without_second_factor(story.dave)
    client.force_login(story.dave)

    response = client.post(url("plan_step", pk=story.plan.pk, name="endorse"), {"comment": ""})

    assert response.status_code == 403
    assert NEEDS_ONE in response.content.decode()
    assert ActionPlan.objects.get(pk=story.plan.pk).state == ActionPlan.State.SUBMITTED


# -- administering ---------------------------------------------------------------------------------


def test_tenant_administrator_without_second_factor_cannot_administer(story):
    without_second_factor(story.erin)

    refusal = administer_refusal(by=story.erin, tenant=story.tenant)
    assert refusal is not None and refusal.second_factor

    with pytest.raises(SecondFactorRequired, match=NEEDS_ONE):
        sign_off_body_create(
            tenant=story.tenant,
            name="Task and finish group",
            kind=SignOffBody.Kind.TASK_AND_FINISH_GROUP,
            members=[story.carol, story.dave],
            by=story.erin,
        )
    with pytest.raises(SecondFactorRequired):
        tenant_set_nation(tenant=story.tenant, by=story.erin, nation="wales")

    assert not SignOffBody.objects.filter(name="Task and finish group").exists()
    story.tenant.refresh_from_db()
    assert story.tenant.nation == "england"


def test_others_are_still_told_only_administrators_may(story):
    refusal = administer_refusal(by=story.alice, tenant=story.tenant)

    assert refusal.message == "Only a tenant administrator can change this organisation's settings."
    assert not refusal.second_factor


def test_settings_page_tells_an_administrator_to_set_up_a_second_factor(client, story):
    without_second_factor(story.erin)
    client.force_login(story.erin)

    response = client.get(url("settings"))
    home = client.get(url("tenant_home")).content.decode()

    assert response.status_code == 403
    content = response.content.decode()
    assert NEEDS_ONE in content and "see and change these settings" in content
    assert f'href="{reverse("mfa_index")}">Set up a second factor</a>' in content
    # The navigation still leads there, so the administrator learns what to do.
    assert f'href="{url("settings")}"' in home


def test_settings_page_opens_for_an_administrator_with_a_second_factor(client, story):
    client.force_login(story.erin)

    assert client.get(url("settings")).status_code == 200


# -- the operator's admin ------------------------------------------------------------------------


def test_operator_without_second_factor_is_sent_to_set_one_up(client, db):
    operator = UserFactory(is_staff=True, is_superuser=True, second_factor=False)
    client.force_login(operator)

    response = client.get(reverse("admin:index"), follow=True)

    assert response.status_code == 403
    content = response.content.decode()
    assert NEEDS_ONE in content and "use the operator&#x27;s admin" in content
    assert f'href="{reverse("mfa_index")}"' in content
    assert client.get(reverse("admin:tenants_tenant_changelist")).status_code in (302, 403)


def test_operator_with_a_second_factor_uses_the_admin(client, db):
    operator = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(operator)

    assert client.get(reverse("admin:index")).status_code == 200
