"""The notification pages: a person's list and e-mail choice, the tenant administrator's
escalation settings and undelivered e-mails, and the operator's admin."""

import datetime
import itertools
from contextlib import nullcontext

import pytest
from django.test import RequestFactory
from django.urls import reverse
from django.utils import timezone

from notifications.context_processors import unread_notifications
from notifications.models import (
    ChannelSettings,
    EscalationPolicy,
    EscalationStep,
    Message,
    Notification,
    NotificationPreference,
    Sweep,
)
from notifications.services import escalation_policy_update
from tenants.models import Membership, Tenant, User
from tenants.scoping import across_tenants, tenant_scope
from tenants.services import membership_add
from tests.notifications.factories import policy_form
from tests.querycount import queries_for
from tests.tenants.factories import UserFactory

SLUG = "central-bedfordshire"
NOTIFY_KEY = "live-key-0f7d1c2e-SECRET-9b8a"
_keys = itertools.count()


def url(name: str, **kwargs) -> str:
    return reverse(name, kwargs={"tenant_slug": SLUG, **kwargs})


def notify(
    user: User,
    tenant: Tenant,
    title: str = "Returned to in progress: 1.1 Audit of referrals",
    *,
    link: str | None = None,
    detail: str = "",
    message: Message | None = None,
    read: bool = False,
    **fields,
) -> Notification:
    """A notification for ``user``; the caller has ``tenant``'s scope active."""
    return Notification.objects.create(
        tenant=tenant,
        recipient=user,
        kind=fields.pop("kind", Notification.Kind.RETURNED),
        title=title,
        reason=fields.pop("reason", "you are the lead officer for this action"),
        detail=detail,
        link=link or f"/t/{tenant.slug}/",
        key=f"test:{next(_keys)}",
        message=message,
        read_at=timezone.now() if read else None,
        **fields,
    )


def outbox(user: User, tenant: Tenant | None, subject: str, **fields) -> Message:
    fields.setdefault("status", Message.Status.FAILED)
    fields.setdefault("kind", Message.Kind.EVENT if tenant else Message.Kind.DIGEST)
    # A digest belongs to no tenant: the sweep writes it on the cross-tenant path.
    with nullcontext() if tenant else across_tenants():
        return _outbox(user, tenant, subject, **fields)


def _outbox(user: User, tenant: Tenant | None, subject: str, **fields) -> Message:
    return Message.objects.create(
        recipient=user,
        tenant=tenant,
        subject=subject,
        body_text=fields.pop("body", f"Body of {subject}"),
        body_html=f"<p>Body of {subject}</p>",
        key=f"test:{next(_keys)}",
        **fields,
    )


def header_count(response) -> str | None:
    """The unread count in the page header, or None when the header shows none."""
    content = response.content.decode()
    marker = '<strong class="govuk-tag govuk-tag--red app-count">'
    nav = content[content.index('aria-label="Main menu"') :]
    nav = nav[: nav.index("</nav>")]
    if marker not in nav:
        return None
    return nav.split(marker, 1)[1].split("<", 1)[0]


def notify_settings(tenant) -> ChannelSettings:
    with tenant_scope(tenant):
        return ChannelSettings.objects.get(tenant=tenant, channel="notify")


# -- the list and the header count ----------------------------------------------------------


def test_header_shows_the_unread_count_and_it_falls_as_notifications_are_read(client, story):
    first = notify(story.bob, story.tenant, "First", link=f"/t/{SLUG}/plans/{story.plan.pk}/")
    notify(story.bob, story.tenant, "Second")
    notify(story.bob, story.tenant, "Already read", read=True)
    notify(story.alice, story.tenant, "Alice's own")
    client.force_login(story.bob)

    assert header_count(client.get(url("plans"))) == "2"

    response = client.post(url("notification_read", pk=first.pk))
    assert response.status_code == 302
    assert response["Location"] == f"/t/{SLUG}/plans/{story.plan.pk}/"
    assert header_count(client.get(url("plans"))) == "1"

    response = client.post(url("notifications_mark_all_read"), follow=True)
    assert "1 notification marked as read." in response.content.decode()
    assert header_count(response) is None
    assert Notification.objects.filter(recipient=story.alice, read_at__isnull=True).count() == 1


