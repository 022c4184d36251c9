"""Who may move actions and plans through their workflows, and what must be true first; and who
may change an action's details, report on it, write its completion statement and choose its
delegates.

The rules are read by the services and by the pages, so a button or form is offered only when
the service would accept it.
"""

from collections import defaultdict

from plans.models import (
    Action,
    ActionGroupObjectPermission,
    ActionPlan,
    ActionPlanGroupObjectPermission,
    ActionUserObjectPermission,
    Evidence,
)
from tenants.models import Capability, SignOffBodyMember
from tenants.rules import Refusal
from tenants.text import has_visible_text
from workflow.engine import Actor, Condition, Transition, Workflow


def is_manager(actor: Actor, obj=None) -> bool:
    return actor.can(Capability.MANAGE_ACTIONS)


def manages_plan(actor: Actor, plan: ActionPlan) -> bool:
    """Who may change a plan and its actions. Any manager or tenant administrator manages a
    partnership plan; an agency's own plan is managed by the managers who work for that agency
    and by tenant administrators, not by the managers of other agencies. Reading stays open."""
    if not is_manager(actor):
        return False
    if plan.partner_id is None or actor.can(Capability.ADMINISTER):
        return True
    return actor.membership.partner_id == plan.partner_id


def manages_action(actor: Actor, action: Action) -> bool:
    return manages_plan(actor, action.plan)


def _agency_managers(plan: ActionPlan) -> str:
    """Who manages ``plan`` in words, after "Only"."""
    if plan.partner_id is None:
        return "a manager or tenant administrator"
    return f"a manager who works for {plan.partner.name} or a tenant administrator"


def is_delegate(actor: Actor, action: Action) -> bool:
    """A person the lead officer or a manager has asked to deliver this one action."""
    return actor.remember(
        ("delegate", action.pk),
        lambda: (
            ActionUserObjectPermission.objects.filter(
                tenant_id=action.tenant_id,
                content_object_id=action.pk,
                permission__codename="deliver_action",
                user=actor.user,
            ).exists()
            or ActionGroupObjectPermission.objects.filter(
                tenant_id=action.tenant_id,
                content_object_id=action.pk,
                permission__codename="deliver_action",
                group__user=actor.user,
            ).exists()
        ),
    )


def delivers(actor: Actor, action: Action) -> bool:
    return actor.is_user(action.lead_officer_id) or is_delegate(actor, action)


def plan_grants(body_id: int | None, plan_id: int, tenant_id: int, codename: str) -> bool:
    """Whether the plan grants ``codename`` to the sign-off body's group."""
    if body_id is None:
        return False
    return ActionPlanGroupObjectPermission.objects.filter(
        tenant_id=tenant_id,
        content_object_id=plan_id,
        group__sign_off_bodies=body_id,
        permission__codename=codename,
    ).exists()


def signs_off(actor: Actor, action: Action) -> bool:
    """A member of the action's sign-off body, where the plan authorises that body."""
    return actor.sits_on(action.sign_off_body_id) and actor.remember(
        ("signs off", action.pk, action.sign_off_body_id),
        lambda: plan_grants(
            action.sign_off_body_id, action.plan_id, action.tenant_id, "sign_off_actions"
        ),
    )


def delivered_by(action: Action) -> dict[int, str]:
    """Everyone who delivered the action as it now stands, by user id, with their part in it:
    its lead officer, its delegates, whoever added its evidence or wrote its completion
    statement, and whoever submitted it. Read once per loaded action."""
    cached = action.__dict__.get("_delivered_by")
    if cached is None:
        # The action page has its evidence already.
        evidence = getattr(action, "_prefetched_objects_cache", {}).get("evidence")
        uploads = None if evidence is None else {action.pk: [e.uploaded_by_id for e in evidence]}
        cached = delivered_by_each([action], uploads=uploads)[action.pk]
        action.__dict__["_delivered_by"] = cached
    return cached


