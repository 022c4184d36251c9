"""Writes for plans and actions. Each is one transaction; state changes go through
``workflow.services.transition_perform`` and nowhere else."""

import copy
import datetime
import logging
from collections.abc import Iterable, Sequence
from operator import attrgetter

from django.conf import settings
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.core.validators import URLValidator
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.formats import date_format

from plans.evidence import (
    VIRUS_FOUND,
    CheckedUpload,
    check_upload,
    quarantine_storage,
    virus_scan,
)
from plans.models import (
    Action,
    ActionAdoption,
    ActionPlan,
    ActionPlanGroupObjectPermission,
    ActionRecommendation,
    ActionSupportingPartner,
    ActionUserObjectPermission,
    Evidence,
    Framework,
    ProgressUpdate,
    QuarantinedEvidence,
    Rag,
    Recommendation,
)
from plans.scanning import ScannerUnavailable
from plans.selectors import frameworks_visible
from plans.signals import (
    delegate_added,
    evidence_virus_found,
    lead_officer_assigned,
    plan_varied,
    quarantined_evidence_checked,
)
from plans.workflows import (
    Refusal,
    action_editing_refusal,
    adoption_refusal,
    completion_statement_refusal,
    delegates_refusal,
    details_change_refusal,
    endorsing_body_change_refusal,
    evidence_refusal,
    framework_change_refusal,
    reporting_refusal,
    sign_off_revoke_refusal,
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
from tenants.rules import administer_refusal
from tenants.scoping import across_tenants, tenant_scope
from tenants.services import Recorded, audit_record
from tenants.text import one_line_text, paragraph_text, reason_text, texts_clean
from workflow.engine import Actor

log = logging.getLogger(__name__)


def _permission(codename: str) -> Permission:
    return Permission.objects.get(content_type__app_label="plans", codename=codename)


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
ACTION_CHANGES = Recorded(
    AuditEntry.Subject.ACTION, ACTION_FIELD_LABELS, long_fields=ACTION_LONG_FIELDS
)


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
    return ACTION_CHANGES.record(
        action, by=by, summary=summary, before=before, after=after, reason=reason, always=False
    )


# -- a plan's settings: its framework, bodies, agency, owner and who signs off its actions ------

PLAN_FIELD_LABELS = {
    "title": "Title",
    "framework": "Framework",
    "owner_body": "Endorsing body",
    "monitoring_body": "Monitoring body",
    "partner": "Agency",
    "owner": "Answered for by",
    "sign_off_bodies": "Sign-off bodies",
}
PLAN_SETTINGS_FIELDS = ("title", "framework", "owner_body", "monitoring_body", "partner", "owner")


def action_plan_texts(plan: ActionPlan) -> dict[str, str]:
    """The plan's settings as a person reads them, for the record of their changes."""
    texts = {"title": plan.title}
    for name in PLAN_SETTINGS_FIELDS[1:]:
        texts[name] = _text(getattr(plan, name))
    texts["sign_off_bodies"] = ", ".join(body.name for body in sign_off_bodies_of_plan(plan=plan))
    return texts


PLAN_CHANGES = Recorded(
    AuditEntry.Subject.PLAN, PLAN_FIELD_LABELS, action_plan_texts, name=attrgetter("title")
)


def action_plan_validate(plan: ActionPlan) -> None:
    """The rules a plan's own settings keep, keyed by field for the forms."""
    errors = {}
    if not plan.title.strip():
        errors["title"] = "Enter the plan's title."
    if plan.framework_id is not None and not (
        frameworks_visible(tenant=plan.tenant_id).filter(pk=plan.framework_id).exists()
    ):
        errors["framework"] = "Choose a national framework or one of this organisation's own."
    if (
        plan.owner_id is not None
        and not Membership.objects.filter(
            tenant_id=plan.tenant_id,
            user_id=plan.owner_id,
            role__in=roles_that_can(Capability.DELIVER),
        ).exists()
    ):
        errors["owner"] = "Choose a member of this organisation who is not a read-only viewer."
    if errors:
        raise ValidationError(errors)
    plan.title = plan.title.strip()
    plan.full_clean()


@transaction.atomic
def action_plan_create(
    *,
    tenant: Tenant,
    framework: Framework,
    title: str,
    owner_body: SignOffBody,
    owner: User | None = None,
    sign_off_bodies: Iterable[SignOffBody] = (),
    monitoring_body: SignOffBody | None = None,
    partner: Partner | None = None,
    by: User | None = None,
) -> ActionPlan:
    """Create a plan; its endorsing body may endorse it, and ``sign_off_bodies`` may sign off
    its actions. Tenant administrators only."""
    _enforce(administer_refusal(by=by, tenant=tenant))
    title = texts_clean(title=(PLAN_TITLE, title))["title"]
    plan = ActionPlan(
        tenant=tenant,
        framework=framework,
        title=title,
        owner_body=owner_body,
        monitoring_body=monitoring_body,
        partner=partner,
        owner=owner,
    )
    action_plan_validate(plan)
    plan.save()
    _grant_to_body(plan=plan, body=owner_body, codename="endorse_plan")
    for body in sign_off_bodies:
        _grant_to_body(plan=plan, body=body, codename="sign_off_actions")
    PLAN_CHANGES.record(plan, by=by, before={}, summary="Plan created")
    return plan


@transaction.atomic
def action_plan_update(
    *,
    plan: ActionPlan,
    by: User | None,
    sign_off_bodies: Iterable[SignOffBody] | None = None,
    **changes,
) -> ActionPlan:
    """Change a plan's settings (``PLAN_SETTINGS_FIELDS``) and, given ``sign_off_bodies``, make
    them exactly the bodies that may sign off its actions. Tenant administrators only; what
    really changed is recorded, before and after."""
    unknown = set(changes) - set(PLAN_SETTINGS_FIELDS)
    if unknown:
        raise ValueError(f"Not a plan setting: {', '.join(sorted(unknown))}")
    _enforce(administer_refusal(by=by, tenant=plan.tenant_id))
    plan = ActionPlan.objects.select_for_update().get(pk=plan.pk, tenant_id=plan.tenant_id)
    before = action_plan_texts(plan)
    previous_owner_body_id, previous_framework_id = plan.owner_body_id, plan.framework_id
    for name, value in changes.items():
        setattr(plan, name, value.strip() if isinstance(value, str) else value)
    errors = {}
    if plan.framework_id != previous_framework_id and (refusal := framework_change_refusal(plan)):
        errors["framework"] = refusal.message
    if plan.owner_body_id != previous_owner_body_id and (
        refusal := endorsing_body_change_refusal(plan)
    ):
        errors["owner_body"] = refusal.message
    if errors:
        raise ValidationError(errors)
    action_plan_validate(plan)
    plan.save()
    if plan.owner_body_id != previous_owner_body_id:
        _revoke_from_body(plan=plan, body_id=previous_owner_body_id, codename="endorse_plan")
        _grant_to_body(plan=plan, body=plan.owner_body, codename="endorse_plan")
    if sign_off_bodies is not None:
        _set_sign_off_bodies(plan, list(sign_off_bodies))
    PLAN_CHANGES.record(plan, by=by, before=before, summary="Plan settings changed")
    return plan


def _set_sign_off_bodies(plan: ActionPlan, bodies: list[SignOffBody]) -> None:
    wanted = {body.pk: body for body in bodies}
    current = {body.pk: body for body in sign_off_bodies_of_plan(plan=plan)}
    if set(current) - set(wanted):
        _lock_open_actions(plan)
    refusals = [
        refusal.message
        for pk, body in current.items()
        if pk not in wanted and (refusal := sign_off_revoke_refusal(plan, body))
    ]
    if refusals:
        raise ValidationError({"sign_off_bodies": refusals})
    for pk, body in current.items():
        if pk not in wanted:
            _revoke_from_body(plan=plan, body_id=body.pk, codename="sign_off_actions")
    for pk, body in wanted.items():
        if pk not in current:
            _grant_to_body(plan=plan, body=body, codename="sign_off_actions")


def _lock_open_actions(plan: ActionPlan) -> None:
    """Before a body loses its right to sign off the plan's actions: an action's sign-off body
    is changed with the action locked, so an action being given that body now is waited for and
    then counted, and one changed after sees the right gone."""
    list(
        Action.objects.select_for_update()
        .filter(tenant_id=plan.tenant_id, plan_id=plan.pk, state__in=Action.OPEN_STATES)
        .values_list("pk", flat=True)
    )


def _grant_to_body(*, plan: ActionPlan, body: SignOffBody, codename: str) -> None:
    if body.tenant_id != plan.tenant_id:
        raise ValidationError("That sign-off body belongs to another organisation.")
    ActionPlanGroupObjectPermission.objects.get_or_create(
        tenant_id=plan.tenant_id,
        group_id=body.group_id,
        permission=_permission(codename),
        content_object=plan,
    )


def _revoke_from_body(*, plan: ActionPlan, body_id: int, codename: str) -> None:
    ActionPlanGroupObjectPermission.objects.filter(
        tenant_id=plan.tenant_id,
        group__sign_off_bodies=body_id,
        permission=_permission(codename),
        content_object=plan,
    ).delete()


@transaction.atomic
def action_plan_authorise_sign_off_body(
    *, plan: ActionPlan, body: SignOffBody, by: User | None = None
) -> None:
    """Let ``body`` sign off actions in ``plan``."""
    _enforce(administer_refusal(by=by, tenant=plan.tenant_id))
    plan = ActionPlan.objects.select_for_update().get(pk=plan.pk, tenant_id=plan.tenant_id)
    before = action_plan_texts(plan)
    _grant_to_body(plan=plan, body=body, codename="sign_off_actions")
    PLAN_CHANGES.record(plan, by=by, before=before, summary=f"{body} may sign off actions")


@transaction.atomic
def action_plan_revoke_sign_off_body(
    *, plan: ActionPlan, body: SignOffBody, by: User | None = None
) -> None:
    """Stop ``body`` signing off actions in ``plan``; refused while it is the sign-off body of
    open actions there, which would otherwise wait for a body that may not sign them off."""
    _enforce(administer_refusal(by=by, tenant=plan.tenant_id))
    plan = ActionPlan.objects.select_for_update().get(pk=plan.pk, tenant_id=plan.tenant_id)
    _lock_open_actions(plan)
    _enforce(sign_off_revoke_refusal(plan, body))
    before = action_plan_texts(plan)
    _revoke_from_body(plan=plan, body_id=body.pk, codename="sign_off_actions")
    PLAN_CHANGES.record(
        plan, by=by, before=before, summary=f"{body} may no longer sign off actions"
    )


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


def action_create_clean(
    *,
    plan: ActionPlan,
    by: User,
    reference: str,
    title: str,
    description: str = "",
    recommendations: Sequence[Recommendation] = (),
    lead_officer: User | None = None,
    lead_partner: Partner | None = None,
    supporting_partners: Sequence[Partner] = (),
    due_date: datetime.date | None = None,
    sign_off_body: SignOffBody | None = None,
) -> Action:
    """Every check ``action_create`` makes: the new action, not yet saved, or the refusal
    (``PermissionDenied``) or what is wrong by field (``ValidationError``). The operator's admin
    asks it to show each error beside its field before saving through ``action_create``."""
    _enforce(action_editing_refusal(Actor(by, plan.tenant_id), plan, "add actions to a plan"))
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
    action.full_clean()
    action_links_validate(action, recommendations, supporting_partners)
    return action


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
    """Add a proposed action to ``plan``. Added to an endorsed plan, it varies what the
    endorsing body endorsed: the plan's history says so and the body is told."""
    # Locked, so the plan cannot be endorsed between the check below and the new action.
    plan = (
        ActionPlan.objects.select_for_update(of=("self",))
        .select_related("partner")
        .get(pk=plan.pk, tenant_id=plan.tenant_id)
    )
    recommendations, supporting_partners = list(recommendations), list(supporting_partners)
    action = action_create_clean(
        plan=plan,
        by=by,
        reference=reference,
        title=title,
        description=description,
        recommendations=recommendations,
        lead_officer=lead_officer,
        lead_partner=lead_partner,
        supporting_partners=supporting_partners,
        due_date=due_date,
        sign_off_body=sign_off_body,
    )
    action.save()
    _set_links(action, recommendations, supporting_partners)
    action_change_record(
        action=action,
        by=by,
        before={},
        after=action_detail_texts(action, [*ACTION_DETAIL_FIELDS, "recommendations"]),
        summary="Action added",
    )
    if plan.state == ActionPlan.State.ENDORSED:
        plan_variation_record(plan=plan, by=by, change=f"action {action.reference} added")
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


def action_update_clean(
    *,
    action: Action,
    by: User,
    recommendations: Sequence[Recommendation] | None = None,
    supporting_partners: Sequence[Partner] | None = None,
    reason: str = "",
    **changes,
) -> tuple[dict, str]:
    """Every check ``action_update`` makes, on ``action`` as it stands, which is left as it
    was: the changes and the reason cleaned, or the refusal (``PermissionDenied``) or what is
    wrong by field (``ValidationError``). The operator's admin asks it to show each error beside
    its field before saving through ``action_update``."""
    unknown = set(changes) - ACTION_DETAIL_FIELDS
    if unknown:
        raise ValueError(f"Not editable here: {', '.join(sorted(unknown))}")
    _enforce(details_change_refusal(Actor(by, action.tenant_id), action))
    texts = {name: (rule, changes[name]) for name, rule in ACTION_TEXTS.items() if name in changes}
    cleaned = texts_clean(**texts, reason=(CHANGE_REASON, reason))
    reason = cleaned.pop("reason")
    changes = {**changes, **cleaned}
    previous_due = action.due_date
    new_due = changes.get("due_date", previous_due)
    if previous_due is not None and new_due is not None and new_due > previous_due and not reason:
        raise ValidationError(
            {"reason": "Say why the due date moves later: the board will read it in the history."}
        )
    changed = copy.copy(action)
    for name, value in changes.items():
        setattr(changed, name, value)
    changed.full_clean()
    action_links_validate(changed, recommendations, supporting_partners)
    return changes, reason


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
    """Change an action's details. Its plan's managers and the operator only, and only while
    the action is not yet evidenced, signed off or withdrawn: what a board signs off must not
    change under it. What really changed is recorded, before and after, with the reason given;
    moving the due date later needs one, so the board can see why an action slipped."""
    action = Action.objects.select_for_update().get(pk=action.pk, tenant_id=action.tenant_id)
    recommendations = list(recommendations) if recommendations is not None else None
    supporting_partners = list(supporting_partners) if supporting_partners is not None else None
    changes, reason = action_update_clean(
        action=action,
        by=by,
        recommendations=recommendations,
        supporting_partners=supporting_partners,
        reason=reason,
        **changes,
    )
    compared = [
        *changes,
        *(["recommendations"] if recommendations is not None else []),
        *(["supporting_partners"] if supporting_partners is not None else []),
    ]
    before = action_detail_texts(action, compared)
    previous_lead_id = action.lead_officer_id
    for name, value in changes.items():
        setattr(action, name, value)
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


def evidence_add_file(
    *, action: Action, by: User, upload, description: str
) -> Evidence | QuarantinedEvidence:
    """Add a file as evidence, once the virus scanner has found it clean.

    A file the scanner cannot check now (down, slow, not configured) waits in quarantine and is
    returned as such: a later scan (``quarantined_evidence_scan``) accepts or refuses it. A file
    with a virus is refused with a message for the uploader; nothing is kept, the refusal is
    recorded and the organisation's administrators are told. The scan runs before any
    transaction opens, so no row stays locked while the scanner reads the file."""
    _enforce(evidence_refusal(Actor(by, action.tenant_id), action))
    description = texts_clean(description=(EVIDENCE_DESCRIPTION, description))["description"]
    checked = check_upload(upload)
    try:
        verdict = virus_scan(upload)
    except ScannerUnavailable as problem:
        log.warning("Evidence for action %s held in quarantine: %s", action.pk, problem)
        return _evidence_quarantine(
            action=action, by=by, upload=upload, checked=checked, description=description
        )
    if not verdict.clean:
        _evidence_virus_record(
            action=action, uploaded_by=by, file_name=checked.name, found=verdict.found, later=False
        )
        raise ValidationError({"file": VIRUS_FOUND})
    return _evidence_file_store(
        action=action, by=by, file=upload, checked=checked, description=description
    )


@transaction.atomic
def _evidence_file_store(
    *, action: Action, by: User, file, checked: CheckedUpload, description: str
) -> Evidence:
    action = _locked(action)
    _enforce(evidence_refusal(Actor(by, action.tenant_id), action))
    evidence = Evidence(
        tenant_id=action.tenant_id,
        action=action,
        description=description,
        **checked.stored_fields(),
        uploaded_by=by,
    )
    # The file is written before the row; a rollback leaves an orphan file, never a row
    # pointing at nothing.
    evidence.file.save(checked.storage_key, file, save=False)
    evidence.save()
    return evidence


@transaction.atomic
def _evidence_quarantine(
    *, action: Action, by: User, upload, checked: CheckedUpload, description: str
) -> QuarantinedEvidence:
    action = _locked(action)
    _enforce(evidence_refusal(Actor(by, action.tenant_id), action))
    quarantine_storage().save(checked.storage_key, upload)
    item = QuarantinedEvidence.objects.create(
        tenant_id=action.tenant_id,
        action=action,
        description=description,
        **checked.stored_fields(),
        uploaded_by=by,
    )
    # Imported here: the tasks module imports this one.
    from plans.tasks import quarantined_evidence_scan_task

    # Robust: the upload has committed; if the broker cannot take the scan now, the scheduled
    # scan of everything waiting picks the file up.
    transaction.on_commit(
        lambda: quarantined_evidence_scan_task.apply_async(
            kwargs={"item_id": item.pk}, countdown=settings.QUARANTINE_RETRY_SECONDS
        ),
        robust=True,
    )
    return item


# A refused or discarded file is recorded with what the scanner found, for the organisation's
# administrators in the record of changes; not on the action's timeline, which everyone reads.
EVIDENCE_REFUSALS = Recorded(
    AuditEntry.Subject.EVIDENCE_FILE,
    {
        "action": "Action",
        "file": "File",
        "uploaded_by": "Uploaded by",
        "found": "Virus found",
        "why": "Why",
    },
    name=lambda action: f"Evidence for action {action.reference}",
)


def _refused_file(action: Action, file_name: str, uploaded_by: User, **more: str) -> dict:
    return {
        "action": f"{action.reference} {action.title}",
        "file": file_name,
        "uploaded_by": str(uploaded_by),
        **more,
    }


def _evidence_virus_record(
    *, action: Action, uploaded_by: User, file_name: str, found: str, later: bool
) -> AuditEntry:
    with transaction.atomic():
        entry = EVIDENCE_REFUSALS.record(
            action,
            by=None if later else uploaded_by,
            summary="Evidence refused: a virus was found",
            before={},
            after=_refused_file(action, file_name, uploaded_by, found=found),
        )
        evidence_virus_found.send(
            sender=Action,
            action=action,
            file_name=file_name,
            uploaded_by=uploaded_by,
            entry=entry,
            later=later,
        )
    log.warning("A virus (%s) was found in evidence for action %s; refused.", found, action.pk)
    return entry


class QuarantineOutcome:
    ACCEPTED = "accepted"
    REFUSED = "refused"
    DISCARDED = "discarded"
    WAITING = "waiting"
    GONE = "gone"


def quarantined_evidence_scan(*, item_id: int) -> str:
    """Scan a file waiting in quarantine again. Clean, it becomes evidence (or, if its action can
    no longer take evidence from its uploader, it is discarded and they are told why); with a
    virus it is refused and deleted, recorded and the administrators told; still unchecked, it
    keeps waiting, with the attempt and its problem noted. Returns what happened (a
    ``QuarantineOutcome``). Runs in the item's tenant scope."""
    item = QuarantinedEvidence.objects.filter(pk=item_id).first()
    if item is None:
        return QuarantineOutcome.GONE
    try:
        with quarantine_storage().open(item.storage_key, "rb") as file:
            verdict = virus_scan(file)
    except FileNotFoundError:
        # Kept waiting, not discarded: a worker that does not share the web's QUARANTINE_ROOT
        # is a deployment to fix, and the file may be there once it is.
        problem = "The file is not in this process's QUARANTINE_ROOT."
        log.error("Evidence waiting for a virus check (%s): %s", item.pk, problem)
        QuarantinedEvidence.objects.filter(pk=item.pk).update(
            attempts=F("attempts") + 1, last_attempt_at=timezone.now(), last_problem=problem
        )
        return QuarantineOutcome.WAITING
    except ScannerUnavailable as problem:
        QuarantinedEvidence.objects.filter(pk=item.pk).update(
            attempts=F("attempts") + 1,
            last_attempt_at=timezone.now(),
            last_problem=str(problem)[:300],
        )
        return QuarantineOutcome.WAITING
    if not verdict.clean:
        return _quarantined_evidence_refuse(item_id=item.pk, found=verdict.found)
    return _quarantined_evidence_accept(item_id=item.pk)


def quarantine_waiting() -> list[tuple[int, Tenant]]:
    """Every file waiting in quarantine, oldest first, with its organisation: the one read
    across organisations here, for the scheduled scan, which then scans each in its own."""
    with across_tenants():
        return [
            (item.pk, item.tenant)
            for item in QuarantinedEvidence.objects.select_related("tenant").order_by(
                "uploaded_at", "pk"
            )
        ]


def quarantined_evidence_tenant(*, item_id: int) -> Tenant | None:
    """The organisation a file waiting in quarantine belongs to, for the task that scans it."""
    with across_tenants():
        item = QuarantinedEvidence.objects.select_related("tenant").filter(pk=item_id).first()
    return None if item is None else item.tenant


def quarantine_scan() -> dict[str, int]:
    """Scan every file waiting in quarantine again; how many had each outcome."""
    outcomes: dict[str, int] = {}
    for item_id, tenant in quarantine_waiting():
        with tenant_scope(tenant):
            outcome = quarantined_evidence_scan(item_id=item_id)
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    return outcomes


def _quarantine_take(item_id: int) -> tuple[QuarantinedEvidence, Action] | None:
    """The item and its action, both locked (the action first, as every evidence write locks
    it), and the item's row deleted, or None when another scan has already decided it."""
    action_id = (
        QuarantinedEvidence.objects.filter(pk=item_id).values_list("action_id", flat=True).first()
    )
    if action_id is None:
        return None
    action = Action.objects.select_for_update().get(pk=action_id)
    item = (
        QuarantinedEvidence.objects.select_for_update()
        .select_related("uploaded_by")
        .filter(pk=item_id)
        .first()
    )
    if item is None:
        return None
    item.delete()
    storage, key = quarantine_storage(), item.storage_key
    transaction.on_commit(lambda: storage.delete(key), robust=True)
    return item, action


@transaction.atomic
def _quarantined_evidence_accept(*, item_id: int) -> str:
    taken = _quarantine_take(item_id)
    if taken is None:
        return QuarantineOutcome.GONE
    item, action = taken
    refusal = evidence_refusal(Actor(item.uploaded_by, action.tenant_id), action)
    if refusal is not None:
        EVIDENCE_REFUSALS.record(
            action,
            by=None,
            summary="Evidence not added after its virus check",
            before={},
            after=_refused_file(action, item.original_name, item.uploaded_by, why=refusal.message),
        )
        quarantined_evidence_checked.send(
            sender=Action,
            action=action,
            file_name=item.original_name,
            uploaded_by=item.uploaded_by,
            evidence=None,
            refusal=refusal.message,
        )
        return QuarantineOutcome.DISCARDED
    checked = CheckedUpload(
        name=item.original_name,
        content_type=item.content_type,
        size=item.size,
        sha256=item.sha256,
        storage_key=item.storage_key,
    )
    with quarantine_storage().open(item.storage_key, "rb") as file:
        evidence = _evidence_file_store(
            action=action,
            by=item.uploaded_by,
            file=file,
            checked=checked,
            description=item.description,
        )
    quarantined_evidence_checked.send(
        sender=Action,
        action=action,
        file_name=item.original_name,
        uploaded_by=item.uploaded_by,
        evidence=evidence,
        refusal="",
    )
    return QuarantineOutcome.ACCEPTED


@transaction.atomic
def _quarantined_evidence_refuse(*, item_id: int, found: str) -> str:
    taken = _quarantine_take(item_id)
    if taken is None:
        return QuarantineOutcome.GONE
    item, action = taken
    _evidence_virus_record(
        action=action,
        uploaded_by=item.uploaded_by,
        file_name=item.original_name,
        found=found,
        later=True,
    )
    return QuarantineOutcome.REFUSED


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


# -- variations to endorsed plans and adoptions between plans ----------------------------------


@transaction.atomic
def plan_variation_record(
    *,
    plan: ActionPlan,
    by: User,
    change: str,
    summary: str = "",
    reason: str = "",
    labels: dict[str, str] | None = None,
    after: dict[str, str] | None = None,
) -> AuditEntry:
    """Record in ``plan``'s history that what its endorsing body endorsed has changed
    (``change``: "action 4.2 added"; ``after``: what it brought, field by field, if anything),
    and tell the body. Called inside the transaction of the change it records."""
    entry = audit_record(
        tenant_id=plan.tenant_id,
        actor=by,
        subject_type=AuditEntry.Subject.PLAN,
        subject_id=plan.pk,
        subject_label=plan.title,
        summary=summary or f"Variation: {change}",
        labels=labels,
        after=after,
        reason=reason,
        always=True,
    )
    plan_varied.send(sender=ActionPlan, plan=plan, entry=entry, change=change, by=by)
    return entry


# An adoption is recorded on the action with the plan and reference it moved between.
ADOPTION_CHANGES = Recorded(AuditEntry.Subject.ACTION, {"plan": "Plan", "reference": "Reference"})


@transaction.atomic
def action_adopt(*, action: Action, into_plan: ActionPlan, by: User, reference: str) -> Action:
    """Move ``action`` from an agency's plan into the partnership plan ``into_plan`` as
    ``reference``, without re-keying: its steps, approvals, progress, evidence and delegates go
    with it. Both plans' histories and the action's record it.

    Taken from an endorsed agency plan, it varies that plan (see ``adopting_from_refusal``);
    added to an endorsed partnership plan, it varies that one. Each endorsing body is told.
    """
    # The action is locked first: of two people adopting it at once, the second finds it gone.
    action = _locked(action)
    source = (
        ActionPlan.objects.select_related("partner", "framework")
        .select_for_update(of=("self",))
        .get(pk=action.plan_id, tenant_id=action.tenant_id)
    )
    action.plan = source
    into_plan = (
        ActionPlan.objects.select_related("framework", "monitoring_body")
        .select_for_update(of=("self",))
        .get(pk=into_plan.pk, tenant_id=into_plan.tenant_id)
    )
    _enforce(adoption_refusal(Actor(by, action.tenant_id), action, into_plan))
    reference = reference.strip()
    if not reference:
        raise ValidationError(
            {"reference": f"Enter the action's reference in {into_plan.title}, for example 5.1."}
        )
    if len(reference) > Action._meta.get_field("reference").max_length:
        raise ValidationError({"reference": "A reference is at most 20 characters long."})
    clash = ValidationError(
        {"reference": f"Another action in {into_plan.title} already has the reference {reference}."}
    )
    if Action.objects.filter(
        tenant_id=into_plan.tenant_id, plan=into_plan, reference=reference
    ).exists():
        raise clash

    old_reference = action.reference
    action.plan = into_plan
    action.reference = reference
    try:
        with transaction.atomic():
            action.save(update_fields=["plan", "reference", "updated_at"])
    except IntegrityError:
        # Another action took the reference since the check above.
        raise clash from None
    ActionAdoption.objects.create(
        tenant_id=action.tenant_id,
        action=action,
        from_plan=source,
        to_plan=into_plan,
        from_reference=old_reference,
        to_reference=reference,
        by=by,
    )
    ADOPTION_CHANGES.record(
        action,
        by=by,
        summary=f"Adopted from {source.title} into {into_plan.title}",
        before={"plan": source.title, "reference": old_reference},
        after={"plan": into_plan.title, "reference": reference},
        always=True,
    )
    went = f"adopted into {into_plan.title} as {reference}"
    if source.state == ActionPlan.State.ENDORSED:
        plan_variation_record(
            plan=source,
            by=by,
            change=f"action {old_reference} {went}",
            summary=f"Action {old_reference} {went}; the endorsed agency plan varied",
        )
    else:
        PLAN_CHANGES.event(source, by=by, summary=f"Action {old_reference} {went}")
    came = f"adopted from {source.title} ({old_reference})"
    if into_plan.state == ActionPlan.State.ENDORSED:
        plan_variation_record(plan=into_plan, by=by, change=f"action {reference} added, {came}")
    else:
        PLAN_CHANGES.event(into_plan, by=by, summary=f"Action {reference} {came}")
    return action
