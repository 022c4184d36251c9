"""Councils set up entirely through their pages, from nothing but the organisation and its first
tenant administrator (as the create_tenant command leaves them): people invited and joined by the
links in their e-mails, partner agencies, sign-off bodies and a plan; then a manager adds an
action and agrees it. A unitary council's partnership plan, and a Children's Trust's plan of one
partner agency, signed off by that agency's own committee."""

import re

from playwright.sync_api import Page, expect

from plans.models import Action, ActionPlan
from plans.services import sign_off_bodies_of_plan
from tenants.models import AuditEntry, Membership, SignOffBody, Tenant
from tenants.scoping import tenant_scope
from tenants.services import tenant_create
from tests.browser.conftest import sign_in_with_form, tenant_url
from tests.plans.factories import RecommendationFactory
from tests.tenants.factories import UserFactory

SLUG = "northshire"
PASSWORD = "quince harbour kettle 82"


def settings_page(page: Page, link: str, slug: str = SLUG) -> None:
    page.goto(tenant_url("settings", slug))
    page.get_by_role("link", name=link, exact=True).click()


def invite(
    page: Page, name: str, email: str, role: str, agency: str = "", slug: str = SLUG
) -> None:
    settings_page(page, "People", slug)
    page.get_by_role("link", name="Invite someone").click()
    page.get_by_label("Full name").fill(name)
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label(role, exact=True).check()
    if agency:
        page.get_by_label("Partner agency they work for").select_option(label=agency)
    page.get_by_role("button", name="Send the invitation").click()
    expect(page.get_by_role("alert")).to_contain_text(f"Invitation sent to {email}")


def emailed_link(smtp_server, email: str) -> str:
    [received] = [r for r in smtp_server.received if r.recipients == [email]]
    [body] = [
        part.get_payload(decode=True).decode()
        for part in received.message.walk()
        if part.get_content_type() == "text/plain"
    ]
    return re.search(r"http://\S+/invitations/\S+/", body).group(0)


def accept(
    page: Page, smtp_server, email: str, tenant_name: str = "Northshire Council", slug: str = SLUG
) -> None:
    """The invited person follows the e-mailed link, as someone new, and sets a password."""
    page.context.clear_cookies()
    page.goto(emailed_link(smtp_server, email))
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Join {tenant_name}")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Confirm password").fill(PASSWORD)
    page.get_by_role("button", name="Accept and set the password").click()
    expect(page).to_have_url(re.compile(re.escape(tenant_url("tenant_home", slug)) + "$"))
    expect(page.get_by_role("alert")).to_contain_text(f"Welcome to {tenant_name}")


def set_up_body(
    page: Page,
    name: str,
    kind: str,
    members: list[str],
    chair: str,
    quorum: int,
    agency: str = "",
    slug: str = SLUG,
):
    settings_page(page, "Sign-off bodies", slug)
    page.get_by_role("button", name="Set up a sign-off body").click()
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label(kind, exact=True).check()
    if agency:
        page.get_by_label("Agency", exact=True).select_option(label=agency)
    members_group = page.get_by_role("group", name="Members")
    for member in members:
        members_group.get_by_label(member, exact=True).check()
    page.get_by_label("Chair").select_option(label=chair)
    page.get_by_label("Quorum").fill(str(quorum))
    page.get_by_role("button", name="Set up the body").click()
    expect(page.get_by_role("alert")).to_contain_text(name)


