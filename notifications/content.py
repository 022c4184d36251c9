"""The words of notifications and e-mails.

An e-mail carries no more personal data than an action's title: it says what happened, why this
person is told (which level, which action, which tenant) and links to the action. Names, return
reasons and progress stay behind the sign-in. Bodies are built in Python with escaping rather than
templates because the sweep renders thousands of digests in one transaction.
"""

import datetime
from dataclasses import dataclass
from html import escape
from typing import Protocol
from urllib.parse import urlsplit

from django.conf import settings

from notifications.models import Notification

Kind = Notification.Kind

SERVICE_NAME = "Safeguarding action plans"

# Most urgent first, within each tenant of a digest.
KIND_ORDER = {
    Kind.VIRUS_FOUND: 0,
    Kind.CHAIR: 1,
    Kind.MANAGERS: 2,
    Kind.OVERDUE: 3,
    Kind.SIGN_OFF_WAITING: 4,
    Kind.SIGN_OFF_REQUESTED: 5,
    Kind.RETURNED: 6,
    Kind.REMINDER: 7,
    Kind.MADE_LEAD: 8,
    Kind.MADE_DELEGATE: 9,
    Kind.EVIDENCE_CHECKED: 10,
    Kind.SIGNED_OFF: 11,
    Kind.PLAN_SUBMITTED: 12,
    Kind.PLAN_ENDORSED: 13,
}


def long_date(day: datetime.date) -> str:
    return f"{day.day} {day:%B %Y}"


def action_label(reference: str, title: str) -> str:
    return f"{reference} {title}".strip()


def absolute(link: str) -> str:
    return settings.SITE_URL + link


def message_id_domain() -> str:
    return urlsplit(settings.SITE_URL).hostname or "localhost"


def escalation_title(kind: str, label: str, due_date: datetime.date | None) -> str:
    due = f" (due {long_date(due_date)})" if due_date else ""
    return {
        Kind.REMINDER: f"Due soon: {label}{due}",
        Kind.OVERDUE: f"Overdue: {label}{due}",
        Kind.MANAGERS: f"Overdue, for the body monitoring the plan: {label}{due}",
        Kind.CHAIR: f"Overdue, for the chair: {label}{due}",
        Kind.SIGN_OFF_WAITING: f"Waiting for your sign-off: {label}",
    }[kind]


@dataclass(frozen=True)
class Item:
    """One line of an e-mail: a notification as the e-mail shows it."""

    tenant_name: str
    kind: str
    title: str
    reason: str
    link: str


class Told(Protocol):
    """A notification, saved or about to be written by the sweep."""

    kind: str
    title: str
    reason: str
    link: str


def item_of(notification: Told, tenant_name: str) -> Item:
    return Item(
        tenant_name=tenant_name,
        kind=notification.kind,
        title=notification.title,
        reason=notification.reason,
        link=notification.link,
    )


def event_email(item: Item) -> tuple[str, str, str]:
    """Subject, text and HTML of an e-mail about one event."""
    subject = f"{item.tenant_name}: {item.title}"
    text = "\n".join(
        [
            item.title,
            "",
            f"You are receiving this because {item.reason}, in {item.tenant_name}.",
            "",
            f"Open the action plan: {absolute(item.link)}",
            "",
            _footer_text(),
        ]
    )
    html = "".join(
        [
            f"<p><strong>{escape(item.title)}</strong></p>",
            f"<p>You are receiving this because {escape(item.reason)}, in "
            f"{escape(item.tenant_name)}.</p>",
            f'<p><a href="{escape(absolute(item.link))}">Open the action plan</a></p>',
            _footer_html(),
        ]
    )
    return subject, text, html


def digest_email(items: list[Item], today: datetime.date) -> tuple[str, str, str]:
    """Subject, text and HTML of one person's digest: every item, grouped by tenant."""
    count = len(items)
    subject = f"{SERVICE_NAME}: {count} item{'s' if count != 1 else ''} for you, {long_date(today)}"
    by_tenant: dict[str, list[Item]] = {}
    for item in sorted(items, key=lambda i: (i.tenant_name, KIND_ORDER.get(i.kind, 99), i.title)):
        by_tenant.setdefault(item.tenant_name, []).append(item)
    plural = count != 1
    opening = (
        f"{count} item{'s' if plural else ''} in your action plans "
        f"{'need' if plural else 'needs'} your attention."
    )
    text_lines = [opening, ""]
    html_parts = [f"<p>{escape(opening)}</p>"]
    for tenant_name, tenant_items in by_tenant.items():
        text_lines += [tenant_name, "=" * len(tenant_name)]
        html_parts.append(f"<h2>{escape(tenant_name)}</h2><ul>")
        for item in tenant_items:
            url = absolute(item.link)
            text_lines += [
                f"- {item.title}",
                f"  Why you: {item.reason}.",
                f"  {url}",
            ]
            html_parts.append(
                f'<li><a href="{escape(url)}">{escape(item.title)}</a><br>'
                f"Why you: {escape(item.reason)}.</li>"
            )
        text_lines.append("")
        html_parts.append("</ul>")
    text_lines.append(_footer_text())
    html_parts.append(_footer_html())
    return subject, "\n".join(text_lines), "".join(html_parts)


def _footer_text() -> str:
    return (
        f"This message was sent by {SERVICE_NAME}. Sign in to see the full detail. You can "
        f"choose how you hear about events at {absolute('/notifications/settings/')}."
    )


def _footer_html() -> str:
    url = escape(absolute("/notifications/settings/"))
    return (
        f'<p style="color:#505a5f">This message was sent by {SERVICE_NAME}. Sign in to see the '
        f'full detail. You can <a href="{url}">choose how you hear about events</a>.</p>'
    )


def invitation_email(
    *, tenant_name: str, full_name: str, role: str, link: str, expires: datetime.datetime
) -> tuple[str, str, str]:
    """Subject, text and HTML of an invitation: which organisation, in what role, the link and
    until when it works. The link is the one secret; it works once."""
    url = absolute(link)
    until = f"{long_date(expires.date())} at {expires:%H:%M}"
    subject = f"{SERVICE_NAME}: you are invited to join {tenant_name}"
    text = "\n".join(
        [
            f"Dear {full_name},",
            "",
            f"You are invited to join {tenant_name} on {SERVICE_NAME} as {role.lower()}.",
            "",
            f"Accept the invitation: {url}",
            "",
            f"The link works once, until {until}. If you were not expecting this e-mail, you "
            "can ignore it.",
            "",
            f"This message was sent by {SERVICE_NAME}.",
        ]
    )
    html = "".join(
        [
            f"<p>Dear {escape(full_name)},</p>",
            f"<p>You are invited to join {escape(tenant_name)} on {SERVICE_NAME} as "
            f"{escape(role.lower())}.</p>",
            f'<p><a href="{escape(url)}">Accept the invitation</a></p>',
            f"<p>The link works once, until {escape(until)}. If you were not expecting this "
            "e-mail, you can ignore it.</p>",
            f'<p style="color:#505a5f">This message was sent by {SERVICE_NAME}.</p>',
        ]
    )
    return subject, text, html