def delivered_by_each(
    actions: list[Action], *, uploads: dict[int, list[int]] | None = None
) -> dict[int, dict[int, str]]:
    """``delivered_by`` for many actions of one tenant in three queries, for queues;
    ``uploads`` (uploaders by action, oldest first) saves one where they are known."""
    if not actions:
        return {}
    tenant_id = actions[0].tenant_id
    ids = [action.pk for action in actions]
    delegates: dict[int, set[int]] = defaultdict(set)
    for action_id, user_id in ActionUserObjectPermission.objects.filter(
        tenant_id=tenant_id, content_object_id__in=ids, permission__codename="deliver_action"
    ).values_list("content_object_id", "user_id"):
        delegates[action_id].add(user_id)
    for action_id, user_id in ActionGroupObjectPermission.objects.filter(
        tenant_id=tenant_id,
        content_object_id__in=ids,
        permission__codename="deliver_action",
        group__user__isnull=False,
    ).values_list("content_object_id", "group__user"):
        delegates[action_id].add(user_id)
    uploaders: dict[int, list[int]] = defaultdict(list, uploads or {})
    if uploads is None:
        for action_id, user_id in (
            Evidence.objects.filter(tenant_id=tenant_id, action_id__in=ids)
            .order_by("uploaded_at", "pk")
            .values_list("action_id", "uploaded_by_id")
        ):
            uploaders[action_id].append(user_id)

    result = {}
    for action in actions:
        parts: dict[int, str] = {}
        # From the strongest part down: a lead officer who also uploaded is told the first.
        for user_id, part in (
            (action.lead_officer_id, "you are its lead officer"),
            *((user_id, "you are a delegate for it") for user_id in sorted(delegates[action.pk])),
            (action.evidence_submitted_by_id, "you submitted it for sign-off"),
            (action.completion_statement_by_id, "you wrote its completion statement"),
            *((user_id, "you added evidence for it") for user_id in uploaders[action.pk]),
        ):
            if user_id is not None:
                parts.setdefault(user_id, part)
        result[action.pk] = parts
    return result


def not_delivered_by(actor: Actor, action: Action) -> str | None:
    # Four-eyes rule: nobody who delivered the action may accept it on the body's behalf.
    part = delivered_by(action).get(actor.user.pk)
    if part is not None:
        return (
            f"{part[0].upper()}{part[1:]}, so another member of the sign-off body who did not "
            "deliver this action must sign it off."
        )
    return None


def enough_independent_signers(action: Action) -> bool:
    """The sign-off body has at least its quorum of members who did not deliver the action,
    so sending it for sign-off cannot leave it waiting for ever."""
    body = action.sign_off_body
    if body is None:
        return False
    independent = (
        SignOffBodyMember.objects.filter(
            tenant_id=action.tenant_id, body_id=body.pk, user__is_active=True
        )
        .exclude(user_id__in=list(delivered_by(action)))
        .count()
    )
    return independent >= body.quorum


def endorses(actor: Actor, plan: ActionPlan) -> bool:
    return actor.sits_on(plan.owner_body_id) and actor.remember(
        ("endorses", plan.pk, plan.owner_body_id),
        lambda: plan_grants(plan.owner_body_id, plan.pk, plan.tenant_id, "endorse_plan"),
    )


def not_own_submission(actor: Actor, plan: ActionPlan) -> str | None:
    if actor.is_user(plan.submitted_by_id):
        return "You submitted this plan, so another member of the owning body must endorse it."
    return None


def submission_leaves_a_quorum(actor: Actor, plan: ActionPlan) -> str | None:
    """Whoever submits a plan cannot endorse it, so the endorsing body must reach its quorum
    without them; otherwise the plan would wait for ever."""
    body = plan.owner_body
    others = (
        SignOffBodyMember.objects.filter(
            tenant_id=plan.tenant_id, body_id=body.pk, user__is_active=True
        )
        .exclude(user_id=actor.user.pk)
        .count()
    )
    if others < body.quorum:
        return (
            f"The {body.name} needs {body.quorum} members other than whoever submits this plan "
            f"to endorse it, and has {others}. Ask the tenant administrator to add a member "
            "or lower its quorum, or ask someone who does not sit on it to submit the plan."
        )
    return None


