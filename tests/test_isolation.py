"""Tenant isolation, generated from the URL configuration.

Every URL under ``/t/<slug>/`` is asked for by a member of Central Bedfordshire with Sunderland's
ids and with ids that exist nowhere: both answer 404, with the same body. A new URL is covered
as soon as it is added; a URL whose ids this test cannot fill fails until ``ID_SOURCES`` learns
what its path segment names.
"""

import datetime
import re
from dataclasses import dataclass

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from notifications.models import Message, Notification
from plans.models import Action, ActionPlan, Evidence, Framework, PublishedReport
from tenants.models import Invitation, Partner, Tenant, User
from tenants.scoping import tenant_scope

MISSING_ID = 987_654_321


@dataclass(frozen=True)
class Route:
    name: str
    template: str  # e.g. "t/<slug:tenant_slug>/actions/<int:pk>/"


def tenant_routes() -> list[Route]:
    routes = []

    def walk(patterns, prefix):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                walk(pattern.url_patterns, prefix + str(pattern.pattern))
            elif isinstance(pattern, URLPattern):
                template = prefix + str(pattern.pattern)
                if "<slug:tenant_slug>" in template:
                    routes.append(Route(pattern.name or template, template))

    walk(get_resolver().url_patterns, "")
    return routes


# Which object a path segment's id names, as (collection segment) -> getter on the story.
ID_SOURCES = {
    "plans": lambda ids: ids["plan"],
    "actions": lambda ids: ids["action"],
    "evidence": lambda ids: ids["evidence"],
    "notifications": lambda ids: ids["notification"],
    "messages": lambda ids: ids["message"],
    "sign-off-bodies": lambda ids: ids["body"],
    "people": lambda ids: ids["person"],
    "invitations": lambda ids: ids["invitation"],
    "partners": lambda ids: ids["partner"],
    "frameworks": lambda ids: ids["framework"],
    "published": lambda ids: ids["published"],
}
# Values for non-id parameters: a real step name, so only the object decides the answer.
WORDS = {"name": {"plans": "submit", "actions": "agree"}, "fmt": {"plans": "csv"}}

PARAM = re.compile(r"<(?:(?P<conv>\w+):)?(?P<name>\w+)>")


def fill(route: Route, tenant_slug: str, ids: dict) -> str:
    path = ""
    last_collection = None
    for segment in route.template.split("/"):
        match = PARAM.fullmatch(segment)
        if not match:
            path += segment + "/"
            last_collection = segment or last_collection
            continue
        name = match["name"]
        if name == "tenant_slug":
            value = tenant_slug
        elif name in WORDS:
            value = WORDS[name].get(_first_collection(route), "agree")
        else:
            source = ID_SOURCES.get(last_collection)
            assert source, f"{route.template}: teach ID_SOURCES what '{last_collection}' names"
            value = source(ids)
        path += f"{value}/"
    return "/" + path.rstrip("/").lstrip("/") + ("/" if route.template.endswith("/") else "")


def _first_collection(route: Route) -> str:
    parts = [p for p in route.template.split("/") if p and not PARAM.fullmatch(p)]
    return parts[1] if len(parts) > 1 else ""


def failed_notification(tenant: Tenant, user: User, action: Action, text: str) -> Notification:
    """A notification whose e-mail failed, so it shows on the tenant's pages of both kinds."""
    message = Message.objects.create(
        recipient=user,
        tenant=tenant,
        kind=Message.Kind.EVENT,
        subject=f"{text} e-mail",
        body_text=text,
        body_html=text,
        key=f"isolation:{tenant.pk}:{user.pk}",
        status=Message.Status.FAILED,
        last_error=f"{text} error",
    )
    return Notification.objects.create(
        tenant=tenant,
        recipient=user,
        kind=Notification.Kind.RETURNED,
        action=action,
        title=f"{text} notification",
        reason="you are the lead officer for this action",
        detail=f"{text} detail",
        link=f"/t/{tenant.slug}/actions/{action.pk}/",
        key=f"isolation:{user.pk}",
        message=message,
    )


def _invitation(tenant: Tenant, by: User) -> Invitation:
    """An invitation made as the service does, without its e-mail."""
    return Invitation.objects.create(
        tenant=tenant,
        email=f"invited-{tenant.slug}@example.org",
        full_name="Invited Person",
        role="officer",
        token_hash="0" * 64,
        invited_by=by,
        expires_at=timezone.now() + datetime.timedelta(days=7),
    )


def _published(plan, by: User, meeting: str) -> PublishedReport:
    from plans.reports.publishing import report_publish

    return report_publish(
        plan=plan,
        by=by,
        meeting=meeting,
        meeting_date=timezone.localdate(),
        as_of=timezone.localdate(),
        format=PublishedReport.Format.CSV,
        today=timezone.localdate(),
    )


