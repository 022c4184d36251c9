"""Who is told about what. Receivers run inside the transaction of the change, so what they
write commits or rolls back with it."""

import uuid

from django.dispatch import receiver
from django.urls import reverse

from notifications.content import action_label
from notifications.models import Notification
from notifications.services import Event, invitation_send, notifications_send
from plans.models import Action, ActionPlan
from plans.signals import (
    delegate_added,
    evidence_virus_found,
    lead_officer_assigned,
    plan_varied,
    quarantined_evidence_checked,
    recording_history,
)
from tenants.models import Capability, Invitation, Membership, SignOffBodyMember, roles_that_can
from tenants.signals import invitation_created
from workflow.signals import transition_recorded

Kind = Notification.Kind


def _action_event(action: Action, kind: str, key: str, title: str, detail: str = "") -> Event:
    return Event(
        tenant=action.tenant,
        kind=kind,
        key=key,
        title=title,
        link=reverse("action", kwargs={"tenant_slug": action.tenant.slug, "pk": action.pk}),
        action_id=action.pk,
        detail=detail,
    )


def _members_of(body_id: int | None, tenant_id: int) -> list[int]:
    if body_id is None:
        return []
    return list(
        SignOffBodyMember.objects.filter(tenant_id=tenant_id, body_id=body_id).values_list(
            "user_id", flat=True
        )
    )


@receiver(transition_recorded, sender=Action, dispatch_uid="notifications.action_transition")
def action_transition_told(sender, obj: Action, log, actor, **kwargs):
    if recording_history.get():
        return
    label = action_label(obj.reference, obj.title)
    key = f"log:{log.pk}"
    told: dict[int, str] = {}
    if log.transition == "submit_evidence":
        body = obj.sign_off_body
        for user_id in _members_of(obj.sign_off_body_id, obj.tenant_id):
            told[user_id] = f"you sit on the {body.name}, which signs off this action"
        event = _action_event(obj, Kind.SIGN_OFF_REQUESTED, key, f"Sign-off requested: {label}")
    elif log.transition == "send_back":
        if obj.lead_officer_id:
            told[obj.lead_officer_id] = "you are the lead officer for this action"
        event = _action_event(
            obj, Kind.RETURNED, key, f"Returned to in progress: {label}", detail=log.comment
        )
    elif log.transition == "sign_off":
        if obj.plan.owner_id:
            told[obj.plan.owner_id] = "you own the action plan"
        if obj.lead_officer_id:
            told[obj.lead_officer_id] = "you are the lead officer for this action"
        event = _action_event(obj, Kind.SIGNED_OFF, key, f"Signed off: {label}")
    else:
        return
    # Nobody needs telling about what they have just done themselves.
    told.pop(getattr(actor, "pk", None), None)
    notifications_send(event=event, recipients=told)


@receiver(transition_recorded, sender=ActionPlan, dispatch_uid="notifications.plan_transition")
def plan_transition_told(sender, obj: ActionPlan, log, actor, **kwargs):
    if recording_history.get():
        return
    told: dict[int, str] = {}
    if log.transition == "submit":
        kind, title = Kind.PLAN_SUBMITTED, f"Submitted for endorsement: {obj.title}"
        for user_id in _members_of(obj.owner_body_id, obj.tenant_id):
            told[user_id] = f"you sit on the {obj.owner_body.name}, which endorses this plan"
    elif log.transition == "endorse":
        kind, title = Kind.PLAN_ENDORSED, f"Endorsed: {obj.title}"
        if obj.owner_id:
            told[obj.owner_id] = "you own the action plan"
    else:
        return
    told.pop(getattr(actor, "pk", None), None)
    event = Event(
        tenant=obj.tenant,
        kind=kind,
        key=f"log:{log.pk}",
        title=title,
        link=reverse("plan", kwargs={"tenant_slug": obj.tenant.slug, "pk": obj.pk}),
        plan_id=obj.pk,
    )
    notifications_send(event=event, recipients=told)


@receiver(lead_officer_assigned, sender=Action, dispatch_uid="notifications.lead_officer")
def lead_officer_told(sender, action: Action, officer, by, **kwargs):
    if recording_history.get():
        return
    if officer.pk == getattr(by, "pk", None):
        return
    label = action_label(action.reference, action.title)
    # Written once, in the assignment's own transaction; the same person made lead again later
    # is told again, so the key is fresh each time.
    key = f"lead:{action.pk}:{uuid.uuid4().hex}"
    event = _action_event(action, Kind.MADE_LEAD, key, f"You are the lead officer: {label}")
    notifications_send(event=event, recipients={officer.pk: "a manager named you lead officer"})