# -- what people may do to an action besides moving it -----------------------------------------

# What a board signs off must not change under it: details are fixed once evidenced.
EDITABLE_STATES = (Action.State.PROPOSED, Action.State.AGREED, Action.State.IN_PROGRESS)
STATEMENT_STATES = (Action.State.AGREED, Action.State.IN_PROGRESS)


def _state(action: Action) -> str:
    return action.get_state_display().lower()


def plan_management_refusal(actor: Actor, plan: ActionPlan, what: str) -> Refusal | None:
    """Why ``actor`` may not manage ``plan`` (``what``: "change an action"), or None. A manager
    of another agency is told whose plan it is."""
    if manages_plan(actor, plan):
        return None
    if is_manager(actor):
        return Refusal(
            f"Only managers who work for {plan.partner.name} can change this agency's plan."
        )
    return Refusal(f"Only managers can {what}.")


def edits_actions_of(actor: Actor, plan: ActionPlan) -> bool:
    """Who may add actions to ``plan`` and change their details: whoever manages it, and the
    service's operator, who corrects them in the admin without belonging to the organisation.
    The operator's change is recorded like a manager's; the workflow's steps stay with the
    organisation's own people (``manages_plan``)."""
    return manages_plan(actor, plan) or actor.user.is_operator


def action_editing_refusal(actor: Actor, plan: ActionPlan, what: str) -> Refusal | None:
    """Why ``actor`` may not add actions to ``plan`` or change their details (``what``: "add
    actions to a plan"), or None: the one rule the pages, the admin and the services ask."""
    if edits_actions_of(actor, plan):
        return None
    return plan_management_refusal(actor, plan, what)


def details_change_refusal(actor: Actor, action: Action) -> Refusal | None:
    """Changing an action's details: managers of its plan and the operator, until it is
    evidenced."""
    refusal = action_editing_refusal(actor, action.plan, "change an action")
    if refusal is not None:
        return refusal
    if action.state not in EDITABLE_STATES:
        return Refusal(
            f"This action is {_state(action)}; its details can no longer be changed.",
            not_now=True,
        )
    return None


def reporting_refusal(actor: Actor, action: Action, what: str) -> Refusal | None:
    """Adding progress or evidence (``what``: "add progress"): whoever delivers the action or a
    manager, while it is open."""
    if not (delivers(actor, action) or is_manager(actor)):
        return Refusal(f"Only the lead officer, a delegate or a manager can {what}.")
    if not action.is_open:
        return Refusal(f"This action is {_state(action)}; reopen it to {what}.", not_now=True)
    return None


def evidence_refusal(actor: Actor, action: Action) -> Refusal | None:
    """Adding evidence: as for progress, except while the action waits for sign-off: what the
    body is deciding on must not change under it. A return unfreezes it."""
    refusal = reporting_refusal(actor, action, "add evidence")
    if refusal is None and action.state == Action.State.EVIDENCED:
        return Refusal(
            "This action is waiting for sign-off, so its evidence cannot change until the "
            "sign-off body returns it.",
            not_now=True,
        )
    return refusal


def action_abilities(actor: Actor, action: Action) -> dict[str, bool]:
    """What may be done to ``action`` besides its workflow steps, by the rules above: pages
    offer a form only where the service would accept it."""
    return {
        "can_edit": details_change_refusal(actor, action) is None,
        "can_report": reporting_refusal(actor, action, "add progress") is None,
        "can_add_evidence": evidence_refusal(actor, action) is None,
        "can_write_statement": completion_statement_refusal(actor, action) is None,
        "can_delegate": delegates_refusal(actor, action, adding=True) is None,
        "can_remove_delegates": delegates_refusal(actor, action, adding=False) is None,
    }


def completion_statement_refusal(actor: Actor, action: Action) -> Refusal | None:
    """Writing the completion statement: whoever delivers the action or a manager, while it is
    agreed or in progress (once evidenced it is what the board is signing off)."""
    if not (delivers(actor, action) or is_manager(actor)):
        return Refusal(
            "Only the lead officer, a delegate or a manager can write the completion statement."
        )
    if action.state not in STATEMENT_STATES:
        return Refusal(
            "The completion statement can be written while the action is agreed or in progress.",
            not_now=True,
        )
    return None


