"""Demo data: two tenants modelled on two councils' public 2009 Laming papers.

Central Bedfordshire Council's Executive endorses its plan, its LSCB board monitors it and signs
off partnership actions, and its management team signs off single-agency ones; Sunderland's
Children's Trust has each partner agency lead its own actions, merged by a task and finish group
into a draft plan that the Trust board monitors, with the police and the primary care trust's
own safeguarding committees chased about their agencies' long-overdue actions; the police keep
their own plan, endorsed by their committee, from which the Trust's plan adopted one action.
The organisations are real and their papers public; every person, e-mail address, action,
progress note and item of evidence here is fictional.

Everything is created through the services, and every state change through the one transition
service, so the demo's history is the history the workflow would have written.
"""

import datetime
import functools
from collections import Counter
from dataclasses import dataclass, replace

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.db import transaction

from plans import laming
from plans.demo.data import (
    DEMO_PASSWORD,
    DEMO_TENANTS,
    DEMO_TOTP_SECRET,
    OPERATOR_EMAIL,
    ActionSpec,
    AgencyPlanSpec,
    PlanSpec,
    S,
    TenantSpec,
)
from plans.models import Action, ActionPlan, Framework, Recommendation, Theme
from plans.services import (
    action_adopt,
    action_create,
    action_delegate,
    action_plan_create,
    action_set_completion_statement,
    evidence_add_link,
    progress_add,
)
from plans.signals import history_recorded
from tenants.models import Membership, Partner, SignOffBody, Tenant, User
from tenants.scoping import across_tenants, tenant_scope
from tenants.services import (
    membership_add,
    partner_create,
    partner_set_contact,
    sign_off_body_create,
    tenant_create,
)
from workflow.services import transition_perform


class DemoRefused(Exception):
    """The demo must not be built here; the message says why and what to do."""


# --- What the builder reports ---------------------------------------------------------------


@dataclass(frozen=True)
class DemoUser:
    email: str
    full_name: str
    tenant: str
    role: str
    second_factor: bool = False


@dataclass(frozen=True)
class DemoSummary:
    created: bool
    tenants: tuple[str, ...]
    users: tuple[DemoUser, ...]
    # tenant name -> action state -> count
    action_counts: dict[str, dict[str, int]]
    # (tenant name, plan title, plan state label)
    plans: tuple[tuple[str, str, str], ...] = ()
    password: str = DEMO_PASSWORD
    totp_secret: str = DEMO_TOTP_SECRET


# --- Building -------------------------------------------------------------------------------


def demo_build(*, today: datetime.date, force: bool = False) -> DemoSummary:
    """Create the national framework, the two demo tenants, their people and plans.

    Runs only with DEBUG on unless ``force``. When the demo tenants already exist, changes
    nothing and reports what is there.
    """
    if not settings.DEBUG and not force:
        raise DemoRefused(
            "DEBUG is off, so this looks like a production database: the demo was not built. "
            "Run with DEBUG=1, or pass force=True (--force) if you really mean to add demo "
            "tenants, users and a known password here."
        )
    slugs = [spec.slug for spec in DEMO_TENANTS]
    existing = set(Tenant.objects.filter(slug__in=slugs).values_list("slug", flat=True))
    if existing == set(slugs):
        return demo_summary(created=False)
    if existing:
        raise DemoRefused(
            f"Only some demo tenants exist ({', '.join(sorted(existing))}); remove them or use "
            "a fresh database."
        )
    with transaction.atomic(), history_recorded():
        framework = laming_framework_ensure()
        _operator_ensure()
        for spec in DEMO_TENANTS:
            _tenant_build(spec, framework=framework, today=today)
    return demo_summary(created=True)


@transaction.atomic
@across_tenants()
def laming_framework_ensure() -> Framework:
    """The national Laming 2009 outline; existing rows are left as they are, so an imported
    official text is never overwritten. National rows are written on the cross-tenant path."""
    framework, _ = Framework.objects.get_or_create(
        tenant=None,
        short_name=laming.SHORT_NAME,
        defaults={
            "title": laming.TITLE,
            "published": laming.PUBLISHED,
            "source": laming.SOURCE,
            "is_outline": True,
        },
    )
    for position, (theme_title, recommendations) in enumerate(laming.THEMES, start=1):
        theme, _ = Theme.objects.get_or_create(
            framework=framework, position=position, defaults={"title": theme_title}
        )
        for number, title in recommendations:
            Recommendation.objects.get_or_create(
                framework=framework, number=number, defaults={"theme": theme, "title": title}
            )
    return framework


@functools.cache
def _demo_password_hash() -> str:
    # Hashing is deliberately slow; every demo user shares the password, so hash it once.
    return make_password(DEMO_PASSWORD)


