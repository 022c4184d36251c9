"""Writes for plans and actions. Each is one transaction; state changes go through
``workflow.services.transition_perform`` and nowhere else."""

import datetime
from collections.abc import Iterable

from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import URLValidator
from django.db import transaction
from django.utils.formats import date_format

from plans.evidence import check_upload
from plans.models import (
    Action,
    ActionPlan,
    ActionPlanGroupObjectPermission,
    ActionRecommendation,
    ActionSupportingPartner,
    ActionUserObjectPermission,
    Evidence,
    Framework,
    ProgressUpdate,
    Rag,
    Recommendation,
)
from plans.signals import delegate_added, lead_officer_assigned
from plans.workflows import (
    Refusal,
    completion_statement_refusal,
    delegates_refusal,
    details_change_refusal,
    evidence_refusal,
    is_manager,
    reporting_refusal,
)
from tenants.models import (
    AuditEntry,
    Capability,
    Membership,
    Partner,
    SignOffBody,
    Tenant,
    User,
    roles_that_can,
)
from tenants.services import audit_record
from tenants.text import one_line_text, paragraph_text, reason_text, texts_clean
from workflow.engine import Actor


def _permission(codename: str) -> Permission:
    return Permission.objects.get(content_type__app_label="plans", codename=codename)


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


def _enforce(refusal: Refusal | None) -> None:
    if refusal is not None:
        refusal.raise_error()


# -- what the texts people write may be ------------------------------------------------------

PLAN_TITLE = one_line_text("the plan's title", 300, missing="Enter a title for the plan.")
ACTION_TEXTS = {
    "reference": one_line_text(
        "the reference", 20, missing='Enter a reference, for example "3.2".'
    ),
    "title": one_line_text("the title", 300, missing="Enter a title for the action."),
    "description": paragraph_text("the description"),
}
CHANGE_REASON = reason_text(what="the reason for the change")
PROGRESS_TEXT = paragraph_text("the progress update", missing="Describe the progress made.")
EVIDENCE_DESCRIPTION = one_line_text(
    "the description of the evidence", 500, missing="Say what the evidence shows."
)
EVIDENCE_LINK = one_line_text(
    "the web address", 1000, missing="Enter a full web address starting https://"
)
COMPLETION_STATEMENT = paragraph_text(
    "the completion statement", missing="Write the completion statement."
)


# -- the record of changes other than workflow steps -------------------------------------------


def _text(value) -> str:
    """A value as a person reads it on the action page."""
    if value is None:
        return ""
    if isinstance(value, datetime.date):
        return date_format(value, "j F Y")
    return str(value).strip()


def action_detail_texts(action: Action, names: Iterable[str]) -> dict[str, str]:
    """The named details of ``action`` as text, links read from the database."""
    texts = {}
    for name in names:
        if name == "recommendations":
            texts[name] = "; ".join(
                str(r)
                for r in Recommendation.objects.filter(
                    pk__in=ActionRecommendation.objects.filter(
                        tenant_id=action.tenant_id, action=action
                    ).values("recommendation_id")
                ).order_by("number")
            )
        elif name == "supporting_partners":
            texts[name] = ", ".join(
                p.name
                for p in Partner.objects.filter(
                    tenant_id=action.tenant_id,
                    pk__in=ActionSupportingPartner.objects.filter(
                        tenant_id=action.tenant_id, action=action
                    ).values("partner_id"),
                ).order_by("name")
            )
        else:
            texts[name] = _text(getattr(action, name))
    return texts


def _delegate_names(action: Action) -> str:
    return ", ".join(
        str(user)
        for user in User.objects.filter(
            actionuserobjectpermission__tenant_id=action.tenant_id,
            actionuserobjectpermission__content_object=action,
            actionuserobjectpermission__permission__codename="deliver_action",
        ).order_by("full_name")
    )


# Display names and order of the action details a change can record.
ACTION_FIELD_LABELS = {
    "reference": "Reference",
    "title": "Title",
    "description": "Description",
    "recommendations": "Recommendations",
    "lead_officer": "Lead officer",
    "lead_partner": "Lead partner",
    "supporting_partners": "Supporting partners",
    "due_date": "Due date",
    "sign_off_body": "Sign-off body",
    "completion_statement": "Completion statement",
    "delegates": "Delegates",
}
# Fields whose texts are paragraphs rather than a value.
ACTION_LONG_FIELDS = ("description", "completion_statement")