def delegates_refusal(actor: Actor, action: Action, *, adding: bool) -> Refusal | None:
    """Adding or removing a delegate: the lead officer or a manager of the action's plan. A
    delegate is added only while the action is open, to deliver it; taking someone's rights
    away is always allowed."""
    what = "add a delegate" if adding else "remove a delegate"
    if not (actor.is_user(action.lead_officer_id) or manages_action(actor, action)):
        if is_manager(actor):
            return plan_management_refusal(actor, action.plan, what)
        return Refusal(f"Only the lead officer or a manager can {what}.")
    if adding and not action.is_open:
        return Refusal(
            f"This action is {_state(action)}; delegates are added only while it is open.",
            not_now=True,
        )
    return None


# -- a partnership plan adopting actions from its agencies' plans ------------------------------


def adopting_refusal(actor: Actor, plan: ActionPlan) -> Refusal | None:
    """Adopting any action into ``plan``: a partnership plan, by someone who manages it."""
    if plan.partner_id is not None:
        return Refusal(
            "Actions are adopted into a partnership plan, not into an agency's own plan."
        )
    if not manages_plan(actor, plan):
        return Refusal("Only managers can adopt actions into a partnership plan.")
    return None


def adopting_from_refusal(actor: Actor, source: ActionPlan, plan: ActionPlan) -> Refusal | None:
    """Adopting the actions of the agency plan ``source`` into ``plan``, whichever action.

    An endorsed agency plan is varied by losing an action, so the partnership plan's monitoring
    body takes that decision: the person adopting must sit on it.
    """
    if source.tenant_id != plan.tenant_id:
        return Refusal("That plan belongs to another organisation.")
    if source.partner_id is None:
        return Refusal(
            f"{source.title} is not an agency's plan: only an agency's actions can be adopted.",
            not_now=True,
        )
    if source.framework_id != plan.framework_id:
        return Refusal(
            f"{source.title} responds to {source.framework.title} and {plan.title} to "
            f"{plan.framework.title}: its actions answer recommendations that {plan.title} "
            "does not have.",
            not_now=True,
        )
    if source.state == ActionPlan.State.ENDORSED and not actor.sits_on(plan.monitoring_body_id):
        if plan.monitoring_body_id is None:
            return Refusal(
                f"{source.title} is endorsed, so adopting one of its actions varies it, which "
                f"the body monitoring {plan.title} decides; {plan.title} has no monitoring body."
            )
        return Refusal(
            f"{source.title} is endorsed, so adopting one of its actions varies it: only "
            f"members of the {plan.monitoring_body.name}, which monitors {plan.title}, can "
            "adopt its actions."
        )
    return None


def _bodies_signing_off(actor: Actor, plan: ActionPlan) -> frozenset[int]:
    return actor.remember(
        ("bodies signing off", plan.pk),
        lambda: frozenset(
            ActionPlanGroupObjectPermission.objects.filter(
                tenant_id=plan.tenant_id,
                content_object_id=plan.pk,
                permission__codename="sign_off_actions",
                group__sign_off_bodies__isnull=False,
            ).values_list("group__sign_off_bodies", flat=True)
        ),
    )


def adoption_refusal(actor: Actor, action: Action, plan: ActionPlan) -> Refusal | None:
    """Adopting ``action`` into the partnership plan ``plan``: the action moves, with its
    history, so it must still be open (not signed off or withdrawn) to answer for, and its
    sign-off body must be one the partnership plan lets sign off."""
    if action.plan_id == plan.pk:
        return Refusal(f"Action {action.reference} is already in {plan.title}.", not_now=True)
    refusal = adopting_refusal(actor, plan) or adopting_from_refusal(actor, action.plan, plan)
    if refusal is not None:
        return refusal
    if not action.is_open:
        # The partnership takes on an action to deliver it; one closed in the agency's plan
        # stays there, with the record of how it closed.
        state = _state(action)
        return Refusal(
            f"Action {action.reference} is {state}; a {state} action cannot be adopted.",
            not_now=True,
        )
    if action.sign_off_body_id is not None and action.sign_off_body_id not in (
        _bodies_signing_off(actor, plan)
    ):
        return Refusal(
            f"Action {action.reference} is signed off by the {action.sign_off_body.name}, which "
            f"is not authorised to sign off actions in {plan.title}: its sign-off body must "
            "change first.",
            not_now=True,
        )
    return None