def test_list_shows_title_reason_detail_date_link_and_what_is_unread(client, story):
    link = f"/t/{SLUG}/plans/{story.plan.pk}/"
    unread = notify(
        story.bob,
        story.tenant,
        "Returned to in progress: 1.1 Audit of referrals",
        link=link,
        detail="The minutes do not show the board's decision.",
    )
    notify(story.bob, story.tenant, "Signed off: 1.2 Training", link=link, read=True)
    notify(story.alice, story.tenant, "Something only Alice is told")
    client.force_login(story.bob)

    response = client.get(url("notifications"))

    content = response.content.decode()
    assert response.status_code == 200
    assert "Returned to in progress: 1.1 Audit of referrals" in content
    assert "Why you: you are the lead officer for this action." in content
    assert "The minutes do not show the board&#x27;s decision." in content
    assert f'<a class="govuk-link" href="{link}">Signed off: 1.2 Training</a>' in content
    assert url("notification_read", pk=unread.pk) in content
    assert content.count(">Unread</strong>") == 1
    assert unread.created_at.strftime("%Y") in content
    assert "Something only Alice is told" not in content
    # Newest first.
    assert content.index("Signed off: 1.2 Training") < content.index("Audit of referrals")


def test_evidence_sent_back_reaches_the_lead_officers_list_with_the_reason(client, story):
    from plans.models import Action
    from workflow.services import transition_perform

    action = story.action_in(Action.State.EVIDENCED, title="Audit of referrals")
    transition_perform(
        obj=action, name="send_back", user=story.carol, comment="Minutes are missing page 2."
    )
    client.force_login(story.bob)

    content = client.get(url("notifications")).content.decode()

    assert "Returned to in progress: 1.1 Audit of referrals" in content
    assert "Minutes are missing page 2." in content
    returned = Notification.objects.get(recipient=story.bob, kind=Notification.Kind.RETURNED)
    response = client.post(url("notification_read", pk=returned.pk))
    assert response["Location"] == url("action", pk=action.pk)


def test_list_is_paginated_by_fifty_and_costs_the_same_whatever_its_length(client, story):
    client.force_login(story.victor)
    notify(story.victor, story.tenant, "Notification 0")
    few = queries_for(client, url("notifications"))
    Notification.objects.bulk_create(
        Notification(
            tenant=story.tenant,
            recipient=story.victor,
            kind=Notification.Kind.SIGNED_OFF,
            title=f"Notification {n}",
            reason="you own the action plan",
            link=f"/t/{SLUG}/",
            key=f"bulk:{n}",
            created_at=timezone.now() + datetime.timedelta(seconds=n),
        )
        for n in range(1, 60)
    )
    assert queries_for(client, url("notifications")) == few

    first = client.get(url("notifications")).content.decode()
    second = client.get(url("notifications") + "?page=2").content.decode()
    assert first.count('class="govuk-summary-card"') == 50
    assert "Notification 59<" in first and "Page 1 of 2" in first
    assert second.count('class="govuk-summary-card"') == 10
    assert "Notification 0<" in second


def test_someone_elses_notification_answers_404_like_a_missing_one(client, story):
    alices = notify(story.alice, story.tenant, "Alice's")
    client.force_login(story.bob)

    other = client.post(url("notification_read", pk=alices.pk))
    missing = client.post(url("notification_read", pk=987_654_321))

    assert other.status_code == missing.status_code == 404
    assert other.content == missing.content
    assert Notification.objects.get(pk=alices.pk).read_at is None


def test_a_link_outside_the_service_is_never_followed(client, story):
    odd = notify(story.bob, story.tenant, "Odd", link="//example.com/elsewhere")
    client.force_login(story.bob)
    response = client.post(url("notification_read", pk=odd.pk))
    assert response["Location"] == url("notifications")


def test_reading_needs_a_post(client, story):
    mine = notify(story.bob, story.tenant)
    client.force_login(story.bob)
    assert client.get(url("notification_read", pk=mine.pk)).status_code == 405
    assert Notification.objects.get(pk=mine.pk).read_at is None