def action_change_record(
    *,
    action: Action,
    by: User,
    before: dict[str, str],
    after: dict[str, str],
    summary: str,
    reason: str = "",
) -> AuditEntry | None:
    """Record what changed between ``before`` and ``after``; nothing if nothing did. Called
    inside the transaction of the change it records."""
    order = list(ACTION_FIELD_LABELS)
    after = dict(sorted(after.items(), key=lambda item: order.index(item[0])))
    return audit_record(
        tenant_id=action.tenant_id,
        actor=by,
        subject_type=AuditEntry.Subject.ACTION,
        subject_id=action.pk,
        subject_label=str(action),
        summary=summary,
        labels=ACTION_FIELD_LABELS,
        before=before,
        after=after,
        long_fields=ACTION_LONG_FIELDS,
        reason=reason,
    )


@transaction.atomic
def action_plan_create(
    *,
    tenant: Tenant,
    framework: Framework,
    title: str,
    owner_body: SignOffBody,
    owner: User | None = None,
    sign_off_bodies: Iterable[SignOffBody] = (),
) -> ActionPlan:
    """Create a plan; its owning body may endorse it, and ``sign_off_bodies`` may sign off its
    actions."""
    title = texts_clean(title=(PLAN_TITLE, title))["title"]
    plan = ActionPlan(
        tenant=tenant, framework=framework, title=title, owner_body=owner_body, owner=owner
    )
    plan.full_clean()
    plan.save()
    _grant_to_body(plan=plan, body=owner_body, codename="endorse_plan")
    for body in sign_off_bodies:
        action_plan_authorise_sign_off_body(plan=plan, body=body)
    return plan


def _grant_to_body(*, plan: ActionPlan, body: SignOffBody, codename: str) -> None:
    if body.tenant_id != plan.tenant_id:
        raise ValidationError("That sign-off body belongs to another organisation.")
    ActionPlanGroupObjectPermission.objects.get_or_create(
        tenant_id=plan.tenant_id,
        group_id=body.group_id,
        permission=_permission(codename),
        content_object=plan,
    )


@transaction.atomic
def action_plan_authorise_sign_off_body(*, plan: ActionPlan, body: SignOffBody) -> None:
    """Let ``body`` sign off actions in ``plan``."""
    _grant_to_body(plan=plan, body=body, codename="sign_off_actions")


def sign_off_bodies_of_plan(*, plan: ActionPlan) -> list[SignOffBody]:
    return list(
        SignOffBody.objects.filter(
            tenant_id=plan.tenant_id,
            group__actionplangroupobjectpermission__content_object=plan,
            group__actionplangroupobjectpermission__permission__codename="sign_off_actions",
        ).order_by("name")
    )


def action_links_validate(
    action: Action,
    recommendations: Iterable[Recommendation] | None = None,
    supporting_partners: Iterable[Partner] | None = None,
) -> None:
    """The rules an action's lead, sign-off body and links keep, however it is edited."""
    errors = {}
    if (
        action.lead_officer_id is not None
        and Membership.objects.filter(
            tenant_id=action.tenant_id,
            user_id=action.lead_officer_id,
            role__in=[r for r in Membership.Role if r not in roles_that_can(Capability.DELIVER)],
        ).exists()
    ):
        errors["lead_officer"] = "A read-only viewer cannot lead an action."
    if action.sign_off_body_id is not None and action.sign_off_body_id not in {
        body.pk for body in sign_off_bodies_of_plan(plan=action.plan)
    }:
        errors["sign_off_body"] = "Choose a sign-off body authorised to sign off this plan."
    if recommendations is not None:
        for recommendation in recommendations:
            if recommendation.framework_id != action.plan.framework_id:
                errors["recommendations"] = "Choose recommendations from the plan's framework."
    if supporting_partners is not None:
        for partner in supporting_partners:
            if partner.tenant_id != action.tenant_id:
                errors["supporting_partners"] = "Partners must belong to this organisation."
    if errors:
        raise ValidationError(errors)


def _set_links(action, recommendations, supporting_partners) -> None:
    if recommendations is not None:
        ActionRecommendation.objects.filter(tenant_id=action.tenant_id, action=action).delete()
        ActionRecommendation.objects.bulk_create(
            ActionRecommendation(tenant_id=action.tenant_id, action=action, recommendation=r)
            for r in {r.pk: r for r in recommendations}.values()
        )
    if supporting_partners is not None:
        ActionSupportingPartner.objects.filter(tenant_id=action.tenant_id, action=action).delete()
        ActionSupportingPartner.objects.bulk_create(
            ActionSupportingPartner(tenant_id=action.tenant_id, action=action, partner=p)
            for p in {p.pk: p for p in supporting_partners}.values()
            if p.pk != action.lead_partner_id
        )


