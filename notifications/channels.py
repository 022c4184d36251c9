"""Channels that carry an outbox message: Django's e-mail backend, or GOV.UK Notify."""

import smtplib

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from notifications_python_client.errors import HTTPError
from notifications_python_client.notifications import NotificationsAPIClient

from notifications.content import message_id_domain
from notifications.models import EscalationPolicy, Message
from tenants.sealed import SecretUnreadable


class DeliveryFailed(Exception):
    """The channel did not take the message. ``permanent`` failures are not retried."""

    def __init__(self, text: str, *, permanent: bool = False):
        super().__init__(text)
        self.permanent = permanent


def message_id_header(message: Message) -> str:
    # The outbox key, so a copy delivered twice after a crash is recognisably the same message.
    return f"<{message.key.replace(':', '.')}@{message_id_domain()}>"


def email_send(message: Message, address: str) -> str:
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[address],
        headers={"Message-ID": message_id_header(message)},
        connection=get_connection(timeout=settings.EMAIL_TIMEOUT),
    )
    email.attach_alternative(message.body_html, "text/html")
    try:
        email.send()
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        raise DeliveryFailed(
            f"{type(error).__name__}: {error}", permanent=all(_refused_for_good(c) for c in codes)
        ) from error
    except smtplib.SMTPResponseException as error:
        raise DeliveryFailed(
            f"{type(error).__name__}: {error}", permanent=_refused_for_good(error.smtp_code)
        ) from error
    except Exception as error:  # socket errors and the like: the server may take it later
        raise DeliveryFailed(f"{type(error).__name__}: {error}") from error
    return ""


def _refused_for_good(smtp_code: int) -> bool:
    # RFC 5321: a 5yz reply is a permanent refusal (asking again will not change it); a 4yz
    # reply, and a connection that failed, are worth trying again later.
    return 500 <= smtp_code < 600


def notify_send(message: Message, address: str, policy: EscalationPolicy | None) -> str:
    if policy is None or not policy.notify_api_key_sealed or not policy.notify_template_id:
        raise DeliveryFailed(
            "GOV.UK Notify is chosen but no key or template is set.", permanent=True
        )
    try:
        key = policy.notify_api_key
    except SecretUnreadable as error:
        # The operator's keys are wrong, not the council's: once they are put right the message
        # goes, so it is retried like a server that is down.
        raise DeliveryFailed(str(error)) from None
    try:
        client = NotificationsAPIClient(key, base_url=settings.NOTIFY_BASE_URL)
    except Exception as error:
        raise DeliveryFailed(
            f"The GOV.UK Notify key is not valid: {error}", permanent=True
        ) from None
    try:
        response = client.send_email_notification(
            email_address=address,
            template_id=policy.notify_template_id,
            personalisation={"subject": message.subject, "body": message.body_text},
            reference=message.key,
        )
    except HTTPError as error:
        # Notify answers 400 and 403 for requests that will never succeed (bad key, template or
        # address); 429 and 5xx are worth retrying.
        permanent = error.status_code in (400, 403)
        raise DeliveryFailed(
            f"GOV.UK Notify {error.status_code}: {error.message}", permanent=permanent
        ) from None
    except Exception as error:
        raise DeliveryFailed(
            f"GOV.UK Notify unreachable: {type(error).__name__}: {error}"
        ) from None
    return str(response.get("id", ""))[:100]
