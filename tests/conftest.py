import datetime
import os
from dataclasses import dataclass

import pytest
from django.core.cache import cache, caches
from django.db import connection

from plans import services as plan_services
from plans.models import Action, ActionPlan, Evidence, Framework, Recommendation
from plans.page_cache import CACHE as PAGES_CACHE
from tenants.models import Partner, SignOffBody, Tenant, User
from tenants.scoping import tenant_scope
from tenants.services import sign_off_body_add_member, sign_off_body_set_quorum
from tests.plans.factories import FrameworkFactory, RecommendationFactory, ThemeFactory, action
from tests.tenants.factories import PartnerFactory, Role, TenantFactory, member, sign_off_body

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"


def pytest_configure(config):
    if REQUIRE_SERVICES and not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        raise pytest.UsageError("REQUIRE_SERVICES=1 but DATABASE_URL is not PostgreSQL.")


APPLICATION_ROLE_PASSWORD = "application-role-in-tests"


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """On PostgreSQL the test database is created and migrated as DATABASE_URL's role, the
    owner; then every test connects as an application role that owns nothing, as the service
    does, so every test runs under row-level security. Commands that empty tables between
    tests (flush) connect as the owner again (tenants/postgresql/roles.py)."""
    from django.conf import settings

    from tenants.postgresql.roles import CREDENTIALS, application_role_grant

    if connection.vendor != "postgresql":
        yield
        return
    owner = {key: connection.settings_dict.get(key) for key in CREDENTIALS}
    role = f"{connection.settings_dict['NAME']}_app"[:63]
    with django_db_blocker.unblock():
        application_role_grant(role=role, password=APPLICATION_ROLE_PASSWORD)
        connection.close()
    saved_owner = settings.DATABASE_OWNER
    settings.DATABASE_OWNER = owner
    connection.settings_dict.update(USER=role, PASSWORD=APPLICATION_ROLE_PASSWORD)
    try:
        yield
    finally:
        with django_db_blocker.unblock():
            connection.close()
        connection.settings_dict.update(owner)
        settings.DATABASE_OWNER = saved_owner


@pytest.fixture
def postgres(db):
    """Marks a test that needs PostgreSQL: skipped on SQLite, a failure in CI."""
    if connection.vendor != "postgresql":
        if REQUIRE_SERVICES:
            pytest.fail("This test needs PostgreSQL and REQUIRE_SERVICES=1.")
        pytest.skip("needs PostgreSQL (run with DATABASE_URL=postgres://...)")


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _empty_cache():
    """Rate-limit counts live in the cache, and kept page parts in the pages cache: each test
    starts with none."""
    for each in (cache, caches[PAGES_CACHE]):
        each.clear()
    yield
    for each in (cache, caches[PAGES_CACHE]):
        each.clear()


def pages_cache_down(monkeypatch, *calls: str) -> None:
    """The pages cache out of reach, as a Redis that stopped answering: each of ``calls`` (its
    methods; by default reading and keeping) raises."""

    def down(*args, **kwargs):
        raise ConnectionError("cache down")

    for call in calls or ("get_many", "set"):
        monkeypatch.setattr(caches[PAGES_CACHE], call, down)


@dataclass
class Story:
    """The people and plan most tests are told about.

    In Central Bedfordshire, alice is a manager, bob an officer who leads actions, carol and
    dave sit on the LSCB board, erin is the tenant administrator, mark sits on the management
    team, victor may only read. charlie belongs to another council, Sunderland, and nowhere else.
    """

    tenant: Tenant
    other_tenant: Tenant
    framework: Framework
    recommendation: Recommendation
    police: Partner
    health: Partner
    lscb: SignOffBody
    management_team: SignOffBody
    executive: SignOffBody
    plan: ActionPlan
    alice: User
    bob: User
    carol: User
    dave: User
    erin: User
    mark: User
    victor: User
    charlie: User
    other_plan: ActionPlan
    other_action: Action

    def action(self, reference="1.1", **fields) -> Action:
        fields.setdefault("lead_officer", self.bob)
        fields.setdefault("lead_partner", self.police)
        fields.setdefault("due_date", datetime.date.today() + datetime.timedelta(days=60))
        fields.setdefault("sign_off_body", self.lscb)
        fields.setdefault("recommendations", [self.recommendation])
        return action(self.plan, by=self.alice, reference=reference, **fields)

    def lscb_needs_two(self) -> SignOffBody:
        """The LSCB board needing two approvals. Mark joins Carol and Dave first: with two
        members a quorum of two could never be met when one of them had delivered the action."""
        sign_off_body_add_member(body=self.lscb, user=self.mark)
        self.lscb = sign_off_body_set_quorum(body=self.lscb, quorum=2)
        return self.lscb

    def quorum_set_directly(self, body: SignOffBody, quorum: int) -> None:
        """A quorum saved without the service, which now refuses one as large as the body
        (whoever delivered an item cannot approve it): bodies set up before that rule may still
        have one, and the workflow must treat them correctly."""
        SignOffBody.objects.filter(pk=body.pk).update(quorum=quorum)

    def action_in(self, state: str, reference="1.1", **fields) -> Action:
        """An action walked through the real workflow to ``state``."""
        from workflow.services import transition_perform

        act = self.action(reference, **fields)
        lead = act.lead_officer
        steps = {
            Action.State.PROPOSED: [],
            Action.State.AGREED: [("agree", self.alice)],
            Action.State.IN_PROGRESS: [("agree", self.alice), ("start", lead)],
            Action.State.EVIDENCED: [
                ("agree", self.alice),
                ("start", lead),
                ("evidence", None),
                ("submit_evidence", lead),
            ],
            Action.State.SIGNED_OFF: [
                ("agree", self.alice),
                ("start", lead),
                ("evidence", None),
                ("submit_evidence", lead),
                ("sign_off", self.carol),
            ],
            Action.State.WITHDRAWN: [("withdraw", self.alice)],
        }[state]
        for name, user in steps:
            if name == "evidence":
                plan_services.evidence_add_link(
                    action=act,
                    by=lead,
                    url="https://example.org/minutes.pdf",
                    description="Board minutes",
                )
                plan_services.action_set_completion_statement(
                    action=act, by=lead, text="Done and embedded in practice."
                )
                continue
            comment = "A reason." if name in {"withdraw", "send_back", "reopen"} else ""
            act = transition_perform(obj=act, name=name, user=user, comment=comment).obj
        return Action.objects.get(pk=act.pk)