@transaction.atomic
def action_create(
    *,
    plan: ActionPlan,
    by: User,
    reference: str,
    title: str,
    description: str = "",
    recommendations: Iterable[Recommendation] = (),
    lead_officer: User | None = None,
    lead_partner: Partner | None = None,
    supporting_partners: Iterable[Partner] = (),
    due_date: datetime.date | None = None,
    sign_off_body: SignOffBody | None = None,
) -> Action:
    _require(is_manager(Actor(by, plan.tenant_id)), "Only managers can add actions to a plan.")
    texts = texts_clean(
        reference=(ACTION_TEXTS["reference"], reference),
        title=(ACTION_TEXTS["title"], title),
        description=(ACTION_TEXTS["description"], description),
    )
    action = Action(
        tenant_id=plan.tenant_id,
        plan=plan,
        **texts,
        lead_officer=lead_officer,
        lead_partner=lead_partner,
        due_date=due_date,
        sign_off_body=sign_off_body,
    )
    recommendations, supporting_partners = list(recommendations), list(supporting_partners)
    action.full_clean()
    action_links_validate(action, recommendations, supporting_partners)
    action.save()
    _set_links(action, recommendations, supporting_partners)
    if action.lead_officer_id is not None:
        lead_officer_assigned.send(sender=Action, action=action, officer=action.lead_officer, by=by)
    return action


ACTION_DETAIL_FIELDS = {
    "reference",
    "title",
    "description",
    "lead_officer",
    "lead_partner",
    "due_date",
    "sign_off_body",
}


@transaction.atomic
def action_update(
    *,
    action: Action,
    by: User,
    recommendations: Iterable[Recommendation] | None = None,
    supporting_partners: Iterable[Partner] | None = None,
    reason: str = "",
    **changes,
) -> Action:
    """Change an action's details. Managers only, and only while the action is not yet
    evidenced, signed off or withdrawn: what a board signs off must not change under it. What
    really changed is recorded, before and after, with the reason given; moving the due date
    later needs one, so the board can see why an action slipped."""
    unknown = set(changes) - ACTION_DETAIL_FIELDS
    if unknown:
        raise ValueError(f"Not editable here: {', '.join(sorted(unknown))}")
    action = Action.objects.select_for_update().get(pk=action.pk, tenant_id=action.tenant_id)
    _enforce(details_change_refusal(Actor(by, action.tenant_id), action))
    texts = {name: (rule, changes[name]) for name, rule in ACTION_TEXTS.items() if name in changes}
    cleaned = texts_clean(**texts, reason=(CHANGE_REASON, reason))
    reason = cleaned.pop("reason")
    changes.update(cleaned)
    compared = [
        *changes,
        *(["recommendations"] if recommendations is not None else []),
        *(["supporting_partners"] if supporting_partners is not None else []),
    ]
    before = action_detail_texts(action, compared)
    previous_lead_id = action.lead_officer_id
    previous_due = action.due_date
    new_due = changes.get("due_date", previous_due)
    if previous_due is not None and new_due is not None and new_due > previous_due and not reason:
        raise ValidationError(
            {"reason": "Say why the due date moves later: the board will read it in the history."}
        )
    for name, value in changes.items():
        setattr(action, name, value.strip() if isinstance(value, str) else value)
    recommendations = list(recommendations) if recommendations is not None else None
    supporting_partners = list(supporting_partners) if supporting_partners is not None else None
    action.full_clean()
    action_links_validate(action, recommendations, supporting_partners)
    action.save()
    _set_links(action, recommendations, supporting_partners)
    action_change_record(
        action=action,
        by=by,
        before=before,
        after=action_detail_texts(action, compared),
        summary="Details changed",
        reason=reason,
    )
    if action.lead_officer_id not in (None, previous_lead_id):
        lead_officer_assigned.send(sender=Action, action=action, officer=action.lead_officer, by=by)
    return action


@transaction.atomic
def action_set_completion_statement(*, action: Action, by: User, text: str) -> Action:
    action = Action.objects.select_for_update().get(pk=action.pk, tenant_id=action.tenant_id)
    _enforce(completion_statement_refusal(Actor(by, action.tenant_id), action))
    text = texts_clean(text=(COMPLETION_STATEMENT, text))["text"]
    before = action.completion_statement
    action.completion_statement = text
    action.completion_statement_by = by
    action.save(update_fields=["completion_statement", "completion_statement_by", "updated_at"])
    action_change_record(
        action=action,
        by=by,
        before={"completion_statement": before},
        after={"completion_statement": action.completion_statement},
        summary="Completion statement saved",
    )
    return action