def test_a_unitary_council_is_set_up_through_its_pages_and_its_manager_agrees_an_action(
    page: Page, sign_in, smtp_server, settings, live
):
    settings.SITE_URL = live  # the address the e-mailed links point to
    # What the operator's create_tenant command leaves: the organisation and its administrator.
    tenant = tenant_create(name="Northshire Council", slug=SLUG, kind=Tenant.Kind.LOCAL_AUTHORITY)
    admin = UserFactory(
        full_name="Ada Administrator", email="ada@northshire.example", second_factor=True
    )
    with tenant_scope(tenant):
        Membership.objects.create(tenant=tenant, user=admin, role=Membership.Role.TENANT_ADMIN)
    recommendation = RecommendationFactory(title="Strengthen multi-agency referrals")
    framework = recommendation.framework

    # Every invitation below is accepted by following the link in the e-mail the real SMTP
    # server received, in the browser, as the invited person would.
    sign_in(admin)

    # The police, with a named contact invited in the same step (an officer of the police).
    settings_page(page, "Partner agencies")
    page.get_by_role("link", name="Add a partner agency").click()
    page.get_by_label("Name", exact=True).fill("Northshire Police")
    page.get_by_label("Kind of agency").select_option(label="Police")
    page.get_by_label("Full name").fill("Owen Officer")
    page.get_by_label("E-mail address").fill("owen@police.example")
    page.get_by_role("button", name="Save the partner agency").click()
    expect(page.get_by_role("alert")).to_contain_text("Northshire Police")
    page.get_by_role("link", name="Add a partner agency").click()
    page.get_by_label("Name", exact=True).fill("Northshire Health")
    page.get_by_label("Kind of agency").select_option(label="Health")
    page.get_by_role("button", name="Save the partner agency").click()
    expect(page.get_by_role("alert")).to_contain_text("Northshire Health")

    invite(page, "Mina Manager", "mina@northshire.example", "Manager")
    invite(page, "Bea Board", "bea@northshire.example", "Board member")
    invite(page, "Bill Board", "bill@northshire.example", "Board member")
    invite(page, "Bo Board", "bo@northshire.example", "Board member")
    for email in [
        "owen@police.example",
        "mina@northshire.example",
        "bea@northshire.example",
        "bill@northshire.example",
        "bo@northshire.example",
    ]:
        accept(page, smtp_server, email)
    with tenant_scope(tenant):
        owen = Membership.objects.get(tenant=tenant, user__email="owen@police.example")
        assert (owen.role, owen.partner.name) == ("officer", "Northshire Police")
        assert owen.partner.contact == owen.user

    sign_in(admin)
    set_up_body(
        page,
        "Northshire LSCB",
        "LSCB board",
        ["Bea Board", "Bill Board", "Bo Board"],
        "Bea Board",
        2,
    )
    set_up_body(
        page, "Children's management team", "Management team", ["Mina Manager"], "Mina Manager", 1
    )
    set_up_body(page, "Council Executive", "Executive", ["Bill Board"], "Bill Board", 1)

    page.goto(tenant_url("settings", SLUG))
    page.get_by_role("link", name="Create a plan").click()
    page.get_by_label("Title").fill("Northshire response to the national framework")
    page.get_by_label("Framework it responds to").select_option(label=framework.title)
    page.get_by_label("Endorsing body").select_option(label="Council Executive")
    page.get_by_label("Monitoring body (optional)").select_option(label="Northshire LSCB")
    bodies = page.get_by_role("group", name="Bodies that may sign off its actions")
    bodies.get_by_label("Northshire LSCB").check()
    bodies.get_by_label("Children's management team").check()
    page.get_by_role("button", name="Create the plan").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Northshire response to the national framework"
    )

    # The manager signs in with the password she chose and adds the plan's first action.
    page.context.clear_cookies()
    sign_in_with_form(page, "mina@northshire.example", PASSWORD)
    page.goto(tenant_url("plans", SLUG))
    page.get_by_role("link", name="Northshire response to the national framework").click()
    page.get_by_role("button", name="Add an action").click()
    page.get_by_label("Reference").fill("1.1")
    page.get_by_label("Title").fill("Joint triage of police referrals")
    page.get_by_label(recommendation.title).check()
    page.get_by_label("Lead officer").select_option(label="Owen Officer")
    page.get_by_label("Lead partner").select_option(label="Northshire Police")
    page.get_by_role("textbox", name="Day", exact=True).fill("31")
    page.get_by_role("textbox", name="Month", exact=True).fill("3")
    page.get_by_role("textbox", name="Year", exact=True).fill("2030")
    sign_off = page.get_by_label("Sign-off body", exact=True)
    expect(sign_off.locator("option")).to_have_text(
        ["Not chosen yet", "Children's management team", "Northshire LSCB"]
    )
    sign_off.select_option(label="Northshire LSCB")
    page.get_by_role("button", name="Add the action").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Joint triage of police referrals")
    page.get_by_role("button", name="Agree the action", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Agree the action")
    page.get_by_role("button", name="Agree the action", exact=True).click()
    expect(page.get_by_role("alert")).to_be_visible()

    with tenant_scope(tenant):
        action = Action.objects.get(tenant=tenant, reference="1.1")
        assert action.state == Action.State.AGREED
        assert action.sign_off_body.name == "Northshire LSCB"
        plan = ActionPlan.objects.get(tenant=tenant)
        assert (plan.owner_body.name, plan.monitoring_body.name) == (
            "Council Executive",
            "Northshire LSCB",
        )
        assert {body.name for body in sign_off_bodies_of_plan(plan=plan)} == {
            "Northshire LSCB",
            "Children's management team",
        }
        lscb = SignOffBody.objects.get(tenant=tenant, name="Northshire LSCB")
        assert (lscb.chair.full_name, lscb.quorum, lscb.members.count()) == ("Bea Board", 2, 3)
        # Each settings change was recorded, by the administrator, with what it became.
        entries = AuditEntry.objects.filter(tenant=tenant, actor=admin)
        assert {e.subject_type for e in entries} >= {
            "partner",
            "invitation",
            "sign_off_body",
            "plan",
        }
        [plan_created] = entries.filter(subject_type="plan", subject_id=plan.pk)
        assert plan_created.changes, "the plan's settings are recorded field by field"
        assert entries.filter(subject_type="sign_off_body", subject_id=lscb.pk).exists()


def test_a_childrens_trust_sets_up_a_police_plan_and_the_police_manager_agrees_its_action(
    page: Page, sign_in, smtp_server, settings, live
):
    settings.SITE_URL = live
    slug, name = "westvale-trust", "Westvale Children's Trust"
    tenant = tenant_create(name=name, slug=slug, kind=Tenant.Kind.CHILDRENS_TRUST)
    admin = UserFactory(
        full_name="Tess Administrator", email="tess@westvale.example", second_factor=True
    )
    with tenant_scope(tenant):
        Membership.objects.create(tenant=tenant, user=admin, role=Membership.Role.TENANT_ADMIN)
    recommendation = RecommendationFactory(title="Share missing-child reports the same day")

    sign_in(admin)
    settings_page(page, "Partner agencies", slug)
    page.get_by_role("link", name="Add a partner agency").click()
    page.get_by_label("Name", exact=True).fill("Westvale Police")
    page.get_by_label("Kind of agency").select_option(label="Police")
    page.get_by_role("button", name="Save the partner agency").click()
    expect(page.get_by_role("alert")).to_contain_text("Westvale Police")
    invite(page, "Paul Police", "paul@police.example", "Manager", "Westvale Police", slug)
    invite(page, "Tara Trustee", "tara@westvale.example", "Board member", slug=slug)
    # Both invitations are accepted from the links in the e-mails the SMTP server received.
    for email in ["paul@police.example", "tara@westvale.example"]:
        accept(page, smtp_server, email, name, slug)

    sign_in(admin)
    set_up_body(
        page,
        "Westvale Children's Trust board",
        "Children's Trust board",
        ["Tara Trustee"],
        "Tara Trustee",
        1,
        slug=slug,
    )
    set_up_body(
        page,
        "Police safeguarding committee",
        "Agency committee",
        ["Paul Police"],
        "Paul Police",
        1,
        agency="Westvale Police",
        slug=slug,
    )

    settings_page(page, "Create a plan", slug)
    page.get_by_label("Title").fill("Westvale Police safeguarding plan")
    page.get_by_label("Framework it responds to").select_option(
        label=recommendation.framework.title
    )
    page.get_by_label("Endorsing body").select_option(label="Westvale Children's Trust board")
    page.get_by_label("Agency", exact=True).select_option(label="Westvale Police")
    page.get_by_label("Answered for by").select_option(label="Paul Police")
    page.get_by_role("group", name="Bodies that may sign off its actions").get_by_label(
        "Police safeguarding committee"
    ).check()
    page.get_by_role("button", name="Create the plan").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Westvale Police safeguarding plan")

    page.context.clear_cookies()
    sign_in_with_form(page, "paul@police.example", PASSWORD)
    page.goto(tenant_url("plans", slug))
    page.get_by_role("link", name="Westvale Police safeguarding plan").click()
    page.get_by_role("button", name="Add an action").click()
    page.get_by_label("Reference").fill("P1")
    page.get_by_label("Title").fill("Same-day sharing of missing-child reports")
    page.get_by_label(recommendation.title).check()
    page.get_by_label("Lead officer").select_option(label="Paul Police")
    page.get_by_label("Lead partner").select_option(label="Westvale Police")
    page.get_by_role("textbox", name="Day", exact=True).fill("30")
    page.get_by_role("textbox", name="Month", exact=True).fill("9")
    page.get_by_role("textbox", name="Year", exact=True).fill("2030")
    sign_off = page.get_by_label("Sign-off body", exact=True)
    expect(sign_off.locator("option")).to_have_text(
        ["Not chosen yet", "Police safeguarding committee"]
    )
    sign_off.select_option(label="Police safeguarding committee")
    page.get_by_role("button", name="Add the action").click()
    page.get_by_role("button", name="Agree the action", exact=True).click()
    page.get_by_role("button", name="Agree the action", exact=True).click()
    expect(page.get_by_role("alert")).to_be_visible()

    with tenant_scope(tenant):
        action = Action.objects.get(tenant=tenant, reference="P1")
        assert action.state == Action.State.AGREED
        assert action.sign_off_body.name == "Police safeguarding committee"
        assert action.plan.partner.name == "Westvale Police"
        committee = action.sign_off_body
        assert committee.kind == SignOffBody.Kind.AGENCY_COMMITTEE
        assert committee.partner == action.plan.partner
        assert AuditEntry.objects.filter(
            tenant=tenant, actor=admin, subject_type="plan", subject_id=action.plan_id
        ).exists()
