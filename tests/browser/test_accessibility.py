"""Every page, as each role sees it, at desktop width and at 320 px, checked by axe-core.

The list of pages is data (``VISITS``): each says how to reach the page, and in which state
(filters applied, a form sent back with errors), and who can see it; the tests are generated
from it for each role and width. Any axe violation fails, whatever its impact. At 320 px the
home and action pages must also not scroll sideways. Each role's home page is saved as a
screenshot under var/screenshots/.

The pages change nothing (a form sent back with errors saves nothing), so the people, plan and
actions they show are built once for this module, served by a live server of its own, and
removed afterwards, and each role browses them in a context of its own for the module; the
journeys, which do change things, get a fresh database and browser context each.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from allauth.account.forms import default_token_generator
from allauth.account.utils import user_pk_to_url_str
from django.conf import settings
from django.core import mail
from django.core.management import call_command
from django.db import connection
from django.test import Client, override_settings
from django.urls import reverse
from playwright.sync_api import Browser, Page, expect
from pytest_django.live_server_helper import LiveServer

from notifications.models import Message
from plans import services as plan_services
from plans.models import Action
from plans.reports.publishing import report_publish
from tenants.models import Membership
from tenants.scoping import tenant_scope
from tenants.services import (
    invitation_create,
    membership_add,
    sign_off_body_add_member,
)
from tests.browser.conftest import (
    DESKTOP,
    NARROW,
    axe_violations,
    describe_violations,
    screenshot,
    scrolls_sideways,
    tenant_url,
    watched_page,
)
from tests.conftest import REQUIRE_SERVICES, Story, build_story
from workflow.services import transition_perform

TODAY = datetime.date.today()
YESTERDAY = TODAY - datetime.timedelta(days=1)
WIDTHS = {"desktop": DESKTOP, "320px": NARROW}
# The story's people, one per role.
ROLES = {
    "officer": "bob",
    "manager": "alice",
    "board-member": "carol",
    "tenant-admin": "erin",
    "viewer": "victor",
}
MANAGING = ("manager", "tenant-admin")
REPORTING = ("officer", "manager", "tenant-admin")
ANONYMOUS = ("anonymous",)

# pytest-django sets up the test database for marked tests; each test's own transaction stays
# empty, since the pages are served from the data built for the module.
pytestmark = pytest.mark.django_db


@dataclass
class Site:
    """What the pages show: the story, with actions in every state and a failed e-mail."""

    story: Story
    actions: dict[str, Action]
    sessions: dict[str, str]
    # A working link from a password reset e-mail (for Dave, who is not signed in here).
    reset_link: str
    # Working invitation links: for someone new, and for Charlie, who already signs in.
    invitation_links: dict[str, str]

    def action_url(self, state: str, view: str = "action", step: str = "") -> str:
        if step:
            return tenant_url("action_step", pk=self.actions[state].pk, name=step)
        return tenant_url(view, pk=self.actions[state].pk)


def build_site(story: Story) -> dict[str, Action]:
    s = story
    with tenant_scope(s.tenant):
        actions = {
            "signed-off": s.action_in(Action.State.SIGNED_OFF, "1.1", title="Audit of referrals"),
            "withdrawn": s.action_in(Action.State.WITHDRAWN, "1.2", title="Single front door"),
            "proposed": s.action("1.3", title="Training for GPs", due_date=None),
            "overdue": s.action_in(
                Action.State.AGREED,
                "1.4",
                title="Review of thresholds",
                due_date=TODAY - datetime.timedelta(days=10),
            ),
        }
        # The LSCB board signs off partnership actions with two approvals from here on.
        s.lscb_needs_two()
        evidenced = s.action_in(
            Action.State.EVIDENCED, "2.1", title="Multi-agency chronology template"
        )
        transition_perform(obj=evidenced, name="sign_off", user=s.dave, comment="Good evidence.")
        actions["evidenced"] = Action.objects.get(pk=evidenced.pk)

        returned = s.action_in(Action.State.EVIDENCED, "2.2", title="Case file audit")
        transition_perform(
            obj=returned,
            name="send_back",
            user=s.carol,
            comment="The audit covers one team only; include the other two.",
        )
        in_progress = s.action_in(
            Action.State.IN_PROGRESS,
            "2.3",
            title="Supervision policy for social workers",
            supporting_partners=[s.health],
        )
        plan_services.progress_add(
            action=in_progress,
            author=s.bob,
            text="Draft policy shared with the three team managers for comment.",
            rag="amber",
        )
        plan_services.action_delegate(action=in_progress, by=s.bob, delegate=s.alice)
        # A due date moved today, so the report's changes since yesterday list one.
        plan_services.action_update(
            action=in_progress,
            by=s.alice,
            due_date=TODAY + datetime.timedelta(days=90),
            reason="The team managers asked for another month to comment.",
        )
        actions["in-progress"] = Action.objects.get(pk=in_progress.pk)
        actions["returned"] = Action.objects.get(pk=returned.pk)
        actions["ready-to-agree"] = s.action("3.1", title="Joint protocol with health visitors")

        # The plan goes to the Executive, on which Carol also sits, for endorsement.
        sign_off_body_add_member(body=s.executive, user=s.carol)
        transition_perform(obj=s.plan, name="submit", user=s.alice)
        # A report published for a meeting, listed with its SHA-256 on the report page.
        report_publish(
            plan=s.plan,
            by=s.alice,
            meeting="Central Bedfordshire LSCB board",
            meeting_date=TODAY,
            as_of=TODAY,
            since=YESTERDAY,
            format="csv",
            today=TODAY,
        )

        Message.objects.create(
            recipient=s.bob,
            tenant=s.tenant,
            kind=Message.Kind.EVENT,
            subject="Sign-off requested: 2.1 Multi-agency chronology template",
            body_text="Body",
            body_html="<p>Body</p>",
            key="scan:failed",
            status=Message.Status.FAILED,
            attempts=6,
            last_error="SMTP 550: mailbox unavailable",
        )
        invitation_create(
            tenant=s.tenant,
            by=s.erin,
            email="nina@example.org",
            full_name="Nina Newcomer",
            role=Membership.Role.OFFICER,
            partner=s.health,
        )
        invitation_create(
            tenant=s.tenant,
            by=s.erin,
            email=s.charlie.email,
            full_name="Charlie Outsider",
            role=Membership.Role.VIEWER,
        )
    # Everyone also reads Sunderland's plans, so each of them has the organisation chooser.
    with tenant_scope(s.other_tenant):
        for name in ROLES.values():
            membership_add(
                tenant=s.other_tenant, user=getattr(s, name), role=Membership.Role.VIEWER
            )
    return actions


@pytest.fixture(scope="module")
def site(django_db_setup, django_db_blocker, tmp_path_factory) -> Iterator[Site]:
    with django_db_blocker.unblock():
        if connection.vendor != "postgresql":
            if REQUIRE_SERVICES:
                pytest.fail("These tests need PostgreSQL and REQUIRE_SERVICES=1.")
            pytest.skip("needs PostgreSQL (run with DATABASE_URL=postgres://...)")
        try:
            story = build_story()
            # The published report's file goes where nothing outlives the run.
            with override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media")):
                actions = build_site(story)
            sessions = {}
            for role, name in ROLES.items():
                client = Client()
                client.force_login(getattr(story, name))
                sessions[role] = client.cookies[settings.SESSION_COOKIE_NAME].value
            reset_link = reverse(
                "account_reset_password_from_key",
                kwargs={
                    "uidb36": user_pk_to_url_str(story.dave),
                    "key": default_token_generator.make_token(story.dave),
                },
            )
            # The invitations' e-mails went when they committed, and the outbox keeps no
            # working link once sent: the links are read from the e-mails themselves.
            invitation_links = {
                sent.to[0]: re.search(r"/invitations/\S+/", sent.body).group(0)
                for sent in mail.outbox
                if "/invitations/" in sent.body
            }
            yield Site(
                story=story,
                actions=actions,
                sessions=sessions,
                reset_link=reset_link,
                invitation_links={
                    "new": invitation_links["nina@example.org"],
                    "existing": invitation_links[story.charlie.email],
                },
            )
        finally:
            # Committed outside any test's transaction, so removed by hand for the tests after.
            call_command("flush", interactive=False, verbosity=0)


@pytest.fixture(scope="module")
def server(site: Site, axe_script: Path) -> Iterator[str]:
    """A live server for this module alone: pytest-django's ``live_server`` would empty the
    database after each test, and these tests only read. It also serves axe-core, which the
    browser fetches and compiles faster than it is handed over by Playwright."""
    axe_files = [*settings.STATICFILES_DIRS, ("test-axe-core", axe_script.parent)]
    with override_settings(STATICFILES_DIRS=axe_files):
        live = LiveServer("localhost")
        yield live.url
        live.stop()


@pytest.fixture(scope="module")
def axe_url(server: str) -> str:
    return f"{server}{settings.STATIC_URL}test-axe-core/axe.min.js"


@pytest.fixture(scope="module")
def browsing(browser: Browser, site: Site, server: str) -> Iterator[dict[tuple[str, str], Page]]:
    """One page for each role at each width, signed in as that role, kept for the module.

    The scan only reads, so each role's pages share a browser context rather than each test
    starting a new one: stylesheets and scripts come from its cache and axe-core from its
    compiled-code cache, which makes a scan about twice as quick. Roles and widths never share
    one, so nobody's session or layout leaks into another's results.
    """
    pages: dict[tuple[str, str], Page] = {}
    for role in (*ROLES, *ANONYMOUS):
        for width, viewport in WIDTHS.items():
            context = browser.new_context(base_url=server, viewport=viewport, locale="en-GB")
            if role in site.sessions:
                context.add_cookies(
                    [
                        {
                            "name": settings.SESSION_COOKIE_NAME,
                            "value": site.sessions[role],
                            "url": server,
                        }
                    ]
                )
            pages[role, width] = watched_page(context)
    yield pages
    for page in pages.values():
        page.context.close()


@pytest.fixture
def page(browsing: dict[tuple[str, str], Page], request: pytest.FixtureRequest) -> Page:
    """This test's role's page at this test's width, with no problems recorded yet."""
    params = request.node.callspec.params
    page = browsing[params["role"], params["width"]]
    page.problems.errors.clear()
    return page