def _locked(action: Action) -> Action:
    return Action.objects.select_for_update().get(pk=action.pk, tenant_id=action.tenant_id)


@transaction.atomic
def action_delegate(*, action: Action, by: User, delegate: User) -> None:
    """Let ``delegate`` deliver this one action for its lead officer."""
    # Locked, so two changes to the delegates at once record each other's results.
    action = _locked(action)
    _enforce(delegates_refusal(Actor(by, action.tenant_id), action, adding=True))
    membership = Membership.objects.filter(tenant_id=action.tenant_id, user=delegate).first()
    if membership is None:
        raise ValidationError("A delegate must be a member of this organisation.")
    if not membership.can(Capability.DELIVER):
        raise ValidationError(f"{delegate} has read-only access and cannot deliver actions.")
    before = _delegate_names(action)
    _, created = ActionUserObjectPermission.objects.get_or_create(
        tenant_id=action.tenant_id,
        user=delegate,
        permission=_permission("deliver_action"),
        content_object=action,
    )
    if created:
        action_change_record(
            action=action,
            by=by,
            before={"delegates": before},
            after={"delegates": _delegate_names(action)},
            summary=f"Delegate added: {delegate}",
        )
        delegate_added.send(sender=Action, action=action, delegate=delegate, by=by)


@transaction.atomic
def action_delegate_remove(*, action: Action, by: User, delegate: User) -> None:
    action = _locked(action)
    _enforce(delegates_refusal(Actor(by, action.tenant_id), action, adding=False))
    before = _delegate_names(action)
    removed, _ = ActionUserObjectPermission.objects.filter(
        tenant_id=action.tenant_id, user=delegate, content_object=action
    ).delete()
    if removed:
        action_change_record(
            action=action,
            by=by,
            before={"delegates": before},
            after={"delegates": _delegate_names(action)},
            summary=f"Delegate removed: {delegate}",
        )


def _require_can_report(actor: Actor, action: Action, what: str) -> None:
    _enforce(reporting_refusal(actor, action, what))


@transaction.atomic
def progress_add(*, action: Action, author: User, text: str, rag: str) -> ProgressUpdate:
    actor = Actor(author, action.tenant_id)
    _require_can_report(actor, action, "add progress")
    if rag not in Rag.values or rag == Rag.BLUE:
        raise ValidationError({"rag": "Choose red, amber or green."})
    text = texts_clean(text=(PROGRESS_TEXT, text))["text"]
    update = ProgressUpdate(
        tenant_id=action.tenant_id, action=action, author=author, text=text, rag=rag
    )
    update.save()
    return update


@transaction.atomic
def evidence_add_file(*, action: Action, by: User, upload, description: str) -> Evidence:
    action = _locked(action)
    _enforce(evidence_refusal(Actor(by, action.tenant_id), action))
    description = texts_clean(description=(EVIDENCE_DESCRIPTION, description))["description"]
    checked = check_upload(upload)
    evidence = Evidence(
        tenant_id=action.tenant_id,
        action=action,
        description=description,
        original_name=checked.name,
        storage_key=checked.storage_key,
        sha256=checked.sha256,
        size=checked.size,
        content_type=checked.content_type,
        uploaded_by=by,
    )
    # The file is written before the row; a rollback leaves an orphan file, never a row
    # pointing at nothing.
    evidence.file.save(checked.storage_key, upload, save=False)
    evidence.save()
    return evidence


@transaction.atomic
def evidence_add_link(*, action: Action, by: User, url: str, description: str) -> Evidence:
    action = _locked(action)
    _enforce(evidence_refusal(Actor(by, action.tenant_id), action))
    texts = texts_clean(description=(EVIDENCE_DESCRIPTION, description), link=(EVIDENCE_LINK, url))
    description, url = texts["description"], texts["link"]
    try:
        URLValidator(schemes=["https", "http"])(url)
    except ValidationError:
        raise ValidationError({"link": "Enter a full web address starting https://"}) from None
    evidence = Evidence(
        tenant_id=action.tenant_id,
        action=action,
        description=description,
        link=url,
        uploaded_by=by,
    )
    evidence.save()
    return evidence