ACTION_WORKFLOW = Workflow(
    state_field="state",
    transitions=(
        Transition(
            name="agree",
            label="Agree the action",
            who=lambda a: _agency_managers(a.plan),
            allowed=manages_action,
            description=(
                "The partnership commits to the action as it stands: its lead officer can start "
                "work, and it is chased against its due date from now on."
            ),
            conditions=(
                Condition("Name a lead officer.", lambda a: a.lead_officer_id is not None),
                Condition("Name a lead partner.", lambda a: a.lead_partner_id is not None),
                Condition("Set a due date.", lambda a: a.due_date is not None),
                Condition("Choose a sign-off body.", lambda a: a.sign_off_body_id is not None),
            ),
        ),
        Transition(
            name="start",
            label="Start work",
            who=lambda a: (
                "the lead officer, a delegate or a manager"
                if a.plan.partner_id is None
                else f"the lead officer, a delegate, a manager who works for "
                f"{a.plan.partner.name} or a tenant administrator"
            ),
            allowed=lambda actor, a: delivers(actor, a) or manages_action(actor, a),
            description="Records that work on the action has begun.",
        ),
        Transition(
            name="submit_evidence",
            label="Submit for sign-off",
            who="the lead officer or a delegate",
            allowed=delivers,
            description=(
                "The evidence and the completion statement go to the action's sign-off body, "
                "which signs the action off or returns it. Its details can no longer be changed, "
                "and you cannot sign it off yourself."
            ),
            done="Submitted for sign-off.",
            conditions=(
                Condition("Add at least one item of evidence.", lambda a: a.evidence.exists()),
                # The board signs off what was submitted: a file still waiting for its virus
                # check would otherwise join the evidence while the board decides.
                Condition(
                    "Wait until the files waiting for a virus check have been checked.",
                    lambda a: not a.evidence_waiting.exists(),
                ),
                Condition(
                    "Write a completion statement.",
                    lambda a: has_visible_text(a.completion_statement),
                ),
                Condition(
                    "The sign-off body has too few members who did not deliver this action to "
                    "reach its quorum: ask the tenant administrator to add a member first.",
                    enough_independent_signers,
                ),
            ),
        ),
        Transition(
            name="sign_off",
            label="Sign off",
            who="a member of the action's sign-off body",
            allowed=signs_off,
            needs_second_factor=True,
            forbidden=not_delivered_by,
            disqualified=delivered_by,
            approving_body=lambda a: a.sign_off_body,
            description=(
                "You accept, on behalf of the sign-off body, that the evidence shows the action "
                "is done and part of everyday practice."
            ),
            approval_text="signs it off",
        ),
        Transition(
            name="send_back",
            label="Return to in progress",
            who="a member of the action's sign-off body",
            allowed=signs_off,
            needs_second_factor=True,
            reason_required=True,
            reason_label="Why the evidence is not accepted",
            description=(
                "The evidence is not accepted. The lead officer is told the reason and can add "
                "to the evidence and submit it again; approvals given so far no longer count."
            ),
            style="warning",
        ),
        Transition(
            name="reopen",
            label="Reopen",
            who="a member of the action's sign-off body",
            allowed=signs_off,
            needs_second_factor=True,
            reason_required=True,
            reason_label="Why the action is reopened",
            description=(
                "A signed-off action goes back to its lead officer, for example when an audit "
                "finds the change has not lasted."
            ),
            style="secondary",
        ),
        Transition(
            name="withdraw",
            label="Withdraw",
            who=lambda a: _agency_managers(a.plan),
            allowed=manages_action,
            reason_required=True,
            reason_label="Why the action is withdrawn (for example, superseded by 4.1)",
            description=(
                "The action is closed without being delivered, for example because another "
                "action supersedes it. It stays in the plan and its history is kept."
            ),
            style="warning",
        ),
    ),
)