# -- the pages -------------------------------------------------------------------------------


def go(path: str) -> Callable[[Page, Site], None]:
    return lambda page, site: page.goto(path)


def action_page(state: str, view: str = "action") -> Callable[[Page, Site], None]:
    return lambda page, site: page.goto(site.action_url(state, view))


def step_page(state: str, step: str) -> Callable[[Page, Site], None]:
    return lambda page, site: page.goto(site.action_url(state, step=step))


def plan_step(step: str) -> Callable[[Page, Site], None]:
    return lambda page, site: page.goto(tenant_url("plan_step", pk=site.story.plan.pk, name=step))


def plan_page(query: str) -> Callable[[Page, Site], None]:
    return lambda page, site: page.goto(tenant_url("plan", pk=site.story.plan.pk) + query)


def plan_report(view: str, query: str = "") -> Callable[[Page, Site], None]:
    return lambda page, site: page.goto(tenant_url(view, pk=site.story.plan.pk) + query)


# A report with what changed since yesterday shows every section: counts, signed off, became
# overdue, due dates moved, the charts, the appendix and the published reports.
REPORT_DATES = f"?as_of={TODAY.isoformat()}&since={YESTERDAY.isoformat()}"


def send(
    path: str | Callable[[Site], str], fill: dict[str, str], button: str
) -> Callable[[Page, Site], None]:
    """Open a form, fill it in with mistakes and send it: the page comes back with errors."""

    def visit(page: Page, site: Site) -> None:
        page.goto(path(site) if callable(path) else path)
        for label, value in fill.items():
            page.get_by_label(label, exact=True).fill(value)
        page.get_by_role("button", name=button).click()
        expect(page.get_by_role("alert")).to_contain_text("There is a problem")

    return visit