@pytest.fixture
def foreign_ids(story):
    from plans.services import evidence_add_link

    with tenant_scope(story.other_tenant):
        evidence = evidence_add_link(
            action=story.other_action,
            by=story.charlie,
            url="https://example.org/canary",
            description="CANARY evidence",
        )
        notification = failed_notification(
            story.other_tenant, story.charlie, story.other_action, "CANARY"
        )
        framework = Framework.objects.create(
            tenant=story.other_tenant, title="CANARY review", short_name="canary-review"
        )
        invitation = _invitation(story.other_tenant, story.charlie)
        published = _published(story.other_plan, story.charlie, "CANARY meeting")
        return {
            "published": published.pk,
            "framework": framework.pk,
            "person": story.charlie.pk,
            "invitation": invitation.pk,
            "partner": Partner.objects.filter(tenant=story.other_tenant).first().pk,
            "plan": story.other_plan.pk,
            "action": story.other_action.pk,
            "evidence": evidence.pk,
            "notification": notification.pk,
            "message": notification.message_id,
            "body": story.other_plan.owner_body_id,
        }


@pytest.fixture
def own_ids(story):
    from plans.services import evidence_add_link

    action = story.action_in(Action.State.IN_PROGRESS)
    evidence = evidence_add_link(
        action=action, by=story.bob, url="https://example.org/own", description="Own evidence"
    )
    notification = failed_notification(story.tenant, story.bob, action, "Own")
    framework = Framework.objects.create(
        tenant=story.tenant, title="Own review", short_name="own-review"
    )
    return {
        "published": _published(story.plan, story.alice, "Own meeting").pk,
        "framework": framework.pk,
        "person": story.bob.pk,
        "invitation": _invitation(story.tenant, story.erin).pk,
        "partner": story.police.pk,
        "plan": story.plan.pk,
        "action": action.pk,
        "evidence": evidence.pk,
        "notification": notification.pk,
        "message": notification.message_id,
        "body": story.lscb.pk,
    }


def test_every_tenant_route_is_covered():
    names = {route.name for route in tenant_routes()}
    assert {"plans", "plan", "action", "my_actions", "notifications", "messages_not_sent"} <= names


@pytest.mark.parametrize("method", ["get", "post"])
def test_another_tenants_ids_answer_exactly_like_missing_ones(client, story, foreign_ids, method):
    client.force_login(story.alice)
    missing = {key: MISSING_ID for key in foreign_ids}
    for route in tenant_routes():
        url_foreign = fill(route, story.tenant.slug, foreign_ids)
        url_missing = fill(route, story.tenant.slug, missing)
        if url_foreign == url_missing:
            continue  # the route names no object
        foreign = getattr(client, method)(url_foreign)
        absent = getattr(client, method)(url_missing)
        if foreign.status_code == 405 and absent.status_code == 405:
            continue  # the route does not take this method at all
        assert foreign.status_code == 404, (route.template, method, foreign.status_code)
        assert absent.status_code == 404, (route.template, method, absent.status_code)
        assert foreign.content == absent.content, route.template


@pytest.mark.parametrize("method", ["get", "post"])
def test_non_members_get_the_same_404_as_a_tenant_that_does_not_exist(
    client, story, own_ids, method
):
    client.force_login(story.charlie)
    for route in tenant_routes():
        member_only = getattr(client, method)(fill(route, story.tenant.slug, own_ids))
        no_tenant = getattr(client, method)(fill(route, "no-such-council", own_ids))
        assert member_only.status_code == 404, route.template
        assert member_only.content == no_tenant.content, route.template


def test_superuser_who_is_not_a_member_still_gets_404(client, story, own_ids):
    story.charlie.is_superuser = True
    story.charlie.is_staff = True
    story.charlie.save()
    client.force_login(story.charlie)
    for route in tenant_routes():
        response = client.get(fill(route, story.tenant.slug, own_ids))
        assert response.status_code in (404, 405), route.template


def test_user_with_global_permissions_sees_only_their_own_tenant(client, story, foreign_ids):
    from django.contrib.auth.models import Permission

    story.alice.user_permissions.add(*Permission.objects.all())
    client.force_login(story.alice)
    for route in tenant_routes():
        response = client.get(fill(route, story.other_tenant.slug, foreign_ids))
        assert response.status_code in (404, 405), route.template


def test_no_page_shows_another_tenants_records(client, story, own_ids, foreign_ids):
    for person in (story.alice, story.bob, story.carol, story.erin, story.victor):
        client.force_login(person)
        for route in tenant_routes():
            response = client.get(fill(route, story.tenant.slug, own_ids))
            if response.status_code == 405:
                continue
            assert response.status_code in (200, 302, 403, 404), (route.template, person)
            raw = b"".join(response.streaming_content) if response.streaming else response.content
            assert "CANARY" not in raw.decode(errors="replace"), (route.template, person)
    client.force_login(story.alice)
    home = client.get("/", follow=True)
    assert "CANARY" not in home.content.decode()
    assert "Sunderland" not in home.content.decode()


def test_anonymous_visitors_are_sent_to_sign_in(client, story, own_ids):
    for route in tenant_routes():
        response = client.get(fill(route, story.tenant.slug, own_ids))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_ids_of_evidence_and_actions_are_checked_together(client, story, own_ids):
    """Own evidence asked for under another of the tenant's actions is not served."""
    other_action = story.action_in(Action.State.AGREED, reference="2.2")
    client.force_login(story.alice)
    response = client.get(
        f"/t/{story.tenant.slug}/actions/{other_action.pk}/evidence/{own_ids['evidence']}/"
    )
    assert response.status_code == 404
    assert Evidence.objects.filter(pk=own_ids["evidence"]).exists()
    assert ActionPlan.objects.filter(pk=own_ids["plan"]).exists()