def _user_ensure(email: str, full_name: str) -> User:
    # A person may belong to both demo tenants: the second membership reuses the account.
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User(email=email, full_name=full_name, password=_demo_password_hash())
        user.save()
    return user


def _second_factor_ensure(user: User) -> None:
    """The demo key as ``user``'s authenticator app: board members, tenant administrators and
    the operator cannot decide anything without a second factor."""
    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, DEMO_TOTP_SECRET)


def _operator_ensure() -> User:
    user = User.objects.filter(email__iexact=OPERATOR_EMAIL).first()
    if user is None:
        user = User.objects.create_superuser(
            email=OPERATOR_EMAIL, password=DEMO_PASSWORD, full_name="Service operator"
        )
    _second_factor_ensure(user)
    return user


@dataclass
class _Built:
    """One tenant's demo objects by their keys in the spec, and the plan being filled in."""

    spec: TenantSpec
    today: datetime.date
    plan: ActionPlan
    plan_spec: PlanSpec
    manager: User  # manages ``plan``: creates, agrees and withdraws its actions
    people: dict[str, User]
    partners: dict[str, Partner]
    bodies: dict[str, SignOffBody]
    recommendations: dict[int, Recommendation]


def _plan_create(
    *,
    tenant: Tenant,
    framework: Framework,
    spec: PlanSpec,
    people: dict[str, User],
    bodies: dict[str, SignOffBody],
    partner: Partner | None = None,
) -> ActionPlan:
    return action_plan_create(
        tenant=tenant,
        framework=framework,
        title=spec.title,
        owner_body=bodies[spec.owner_body],
        monitoring_body=bodies[spec.monitoring_body] if spec.monitoring_body else None,
        owner=people[spec.owner],
        partner=partner,
        sign_off_bodies=[bodies[key] for key in spec.sign_off_bodies],
    )


def _tenant_build(spec: TenantSpec, *, framework: Framework, today: datetime.date) -> None:
    tenant = tenant_create(name=spec.name, slug=spec.slug, kind=spec.kind)
    with tenant_scope(tenant):
        partners = {
            p.key: partner_create(tenant=tenant, name=p.name, kind=p.kind) for p in spec.partners
        }
        people = {}
        for person in spec.people:
            user = _user_ensure(person.email, person.full_name)
            partner = partners[person.partner] if person.partner else None
            membership_add(tenant=tenant, user=user, role=person.role, partner=partner)
            people[person.key] = user
            if person.role in (Membership.Role.BOARD_MEMBER, Membership.Role.TENANT_ADMIN):
                _second_factor_ensure(user)
        for p in spec.partners:
            if p.contact:
                partner_set_contact(partner=partners[p.key], contact=people[p.contact])
        for b in spec.bodies:
            for key in {b.chair, *b.members}:
                _second_factor_ensure(people[key])
        bodies = {
            b.key: sign_off_body_create(
                tenant=tenant,
                name=b.name,
                kind=b.kind,
                partner=partners[b.partner] if b.partner else None,
                quorum=b.quorum,
                chair=people[b.chair],
                members=[people[key] for key in b.members],
            )
            for b in spec.bodies
        }
        built = _Built(
            spec=spec,
            today=today,
            plan=_plan_create(
                tenant=tenant, framework=framework, spec=spec.plan, people=people, bodies=bodies
            ),
            plan_spec=spec.plan,
            manager=people[spec.manager],
            people=people,
            partners=partners,
            bodies=bodies,
            recommendations={
                r.number: r for r in Recommendation.objects.filter(framework=framework)
            },
        )
        for action_spec in spec.actions:
            _action_build(built, action_spec)
        for agency_spec in spec.agency_plans:
            _agency_plan_build(built, agency_spec, framework=framework)
        _plan_walk(built)


def _agency_plan_build(partnership: _Built, spec: AgencyPlanSpec, *, framework: Framework) -> None:
    """An agency's own plan and its actions, managed by its own manager; the partnership plan's
    manager adopts the actions marked for it while the agency's plan is still a draft."""
    built = replace(
        partnership,
        plan=_plan_create(
            tenant=partnership.plan.tenant,
            framework=framework,
            spec=spec.plan,
            people=partnership.people,
            bodies=partnership.bodies,
            partner=partnership.partners[spec.partner],
        ),
        plan_spec=spec.plan,
        manager=partnership.people[spec.manager],
    )
    for action_spec in spec.actions:
        action = _action_build(built, action_spec)
        if action_spec.adopted_as:
            action_adopt(
                action=action,
                into_plan=partnership.plan,
                by=partnership.manager,
                reference=action_spec.adopted_as,
            )
    _plan_walk(built)


def _move(obj, name: str, user: User, comment: str = ""):
    return transition_perform(obj=obj, name=name, user=user, comment=comment).obj