FRAMEWORK_CSV = (
    b"Theme number,Theme title,Recommendation number,Recommendation title,Full text\n"
    b"1,Referrals,1,Acknowledge every referral,In writing within a day.\n"
    b"2,Supervision,2,Recorded supervision,\n"
)


def framework_upload(content: bytes, answer: str) -> Callable[[Page, Site], None]:
    """Upload a framework file for checking: the page shows a preview or the file's problems."""

    def visit(page: Page, site: Site) -> None:
        page.goto(tenant_url("framework_import"))
        page.get_by_label("Title", exact=True).fill("Serious case review")
        page.get_by_label("Short name", exact=True).fill("scr-review")
        page.get_by_label("Upload the file").set_input_files(
            files=[{"name": "review.csv", "mimeType": "text/csv", "buffer": content}]
        )
        page.get_by_role("button", name="Check the file").click()
        expect(page.get_by_role("heading", level=1)).to_have_text(answer)

    return visit


PLAN_CSV = (
    b"Reference,Action,Lead officer,Lead partner,Due date,State,Agreed on\n"
    b"70.1,Audit case files,Bob Officer,Bedfordshire Police,31/03/2010,Agreed,01/06/2009\n"
)


def plan_import(
    content: bytes, answer: str, *, check: bool = True, body: str = ""
) -> Callable[[Page, Site], None]:
    """Upload a plan's file and (``check``) check it with the suggested columns, ``body``
    signing off the rows that name none: the page shows the columns, the check or the file's
    problems."""

    def visit(page: Page, site: Site) -> None:
        page.goto(tenant_url("plan_import", pk=site.story.plan.pk))
        page.get_by_label("Upload the file").set_input_files(
            files=[{"name": "plan.csv", "mimeType": "text/csv", "buffer": content}]
        )
        page.get_by_role("button", name="Upload and choose columns").click()
        heading = page.get_by_role("heading", level=1)
        if check:
            expect(heading).to_have_text("Choose the columns to import")
            if body:
                page.get_by_label("Sign-off body of actions whose row names none").select_option(
                    label=body
                )
            page.get_by_role("button", name="Check the file").click()
        expect(heading).to_have_text(answer)

    return visit