def test_unread_count_costs_one_query_in_a_tenant_and_none_outside(
    story, django_assert_num_queries
):
    notify(story.bob, story.tenant)
    request = RequestFactory().get("/")
    request.user = story.bob
    with django_assert_num_queries(0):
        assert unread_notifications(request) == {"notifications_unread": None}
    request.tenant = story.tenant
    with django_assert_num_queries(1):
        assert unread_notifications(request) == {"notifications_unread": 1}


# -- e-mail preference ----------------------------------------------------------------------


def test_preference_page_is_at_the_path_the_emails_link_to(client, story):
    client.force_login(story.bob)
    response = client.get("/notifications/settings/")
    content = response.content.decode()
    assert response.status_code == 200
    assert reverse("notification_settings") == "/notifications/settings/"
    assert "Straight away" in content and "In one e-mail each morning" in content
    assert "always come in one e-mail each morning" in content
    assert 'value="immediate" required id="id_events_0" checked' in content


def test_preference_change_is_saved(client, story):
    client.force_login(story.bob)
    response = client.post(
        reverse("notification_settings"),
        {"events": NotificationPreference.Events.DAILY},
        follow=True,
    )
    assert "Your choice is saved." in response.content.decode()
    assert NotificationPreference.objects.get(user=story.bob).events == "daily"

    client.post(reverse("notification_settings"), {"events": "immediate"})
    assert NotificationPreference.objects.get(user=story.bob).events == "immediate"


def test_preference_nonsense_is_refused_with_a_message(client, story):
    client.force_login(story.bob)
    response = client.post(reverse("notification_settings"), {"events": "hourly"})
    content = response.content.decode()
    assert response.status_code == 400
    assert "There is a problem" in content
    assert "Choose straight away or in one e-mail each morning." in content
    assert not NotificationPreference.objects.filter(user=story.bob).exists()