@receiver(delegate_added, sender=Action, dispatch_uid="notifications.delegate")
def delegate_told(sender, action: Action, delegate, by, **kwargs):
    if recording_history.get():
        return
    if delegate.pk == getattr(by, "pk", None):
        return
    label = action_label(action.reference, action.title)
    key = f"delegate:{action.pk}:{uuid.uuid4().hex}"
    event = _action_event(action, Kind.MADE_DELEGATE, key, f"You can now deliver: {label}")
    reason = "the lead officer or a manager added you as a delegate for this action"
    notifications_send(event=event, recipients={delegate.pk: reason})


@receiver(plan_varied, sender=ActionPlan, dispatch_uid="notifications.plan_varied")
def plan_variation_told(sender, plan: ActionPlan, entry, change: str, by, **kwargs):
    """The endorsing body hears of each change to what it endorsed, as it heard of the plan's
    submission (the same kind: there is no separate kind for a variation)."""
    if recording_history.get():
        return
    told = {
        user_id: f"you sit on the {plan.owner_body.name}, which endorsed this plan"
        for user_id in _members_of(plan.owner_body_id, plan.tenant_id)
    }
    told.pop(getattr(by, "pk", None), None)
    event = Event(
        tenant=plan.tenant,
        kind=Kind.PLAN_SUBMITTED,
        key=f"variation:{entry.pk}",
        title=f"Variation to {plan.title}: {change}"[:300],
        link=reverse("plan", kwargs={"tenant_slug": plan.tenant.slug, "pk": plan.pk}),
        plan_id=plan.pk,
        # A withdrawal's reason may name people: shown in the service, not in the e-mail.
        detail=entry.reason,
    )
    notifications_send(event=event, recipients=told)


@receiver(invitation_created, sender=Invitation, dispatch_uid="notifications.invitation")
def invitation_told(sender, invitation: Invitation, token: str, recipient, by, **kwargs):
    link = reverse("invitation_accept", kwargs={"pk": invitation.pk, "token": token})
    invitation_send(invitation=invitation, link=link, secret=token, recipient=recipient)


@receiver(evidence_virus_found, sender=Action, dispatch_uid="notifications.virus_found")
def virus_found_told(sender, action: Action, file_name: str, uploaded_by, entry, later, **kwargs):
    """The organisation's administrators hear of every file refused for a virus, so they can see
    to the uploader's computer; the uploader, when the refusal came after they left the page."""
    told = {
        user_id: "you administer this organisation"
        for user_id in Membership.objects.filter(
            tenant_id=action.tenant_id, role__in=roles_that_can(Capability.ADMINISTER)
        ).values_list("user_id", flat=True)
    }
    if later:
        told[uploaded_by.pk] = "you uploaded the file"
    label = action_label(action.reference, action.title)
    event = _action_event(
        action,
        Kind.VIRUS_FOUND,
        f"virus:{entry.pk}",
        f"A virus was found in a file uploaded as evidence: {label}",
        # The file's name is for the service's pages, not the e-mail.
        detail=f"{file_name}, uploaded by {uploaded_by}, was deleted.",
    )
    notifications_send(event=event, recipients=told)


@receiver(
    quarantined_evidence_checked, sender=Action, dispatch_uid="notifications.evidence_checked"
)
def evidence_checked_told(
    sender, action: Action, file_name: str, uploaded_by, evidence, refusal, **kwargs
):
    """Whoever uploaded a file that waited for its virus check hears how it ended."""
    label = action_label(action.reference, action.title)
    if evidence is not None:
        key, title = f"checked:{evidence.pk}", f"Your file is now evidence: {label}"
        detail = f"{file_name} was checked for viruses and added to the evidence."
    else:
        key = f"checked:{action.pk}:{uuid.uuid4().hex}"
        title = f"Your file was not added as evidence: {label}"
        detail = f"{file_name} was checked for viruses but not added: {refusal}"
    event = _action_event(action, Kind.EVIDENCE_CHECKED, key, title, detail=detail)
    notifications_send(event=event, recipients={uploaded_by.pk: "you uploaded the file"})