def ask_for_a_reset_too_often(page: Page, email: str) -> None:
    heading = page.get_by_role("heading", level=1)
    for answer in ["Check your e-mail"] * 3 + ["Too many attempts"]:  # three an hour an address
        page.goto("/accounts/password/reset/")
        page.get_by_label("E-mail address").fill(email)
        page.get_by_role("button", name="Send the link").click()
        expect(heading).to_have_text(answer)
        # Leaving before the answer has loaded its scripts would cancel them.
        page.wait_for_load_state("load")


def after_confirming(path: str) -> Callable[[Page, Site], None]:
    """A page that changes how someone signs in: the password first, then the page."""

    def visit(page: Page, site: Site) -> None:
        page.goto("/accounts/reauthenticate/")
        page.get_by_label("Password", exact=True).fill("correct horse battery")
        page.get_by_role("button", name="Continue").click()
        page.wait_for_load_state("load")
        page.goto(path)

    return visit


def second_step(name: str, code: str = "") -> Callable[[Page, Site], None]:
    """Signing in as someone with an authenticator app: the code page, or (``code``) its
    answer to a wrong code."""

    def visit(page: Page, site: Site) -> None:
        # The role's page is kept between tests: start afresh, not half signed in.
        page.context.clear_cookies()
        page.goto("/accounts/login/")
        page.get_by_label("E-mail address").fill(getattr(site.story, name).email)
        page.get_by_label("Password", exact=True).fill("correct horse battery")
        page.get_by_role("button", name="Sign in", exact=True).click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Enter your code")
        if code:
            page.get_by_label("Code", exact=True).fill(code)
            page.get_by_role("button", name="Continue").click()
            expect(page.get_by_role("alert")).to_contain_text("The code is not correct")

    return visit