def _action_build(built: _Built, spec: ActionSpec) -> Action:
    lead = built.people[spec.lead]
    action = action_create(
        plan=built.plan,
        by=built.manager,
        reference=spec.reference,
        title=spec.title,
        recommendations=[built.recommendations[n] for n in spec.recommendations],
        lead_officer=lead,
        lead_partner=built.partners[spec.partner],
        supporting_partners=[built.partners[key] for key in spec.supporting],
        due_date=built.today + datetime.timedelta(days=spec.due_in_days),
        sign_off_body=built.bodies[spec.body],
    )
    if spec.delegate:
        action_delegate(action=action, by=lead, delegate=built.people[spec.delegate])
    action = _action_walk(built, action, spec)
    if action.state != spec.state:
        raise RuntimeError(f"Demo action {spec.reference} ended {action.state}, not {spec.state}.")
    return action


def _action_walk(built: _Built, action: Action, spec: ActionSpec) -> Action:
    manager = built.manager
    doer = built.people[spec.delegate or spec.lead]
    if spec.state == S.PROPOSED:
        return action
    action = _move(action, "agree", manager)
    if spec.state == S.WITHDRAWN:
        return _move(action, "withdraw", manager, spec.withdrawn_because)
    if spec.state == S.AGREED:
        return action
    action = _move(action, "start", doer)
    if spec.returned_because:
        action = _evidence_submit(action, spec, doer)
        action = _move(action, "send_back", built.bodies[spec.body].chair, spec.returned_because)
    for rag, text in spec.progress:
        progress_add(action=action, author=doer, text=text, rag=rag)
    if spec.state == S.IN_PROGRESS:
        return action
    if not spec.returned_because:
        action = _evidence_submit(action, spec, doer)
    for approver in spec.approvals:
        action = _move(action, "sign_off", built.people[approver])
    return action


def _evidence_submit(action: Action, spec: ActionSpec, doer: User) -> Action:
    for description, link in spec.evidence:
        evidence_add_link(action=action, by=doer, url=link, description=description)
    action = action_set_completion_statement(action=action, by=doer, text=spec.completion)
    return _move(action, "submit_evidence", doer)


def _plan_walk(built: _Built) -> None:
    plan = built.plan
    if built.plan_spec.state == ActionPlan.State.DRAFT:
        return
    plan = _move(plan, "submit", built.manager)
    for endorser in built.plan_spec.endorsers:
        plan = _move(plan, "endorse", built.people[endorser])
    if plan.state != built.plan_spec.state:
        raise RuntimeError(f"Demo plan {plan} ended {plan.state}, not {built.plan_spec.state}.")


# --- Reporting ------------------------------------------------------------------------------

ROLE_ORDER = [role.value for role in Membership.Role]


def _listed_at(spec: TenantSpec, email: str) -> tuple[int, str]:
    # The spec's order puts each role's main demo account first; anyone added later follows.
    emails = [person.email for person in spec.people]
    return (emails.index(email) if email in emails else len(emails), email)


def demo_summary(*, created: bool) -> DemoSummary:
    """What the demo tenants hold now."""
    tenants = {t.slug: t for t in Tenant.objects.filter(slug__in=[s.slug for s in DEMO_TENANTS])}
    users, counts, plans = [], {}, []
    with_second_factor = set(
        Authenticator.objects.filter(type=Authenticator.Type.TOTP).values_list("user_id", flat=True)
    )
    for spec in DEMO_TENANTS:
        tenant = tenants.get(spec.slug)
        if tenant is None:
            continue
        with tenant_scope(tenant):
            memberships = sorted(
                Membership.objects.filter(tenant=tenant).select_related("user"),
                key=lambda m: (ROLE_ORDER.index(m.role), _listed_at(spec, m.user.email)),
            )
            users += [
                DemoUser(
                    m.user.email,
                    m.user.full_name,
                    tenant.name,
                    m.get_role_display(),
                    m.user_id in with_second_factor,
                )
                for m in memberships
            ]
            states = Counter(Action.objects.filter(tenant=tenant).values_list("state", flat=True))
            counts[tenant.name] = {state.value: states.get(state.value, 0) for state in S}
            plans += [
                (tenant.name, plan.title, plan.get_state_display())
                for plan in ActionPlan.objects.filter(tenant=tenant).order_by("created_at", "pk")
            ]
    operator = User.objects.filter(email__iexact=OPERATOR_EMAIL, is_superuser=True).first()
    if operator is not None:
        users.append(
            DemoUser(
                operator.email,
                operator.full_name,
                "",
                "Operator (Django admin)",
                operator.pk in with_second_factor,
            )
        )
    return DemoSummary(
        created=created,
        tenants=tuple(t.name for t in (tenants.get(s.slug) for s in DEMO_TENANTS) if t),
        users=tuple(users),
        action_counts=counts,
        plans=tuple(plans),
    )