def build_story() -> Story:
    framework = FrameworkFactory(title="Laming 2009 (outline)", short_name="laming-2009")
    theme = ThemeFactory(framework=framework, position=1, title="Leadership and accountability")
    recommendation = RecommendationFactory(theme=theme, framework=framework, number=1)

    tenant = TenantFactory(name="Central Bedfordshire Council", slug="central-bedfordshire")
    other = TenantFactory(
        name="Sunderland Children's Trust", slug="sunderland", kind=Tenant.Kind.CHILDRENS_TRUST
    )
    with tenant_scope(other):
        charlie = member(other, Role.MANAGER, full_name="Charlie Outsider")
        other_body = sign_off_body(
            other,
            name="Children's Trust Board",
            kind=SignOffBody.Kind.CHILDRENS_TRUST_BOARD,
            members=[charlie],
        )
        other_partner = PartnerFactory(tenant=other, name="Northumbria Police")
        other_plan = plan_services.action_plan_create(
            tenant=other,
            framework=framework,
            title="CANARY Sunderland Laming plan",
            owner_body=other_body,
            sign_off_bodies=[other_body],
        )
        other_action = action(
            other_plan,
            by=charlie,
            reference="9.9",
            title="CANARY Sunderland action",
            lead_partner=other_partner,
            sign_off_body=other_body,
        )

    with tenant_scope(tenant):
        police = PartnerFactory(tenant=tenant, name="Bedfordshire Police", kind=Partner.Kind.POLICE)
        health = PartnerFactory(tenant=tenant, name="NHS Bedfordshire", kind=Partner.Kind.HEALTH)
        alice = member(tenant, Role.MANAGER, full_name="Alice Manager")
        bob = member(tenant, Role.OFFICER, full_name="Bob Officer", partner=police)
        carol = member(tenant, Role.BOARD_MEMBER, full_name="Carol Board")
        dave = member(tenant, Role.BOARD_MEMBER, full_name="Dave Board")
        erin = member(tenant, Role.TENANT_ADMIN, full_name="Erin Admin")
        mark = member(tenant, Role.MANAGER, full_name="Mark Team")
        victor = member(tenant, Role.VIEWER, full_name="Victor Viewer")
        lscb = sign_off_body(
            tenant,
            name="LSCB board",
            kind=SignOffBody.Kind.LSCB_BOARD,
            members=[carol, dave],
            chair=carol,
        )
        management_team = sign_off_body(
            tenant,
            name="Management team",
            kind=SignOffBody.Kind.MANAGEMENT_TEAM,
            members=[mark, alice],
        )
        executive = sign_off_body(
            tenant,
            name="Executive",
            kind=SignOffBody.Kind.EXECUTIVE,
            members=[dave, mark],
        )
        plan = plan_services.action_plan_create(
            tenant=tenant,
            framework=framework,
            title="Laming action plan",
            owner_body=executive,
            owner=alice,
            sign_off_bodies=[lscb, management_team],
        )
    return Story(
        tenant=tenant,
        other_tenant=other,
        framework=framework,
        recommendation=recommendation,
        police=police,
        health=health,
        lscb=lscb,
        management_team=management_team,
        executive=executive,
        plan=plan,
        alice=alice,
        bob=bob,
        carol=carol,
        dave=dave,
        erin=erin,
        mark=mark,
        victor=victor,
        charlie=charlie,
        other_plan=other_plan,
        other_action=other_action,
    )


@pytest.fixture
def story(db) -> Story:
    """The story, with Central Bedfordshire's scope active for the test."""
    built = build_story()
    with tenant_scope(built.tenant):
        yield built


def evidence_count(act: Action) -> int:
    return Evidence.objects.filter(action=act).count()