def test_preference_page_needs_signing_in(client, db):
    response = client.get("/notifications/settings/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


# -- escalation settings --------------------------------------------------------------------


def test_tenant_admin_sees_the_defaults_when_nothing_is_stored(client, story):
    client.force_login(story.erin)
    response = client.get(url("escalation_settings"))
    content = response.content.decode()
    assert response.status_code == 200
    for name, value in [
        ("reminder_days_before", 5),
        ("overdue_days", 1),
        ("managers_days", 10),
        ("chair_days", 20),
        ("sign_off_waiting_days", 10),
    ]:
        assert f'name="{name}" value="{value}"' in content
    assert 'value="email" required id="id_channel_0" checked' in content
    assert "nobody has changed them yet" in content


def test_tenant_admin_navigation_links_to_the_settings_and_no_one_else_sees_them(client, story):
    client.force_login(story.erin)
    assert f'href="{url("settings")}"' in client.get(url("plans")).content.decode()
    content = client.get(url("settings")).content.decode()
    assert url("escalation_settings") in content and url("messages_not_sent") in content
    client.force_login(story.alice)
    assert url("settings") not in client.get(url("plans")).content.decode()
    assert client.get(url("settings")).status_code == 403
    assert url("notifications") in content


@pytest.mark.parametrize("who", ["alice", "bob", "carol", "victor"])
def test_others_cannot_see_or_change_the_policy(client, story, who):
    client.force_login(getattr(story, who))
    assert client.get(url("escalation_settings")).status_code == 403
    response = client.post(url("escalation_settings"), policy_form(reminder_days_before="3"))
    assert response.status_code == 403
    assert not EscalationPolicy.objects.filter(tenant=story.tenant).exists()
    assert client.get(url("messages_not_sent")).status_code == 403


def test_another_tenants_member_gets_404(client, story):
    client.force_login(story.charlie)
    assert client.get(url("escalation_settings")).status_code == 404
    assert client.get(url("messages_not_sent")).status_code == 404


def test_tenant_admin_changes_the_policy(client, story):
    client.force_login(story.erin)
    response = client.post(
        url("escalation_settings"),
        policy_form(reminder_days_before="3", managers_days="12", chair_days="25"),
        follow=True,
    )
    assert "Escalation settings saved." in response.content.decode()
    policy = EscalationPolicy.objects.get(tenant=story.tenant)
    assert (policy.reminder_days_before, policy.managers_days, policy.chair_days) == (3, 12, 25)
    assert policy.updated_by == story.erin
    assert 'name="managers_days" value="12"' in response.content.decode()


@pytest.mark.parametrize(
    ("changes", "message", "field"),
    [
        (
            {"managers_days": "1"},
            "The monitoring body is told later than the lead officer",
            "managers_days",
        ),
        ({"chair_days": "10"}, "The chair is told last", "chair_days"),
        ({"overdue_days": "0"}, "Give a number of working days from 1 to 250.", "overdue_days"),
        ({"reminder_days_before": "many"}, "Give a number", "reminder_days_before"),
        (
            {"channel": "notify", "notify_template_id": "f33517ff-2a88-4f6e-b855-c550268ce08a"},
            "Enter your GOV.UK Notify API key to send through Notify.",
            "notify_api_key",
        ),
        (
            {"channel": "notify", "notify_api_key": NOTIFY_KEY},
            "Enter the ID of your Notify e-mail template.",
            "notify_template_id",
        ),
    ],
)
def test_an_invalid_policy_is_explained_and_nothing_changes(client, story, changes, message, field):
    client.force_login(story.erin)
    response = client.post(url("escalation_settings"), policy_form(**changes))
    content = response.content.decode()
    assert response.status_code == 400
    assert "There is a problem" in content
    assert f'<li><a href="#id_{field}' in content
    assert message in content
    assert NOTIFY_KEY not in content
    assert not EscalationPolicy.objects.filter(tenant=story.tenant).exists()
    assert not ChannelSettings.objects.filter(tenant=story.tenant).exists()


def test_an_invalid_change_leaves_a_stored_policy_as_it_was(client, story):
    escalation_policy_update(tenant=story.tenant, by=story.erin, managers_days=15)
    client.force_login(story.erin)
    response = client.post(
        url("escalation_settings"), policy_form(managers_days="30", chair_days="30")
    )
    assert response.status_code == 400
    policy = EscalationPolicy.objects.get(tenant=story.tenant)
    assert (policy.managers_days, policy.chair_days) == (15, 20)


def test_the_notify_key_is_never_shown_and_a_blank_box_keeps_it(client, story):
    template_id = "f33517ff-2a88-4f6e-b855-c550268ce08a"
    escalation_policy_update(
        tenant=story.tenant,
        by=story.erin,
        channel="notify",
        notify_api_key=NOTIFY_KEY,
        notify_template_id=template_id,
    )
    client.force_login(story.erin)

    page = client.get(url("escalation_settings")).content.decode()
    assert NOTIFY_KEY not in page
    assert "A key is stored" in page
    assert 'type="password" class="govuk-input" name="notify_api_key"' in page

    response = client.post(
        url("escalation_settings"),
        policy_form(channel="notify", notify_template_id=template_id, reminder_days_before="4"),
        follow=True,
    )
    assert NOTIFY_KEY not in response.content.decode()
    policy = EscalationPolicy.objects.get(tenant=story.tenant)
    assert (notify_settings(story.tenant).secrets["api_key"], policy.reminder_days_before) == (
        NOTIFY_KEY,
        4,
    )

    # A new key typed into a form that is refused is not echoed either, nor stored.
    response = client.post(
        url("escalation_settings"),
        policy_form(
            channel="notify",
            notify_template_id=template_id,
            notify_api_key="new-key-SECRET-2",
            managers_days="1",
        ),
    )
    content = response.content.decode()
    assert response.status_code == 400
    assert "new-key-SECRET-2" not in content and NOTIFY_KEY not in content
    assert "enter the API key again" in content
    assert notify_settings(story.tenant).secrets["api_key"] == NOTIFY_KEY

    client.post(
        url("escalation_settings"),
        policy_form(
            channel="notify", notify_template_id=template_id, notify_api_key="new-key-SECRET-2"
        ),
    )
    assert notify_settings(story.tenant).secrets["api_key"] == "new-key-SECRET-2"


# -- e-mails not sent -----------------------------------------------------------------------


def test_failed_message_is_listed_with_its_error_and_send_again_makes_it_pending(client, story):
    failed = outbox(
        story.bob,
        story.tenant,
        "Central Bedfordshire Council: Returned to in progress: 1.1",
        attempts=6,
        last_error="550 5.1.1 Mailbox unavailable",
    )
    client.force_login(story.erin)

    content = client.get(url("messages_not_sent")).content.decode()
    assert "Returned to in progress: 1.1" in content
    assert "550 5.1.1 Mailbox unavailable" in content
    assert story.bob.email in content
    assert ">Failed<" in content
    assert url("message_send_again", pk=failed.pk) in content
    assert "Body of" not in content

    response = client.post(url("message_send_again", pk=failed.pk), follow=True)
    assert "will be sent again" in response.content.decode()
    failed.refresh_from_db()
    assert (failed.status, failed.attempts) == (Message.Status.PENDING, 0)

    # Once pending it is not failed any more: a second press changes nothing and says why.
    response = client.post(url("message_send_again", pk=failed.pk), follow=True)
    assert "Only a failed message can be sent again." in response.content.decode()


def test_only_failed_skipped_and_long_pending_messages_are_listed(client, story):
    old = timezone.now() - datetime.timedelta(minutes=20)
    outbox(story.bob, story.tenant, "Skipped one", status="skipped", last_error="No address")
    outbox(story.bob, story.tenant, "Stuck one", status="pending", created_at=old)
    outbox(story.bob, story.tenant, "Fresh one", status="pending")
    outbox(story.bob, story.tenant, "Sent one", status="sent", sent_at=timezone.now())
    client.force_login(story.erin)

    content = client.get(url("messages_not_sent")).content.decode()

    assert "Skipped one" in content and "No address" in content
    assert "Stuck one" in content
    assert "Fresh one" not in content and "Sent one" not in content
    assert "send-again" not in content  # nothing here has failed


def test_non_admin_cannot_send_a_message_again(client, story):
    failed = outbox(story.bob, story.tenant, "Failed one")
    client.force_login(story.alice)
    assert client.post(url("message_send_again", pk=failed.pk)).status_code == 403
    failed.refresh_from_db()
    assert failed.status == Message.Status.FAILED


def test_a_cross_tenant_digest_shows_none_of_the_other_tenants_items(client, story):
    with tenant_scope(story.other_tenant):
        membership_add(tenant=story.other_tenant, user=story.bob, role=Membership.Role.OFFICER)
    digest = outbox(
        story.bob,
        None,
        "Safeguarding action plans: 2 items for you",
        body="Overdue: 9.9 CANARY Sunderland action",
        last_error="421 Try again later",
    )
    notify(story.bob, story.tenant, "Overdue: 1.1 Audit", message=digest)
    with tenant_scope(story.other_tenant):
        notify(
            story.bob, story.other_tenant, "Overdue: 9.9 CANARY Sunderland action", message=digest
        )
        theirs_only = outbox(story.charlie, None, "CANARY digest of Sunderland only")
        notify(story.charlie, story.other_tenant, "CANARY item", message=theirs_only)
        their_own = outbox(story.charlie, story.other_tenant, "CANARY event of Sunderland")
    client.force_login(story.erin)

    content = client.get(url("messages_not_sent")).content.decode()

    assert "Safeguarding action plans: 2 items for you" in content
    assert "421 Try again later" in content
    assert "CANARY" not in content
    assert "Sunderland" not in content
    assert client.post(url("message_send_again", pk=theirs_only.pk)).status_code == 404
    assert client.post(url("message_send_again", pk=their_own.pk)).status_code == 404
    # The shared digest carries one of this tenant's items, so its administrator may retry it.
    client.post(url("message_send_again", pk=digest.pk))
    digest.refresh_from_db()
    assert digest.status == Message.Status.PENDING


def test_messages_page_costs_the_same_whatever_its_length(client, story):
    client.force_login(story.erin)
    outbox(story.bob, story.tenant, "Failed 0")
    few = queries_for(client, url("messages_not_sent"))
    for n in range(1, 30):
        message = outbox(story.bob if n % 2 else story.carol, None, f"Failed {n}")
        notify(message.recipient, story.tenant, f"Item {n}", message=message)
    assert queries_for(client, url("messages_not_sent")) == few


# -- the operator's admin -------------------------------------------------------------------


@pytest.fixture
def operator(db) -> User:
    return UserFactory(full_name="Olive Operator", is_staff=True, is_superuser=True)


def admin_url(model, view: str = "changelist", *args) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_operator_sees_the_notification_models_across_tenants(client, story, operator):
    escalation_policy_update(
        tenant=story.tenant,
        by=story.erin,
        channel="notify",
        notify_api_key=NOTIFY_KEY,
        notify_template_id="f33517ff-2a88-4f6e-b855-c550268ce08a",
    )
    message = outbox(story.bob, story.tenant, "Failed one", last_error="550 No such user")
    notify(story.bob, story.tenant, "Bob's item", message=message)
    with tenant_scope(story.other_tenant):
        notify(story.charlie, story.other_tenant, "Charlie's item")
    client.force_login(operator)

    sweep = Sweep.objects.create(today=datetime.date.today())
    step = EscalationStep.objects.create(
        tenant=story.tenant,
        action=story.action(),
        level="overdue",
        counted_from=datetime.date.today(),
        sweep=sweep,
    )
    with across_tenants():
        rows = [
            message,
            sweep,
            EscalationPolicy.objects.get(tenant=story.tenant),
            ChannelSettings.objects.get(tenant=story.tenant),
            step,
            Notification.objects.filter(tenant=story.other_tenant).first(),
        ]
    for row in rows:
        assert client.get(admin_url(type(row))).status_code == 200, row
        assert client.get(admin_url(type(row), "change", row.pk)).status_code == 200, row
    assert client.get(admin_url(EscalationPolicy, "add")).status_code == 200
    assert client.get(admin_url(ChannelSettings, "add")).status_code == 200
    notifications = client.get(admin_url(Notification)).content.decode()
    assert "Bob&#x27;s item" in notifications and "Charlie&#x27;s item" in notifications
    messages = client.get(admin_url(Message) + "?status=failed&q=Failed").content.decode()
    assert "Failed one" in messages
    page = client.get(admin_url(Message, "change", message.pk)).content.decode()
    assert "Body of Failed one" in page
    assert 'name="body_text"' not in page
    with across_tenants():
        row = ChannelSettings.objects.get(tenant=story.tenant)
    page = client.get(admin_url(ChannelSettings, "change", row.pk)).content.decode()
    assert NOTIFY_KEY not in page
    assert 'name="notify_api_key"' in page
    assert NOTIFY_KEY not in client.get(admin_url(ChannelSettings)).content.decode()


def test_operator_edits_a_policy(client, story, operator):
    policy = escalation_policy_update(tenant=story.tenant, by=story.erin, managers_days=12)
    client.force_login(operator)
    data = {
        "reminder_days_before": 5,
        "overdue_days": 1,
        "managers_days": 11,
        "chair_days": 20,
        "sign_off_waiting_days": 10,
    }
    response = client.post(admin_url(EscalationPolicy, "change", policy.pk), data)
    assert response.status_code == 302
    with across_tenants():
        assert EscalationPolicy.objects.get(pk=policy.pk).managers_days == 11

    response = client.post(
        admin_url(EscalationPolicy, "change", policy.pk), {**data, "managers_days": 1}
    )
    assert response.status_code == 200
    assert "The monitoring body is told later" in response.content.decode()


def test_operator_edits_channel_settings_and_a_blank_key_keeps_the_stored_one(
    client, story, operator
):
    escalation_policy_update(
        tenant=story.tenant,
        by=story.erin,
        channel="notify",
        notify_api_key=NOTIFY_KEY,
        notify_template_id="f33517ff-2a88-4f6e-b855-c550268ce08a",
    )
    row = notify_settings(story.tenant)
    client.force_login(operator)
    new_template = "0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"
    data = {"channel": "notify", "chosen": "on", "notify_api_key": "", "notify_template_id": ""}

    response = client.post(
        admin_url(ChannelSettings, "change", row.pk), {**data, "notify_template_id": new_template}
    )
    assert response.status_code == 302
    row = notify_settings(story.tenant)
    assert (row.values["template_id"], row.secrets["api_key"]) == (new_template, NOTIFY_KEY)
    assert row.updated_by == operator

    # Chosen, Notify needs its template: refused with the page's own message, nothing changed.
    response = client.post(admin_url(ChannelSettings, "change", row.pk), data)
    assert response.status_code == 200
    assert "Enter the ID of your Notify e-mail template." in response.content.decode()
    assert notify_settings(story.tenant).values["template_id"] == new_template