def person_page(name: str) -> Callable[[Page, Site], None]:
    return lambda page, site: page.goto(tenant_url("person", user_id=getattr(site.story, name).pk))


def _invite_again(page: Page) -> None:
    """Invite someone whose invitation is still waiting: the page offers to send it again."""
    page.goto(tenant_url("invitation_new"))
    page.get_by_label("Full name").fill("Nina Newcomer")
    page.get_by_label("E-mail address").fill("nina@example.org")
    page.get_by_label("Officer", exact=True).check()
    page.get_by_role("button", name="Send the invitation").click()
    expect(page.get_by_role("alert")).to_contain_text("There is a problem")


@dataclass(frozen=True)
class Visit:
    name: str
    open: Callable[[Page, Site], None]
    roles: tuple[str, ...] = tuple(ROLES)
    # At 320 px the page must not scroll sideways (tables may scroll inside their own box).
    fits_narrow: bool = False


VISITS = [
    Visit("sign-in", go("/accounts/login/"), ANONYMOUS),
    Visit(
        "sign-in-with-errors",
        send("/accounts/login/", {"E-mail address": "not an address"}, "Sign in"),
        ANONYMOUS,
    ),
    Visit("page-not-found", go("/no-such-page/"), ANONYMOUS),
    Visit("single-sign-on-find", go("/accounts/sso/"), ANONYMOUS),
    Visit(
        "single-sign-on-find-errors",
        send("/accounts/sso/", {"Your work e-mail address": ""}, "Continue"),
        ANONYMOUS,
    ),
    Visit("password-reset", go("/accounts/password/reset/"), ANONYMOUS),
    Visit(
        "password-reset-errors",
        send("/accounts/password/reset/", {"E-mail address": ""}, "Send the link"),
        ANONYMOUS,
    ),
    Visit("password-reset-sent", go("/accounts/password/reset/done/"), ANONYMOUS),
    Visit("password-reset-new-password", lambda page, site: page.goto(site.reset_link), ANONYMOUS),
    Visit(
        "password-reset-new-password-errors",
        send(
            lambda site: site.reset_link,
            {"New password": "plum orchard ladder 47", "Confirm new password": "plum"},
            "Save the new password",
        ),
        ANONYMOUS,
    ),
    Visit("password-reset-link-broken", go("/accounts/password/reset/key/1-nonsense/"), ANONYMOUS),
    Visit("password-reset-finished", go("/accounts/password/reset/key/done/"), ANONYMOUS),
    Visit(
        "too-many-reset-requests",
        lambda page, site: ask_for_a_reset_too_often(page, site.story.bob.email),
        ANONYMOUS,
    ),
    Visit("page-not-found", go(tenant_url("plan", pk=999999))),
    Visit("organisation-chooser", go("/")),
    Visit("home", go(tenant_url("tenant_home")), fits_narrow=True),
    Visit("plans", go(tenant_url("plans"))),
    Visit("plan-filtered", plan_page("?state=in_progress&rag=amber&q=policy")),
    Visit("plan-filter-errors", plan_page("?state=finished&overdue=sometimes")),
    *(
        Visit(f"action-{state}", action_page(state), fits_narrow=True)
        for state in ("proposed", "in-progress", "evidenced", "returned", "signed-off", "withdrawn")
    ),
    Visit(
        "action-progress-errors",
        send(
            lambda site: site.action_url("in-progress"),
            {"What has happened since the last update": ""},
            "Add the update",
        ),
        REPORTING,
        fits_narrow=True,
    ),
    Visit("report", plan_report("report", REPORT_DATES), fits_narrow=True),
    Visit(
        "report-date-errors",
        plan_report("report", "?as_of_day=31&as_of_month=2&as_of_year=2026&since=soon"),
        fits_narrow=True,
    ),
    Visit("report-publish", plan_report("report_publish", REPORT_DATES), MANAGING, True),
    Visit(
        "report-publish-errors",
        send(
            lambda site: tenant_url("report_publish", pk=site.story.plan.pk) + REPORT_DATES,
            {"Day": "31", "Month": "2", "Year": "2026"},
            "Publish",
        ),
        MANAGING,
        fits_narrow=True,
    ),
    Visit("dashboard", go(tenant_url("dashboard")), fits_narrow=True),
    Visit("dashboard-date-errors", go(tenant_url("dashboard") + "?as_of=2099-01-01")),
    Visit("my-actions", go(tenant_url("my_actions"))),
    Visit("notifications", go(tenant_url("notifications"))),
    Visit("notification-settings", go("/notifications/settings/")),
    Visit("change-password", go("/accounts/password/change/")),
    Visit(
        "change-password-errors",
        send("/accounts/password/change/", {"Current password": "not it"}, "Change password"),
    ),
    Visit("change-password-done", go("/accounts/password/change/done/")),
    Visit("second-factor", go("/accounts/2fa/")),
    Visit("confirm-it-is-you", go("/accounts/2fa/totp/activate/"), ("officer", "board-member")),
    Visit("second-factor-app", after_confirming("/accounts/2fa/totp/activate/"), ("officer",)),
    Visit("second-factor-key", after_confirming("/accounts/2fa/webauthn/add/"), ("officer",)),
    Visit(
        "second-factor-recovery-codes",
        after_confirming("/accounts/2fa/recovery-codes/generate/"),
        ("board-member",),
    ),
    Visit(
        "action-new",
        lambda page, site: page.goto(tenant_url("action_new", pk=site.story.plan.pk)),
        MANAGING,
    ),
    Visit(
        "action-new-errors",
        send(
            lambda site: tenant_url("action_new", pk=site.story.plan.pk),
            {"Day": "31", "Month": "2", "Year": "2026"},
            "Add the action",
        ),
        MANAGING,
    ),
    Visit("action-edit", action_page("proposed", "action_edit"), MANAGING),
    Visit(
        "action-edit-errors",
        send(
            lambda site: site.action_url("proposed", "action_edit"), {"Title": ""}, "Save changes"
        ),
        MANAGING,
    ),
    Visit(
        "not-allowed",
        lambda page, site: page.goto(tenant_url("action_new", pk=site.story.plan.pk)),
        ("viewer",),
    ),
    # Each workflow step's confirmation page, for those it is offered to; refused to others.
    *(
        Visit(f"step-{step}-{state}", step_page(state, step), roles)
        for step, state, roles in [
            ("agree", "ready-to-agree", MANAGING),
            ("agree", "proposed", MANAGING),  # not ready: what is missing
            ("start", "overdue", ("officer", *MANAGING)),
            ("submit_evidence", "returned", ("officer",)),
            ("sign_off", "evidenced", ("board-member", "officer", "viewer")),
            ("send_back", "evidenced", ("board-member",)),
            ("reopen", "signed-off", ("board-member",)),
            ("withdraw", "in-progress", MANAGING),
        ]
    ),
    Visit(
        "step-send_back-without-reason",
        send(
            lambda site: site.action_url("evidenced", step="send_back"), {}, "Return to in progress"
        ),
        ("board-member",),
    ),
    Visit(
        "step-withdraw-without-reason",
        send(lambda site: site.action_url("in-progress", step="withdraw"), {}, "Withdraw"),
        MANAGING,
    ),
    Visit("plan-step-endorse", plan_step("endorse"), ("board-member", "manager")),
    Visit("plan-step-send_back", plan_step("send_back"), ("board-member",)),
    Visit("escalation-settings", go(tenant_url("escalation_settings")), ("tenant-admin",)),
    Visit(
        "escalation-settings-errors",
        send(
            tenant_url("escalation_settings"),
            {"Tell the lead officer and the lead partner's contact": "0"},
            "Save escalation settings",
        ),
        ("tenant-admin",),
    ),
    Visit("emails-not-sent", go(tenant_url("messages_not_sent")), ("tenant-admin",)),
    Visit("single-sign-on", go(tenant_url("single_sign_on")), ("tenant-admin",)),
    Visit(
        "single-sign-on-errors",
        send(
            tenant_url("single_sign_on"),
            {"Client (application) ID": ""},
            "Save single sign-on settings",
        ),
        ("tenant-admin",),
    ),
    Visit("settings", go(tenant_url("settings")), ("tenant-admin",), fits_narrow=True),
    Visit("record-of-changes", go(tenant_url("audit")), ("tenant-admin",), fits_narrow=True),
    Visit(
        "record-of-changes-errors",
        go(tenant_url("audit") + "?since=soon&until=later"),
        ("tenant-admin",),
    ),
    Visit("frameworks", go(tenant_url("frameworks")), ("tenant-admin",)),
    Visit(
        "framework",
        lambda page, site: page.goto(tenant_url("framework", pk=site.story.framework.pk)),
        ("tenant-admin",),
    ),
    Visit("framework-import", go(tenant_url("framework_import")), ("tenant-admin",)),
    Visit(
        "framework-import-errors",
        send(tenant_url("framework_import"), {"Title": ""}, "Check the file"),
        ("tenant-admin",),
    ),
    Visit(
        "framework-import-preview",
        framework_upload(FRAMEWORK_CSV, "Check the framework before importing"),
        ("tenant-admin",),
    ),
    Visit(
        "framework-import-problems",
        framework_upload(FRAMEWORK_CSV.replace(b"Supervision", b"Referrals"), "Import a framework"),
        ("tenant-admin",),
    ),
    Visit(
        "plan-import",
        lambda page, site: page.goto(tenant_url("plan_import", pk=site.story.plan.pk)),
        MANAGING,
    ),
    Visit(
        "plan-import-errors",
        send(
            lambda site: tenant_url("plan_import", pk=site.story.plan.pk),
            {},
            "Upload and choose columns",
        ),
        MANAGING,
    ),
    Visit(
        "plan-import-columns",
        plan_import(PLAN_CSV, "Choose the columns to import", check=False),
        MANAGING,
    ),
    Visit(
        "plan-import-check",
        plan_import(PLAN_CSV, "Check the actions before importing", body="LSCB board"),
        MANAGING,
    ),
    Visit(
        "plan-import-problems",
        plan_import(
            PLAN_CSV.replace(b"Bob Officer", b"Zara Nobody"), "Choose the columns to import"
        ),
        MANAGING,
    ),
    Visit("people", go(tenant_url("people")), ("tenant-admin",)),
    Visit("invite", go(tenant_url("invitation_new")), ("tenant-admin",)),
    Visit(
        "invite-errors",
        send(
            tenant_url("invitation_new"),
            {"E-mail address": "not an address"},
            "Send the invitation",
        ),
        ("tenant-admin",),
    ),
    Visit(
        "invite-already-waiting",
        lambda page, site: _invite_again(page),
        ("tenant-admin",),
    ),
    # Bob leads actions, so his page says why he cannot be removed; Victor's offers it.
    Visit("person-refused", person_page("bob"), ("tenant-admin",)),
    Visit("person", person_page("victor"), ("tenant-admin",)),
    Visit(
        "person-remove",
        lambda page, site: page.goto(tenant_url("person_remove", user_id=site.story.victor.pk)),
        ("tenant-admin",),
    ),
    Visit(
        "person-remove-refused",
        lambda page, site: page.goto(tenant_url("person_remove", user_id=site.story.bob.pk)),
        ("tenant-admin",),
    ),
    Visit("partners", go(tenant_url("partners")), ("tenant-admin",)),
    Visit("partner-new", go(tenant_url("partner_new")), ("tenant-admin",)),
    Visit(
        "partner-new-errors",
        send(tenant_url("partner_new"), {"Full name": "Someone"}, "Save the partner agency"),
        ("tenant-admin",),
    ),
    Visit(
        "partner-edit",
        lambda page, site: page.goto(tenant_url("partner_edit", pk=site.story.police.pk)),
        ("tenant-admin",),
    ),
    Visit(
        "invitation-new-person",
        lambda page, site: page.goto(site.invitation_links["new"]),
        ANONYMOUS,
    ),
    Visit(
        "invitation-new-person-errors",
        send(
            lambda site: site.invitation_links["new"],
            {"Password": "plum orchard ladder 47", "Confirm password": "plum"},
            "Accept and set the password",
        ),
        ANONYMOUS,
    ),
    Visit(
        "invitation-existing-account",
        lambda page, site: page.goto(site.invitation_links["existing"]),
        ANONYMOUS,
    ),
    Visit("invitation-link-broken", go("/invitations/1/nonsense/"), ANONYMOUS),
    Visit("organisation", go(tenant_url("organisation")), ("tenant-admin",)),
    Visit("sign-off-bodies", go(tenant_url("sign_off_bodies")), ("tenant-admin",)),
    Visit("sign-off-body-new", go(tenant_url("sign_off_body_new")), ("tenant-admin",)),
    Visit(
        "sign-off-body-new-errors",
        send(tenant_url("sign_off_body_new"), {"Name": ""}, "Set up the body"),
        ("tenant-admin",),
    ),
    Visit(
        "sign-off-body",
        lambda page, site: page.goto(tenant_url("sign_off_body", pk=site.story.lscb.pk)),
        ("tenant-admin",),
    ),
    Visit(
        "sign-off-body-errors",
        send(
            lambda site: tenant_url("sign_off_body", pk=site.story.lscb.pk),
            {"Quorum": "9"},
            "Save changes",
        ),
        ("tenant-admin",),
    ),
    Visit("plan-new", go(tenant_url("plan_new")), ("tenant-admin",)),
    Visit(
        "plan-new-errors",
        send(tenant_url("plan_new"), {"Title": ""}, "Create the plan"),
        ("tenant-admin",),
    ),
    Visit(
        "plan-settings",
        lambda page, site: page.goto(tenant_url("plan_settings", pk=site.story.plan.pk)),
        ("tenant-admin",),
    ),
    Visit("settings-not-allowed", go(tenant_url("sign_off_bodies")), ("manager",)),
    # Last: they leave the anonymous page half signed in.
    Visit("sign-in-code", second_step("dave"), ANONYMOUS),
    Visit("sign-in-code-wrong", second_step("dave", code="00000"), ANONYMOUS),
]


def cases() -> Iterator:
    for visit in VISITS:
        for role in visit.roles:
            for width in WIDTHS:
                yield pytest.param(visit, role, width, id=f"{visit.name}-{role}-{width}")


@pytest.mark.parametrize(("visit", "role", "width"), list(cases()))
def test_page_has_no_accessibility_violations(page: Page, site: Site, axe_url, visit, role, width):
    visit.open(page, site)
    # A form's answer shows its heading before its scripts have run; axe checks the finished page.
    page.wait_for_load_state("load")

    problems = []
    violations = axe_violations(page, axe_url)
    if violations:
        problems.append(
            f"axe found {len(violations)} violation(s) on {page.url} ({visit.name}, {role}, "
            f"{width}):\n{describe_violations(violations)}"
        )
    if width == "320px" and visit.fits_narrow and (extra := scrolls_sideways(page)):
        problems.append(
            f"{page.url} ({visit.name}, {role}) scrolls sideways by {extra} px at 320 px"
        )
    if visit.name == "home":
        screenshot(page, f"home-{role}-{width}")
    assert not problems, "\n".join(problems)