PLAN_WORKFLOW = Workflow(
    state_field="state",
    transitions=(
        Transition(
            name="submit",
            label="Submit for endorsement",
            who=_agency_managers,
            allowed=manages_plan,
            forbidden=submission_leaves_a_quorum,
            description=(
                "The plan goes to its owning body, which endorses it or returns it for "
                "redrafting. You cannot endorse it yourself."
            ),
            done="Submitted for endorsement.",
            conditions=(
                Condition(
                    "Add at least one action.",
                    lambda p: p.actions.exclude(state=Action.State.WITHDRAWN).exists(),
                ),
            ),
        ),
        Transition(
            name="endorse",
            label="Endorse the plan",
            who="a member of the plan's owning body",
            allowed=endorses,
            needs_second_factor=True,
            forbidden=not_own_submission,
            disqualified=lambda p: (
                {p.submitted_by_id: "you submitted it"} if p.submitted_by_id else {}
            ),
            approving_body=lambda p: p.owner_body,
            description="You endorse the plan on behalf of its owning body.",
            approval_text="endorses it",
        ),
        Transition(
            name="send_back",
            label="Return for redrafting",
            who="a member of the plan's owning body",
            allowed=endorses,
            needs_second_factor=True,
            reason_required=True,
            reason_label="What needs to change",
            description="The plan goes back to draft with what needs to change.",
            style="warning",
        ),
    ),
)

Action.workflow = ACTION_WORKFLOW
ActionPlan.workflow = PLAN_WORKFLOW


# -- a plan's settings -------------------------------------------------------------------------


def framework_change_refusal(plan: ActionPlan) -> Refusal | None:
    """A plan's actions answer its framework's recommendations, so the framework is fixed once
    the plan has any."""
    count = Action.objects.filter(tenant_id=plan.tenant_id, plan_id=plan.pk).count()
    if count:
        return Refusal(
            f"The framework can only be changed while the plan has no actions; it has {count}.",
            not_now=True,
        )
    return None


def endorsing_body_change_refusal(plan: ActionPlan) -> Refusal | None:
    """A plan waiting for endorsement keeps the body it was submitted to, whose members may
    already have approved it."""
    if plan.state == ActionPlan.State.SUBMITTED:
        return Refusal(
            "The plan is waiting for endorsement; its endorsing body can be changed once it is "
            "endorsed or sent back for redrafting.",
            not_now=True,
        )
    return None


def sign_off_revoke_refusal(plan: ActionPlan, body) -> Refusal | None:
    """A body stays authorised while it is the sign-off body of open actions in the plan:
    otherwise they would wait for a body that may no longer sign them off."""
    references = list(
        Action.objects.filter(
            tenant_id=plan.tenant_id,
            plan_id=plan.pk,
            sign_off_body_id=body.pk,
            state__in=Action.OPEN_STATES,
        )
        .order_by("reference")
        .values_list("reference", flat=True)
    )
    if not references:
        return None
    count = len(references)
    shown = ", ".join(references[:10]) + (f" and {count - 10} more" if count > 10 else "")
    return Refusal(
        f"{body} is the sign-off body of {count} open action{'' if count == 1 else 's'} in this "
        f"plan ({shown}); choose another sign-off body for "
        f"{'it' if count == 1 else 'them'} first.",
        not_now=True,
    )


def publishing_refusal(actor: Actor, plan: ActionPlan) -> Refusal | None:
    """Publishing a plan's report for a meeting: managers and tenant administrators. Anyone who
    reads the plan may read and download its reports and published copies."""
    if not is_manager(actor):
        return Refusal("Only managers and tenant administrators can publish a report.")
    return None
