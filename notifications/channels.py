"""Channels that carry an outbox message: Django's e-mail backend, or GOV.UK Notify."""

import logging
import smtplib
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from notifications_python_client.errors import HTTPError
from notifications_python_client.notifications import NotificationsAPIClient

from notifications.content import message_id_domain
from notifications.models import EscalationPolicy, Message
from tenants.scoping import tenant_scope
from tenants.sealed import SecretUnreadable

log = logging.getLogger(__name__)


class DeliveryFailed(Exception):
    """The channel did not take the message. ``permanent`` failures are not retried."""

    def __init__(self, text: str, *, permanent: bool = False):
        super().__init__(text)
        self.permanent = permanent


def message_id_header(message: Message) -> str:
    # The outbox key, so a copy delivered twice after a crash is recognisably the same message.
    return f"<{message.key.replace(':', '.')}@{message_id_domain()}>"


def email_send(message: Message, address: str, connection=None) -> str:
    """Send ``message`` through Django's e-mail backend: over ``connection`` when given and
    left open, otherwise over a connection of its own."""
    email = EmailMultiAlternatives(
        subject=message.subject,
        body=message.body_text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[address],
        headers={"Message-ID": message_id_header(message)},
        connection=connection or get_connection(timeout=settings.EMAIL_TIMEOUT),
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


Send = Callable[[Message, str], str]


@contextmanager
def opened(channel: str, *, tenant_id: int | None) -> Iterator[Send]:
    """``channel``, ready to send any number of messages of one tenant (or of none: a digest).

    Yields ``send(message, address)``, which returns the provider's reference or raises
    DeliveryFailed. E-mail goes over one SMTP connection for the whole block; GOV.UK Notify
    with the tenant's key and template, read once.
    """
    if channel == Message.Channel.NOTIFY:
        with tenant_scope(tenant_id):
            policy = EscalationPolicy.objects.filter(tenant_id=tenant_id).first()
        yield lambda message, address: notify_send(message, address, policy)
        return
    connection = SmtpConnection()
    try:
        yield connection.send
    finally:
        connection.close()


class SmtpConnection:
    """One connection to the e-mail backend for many messages, opened at the first.

    A message the server refused leaves the session usable (smtplib resets it), so the next one
    follows on the same connection. Anything else (a connection lost, a timeout, a server
    closing with 421) may have left it half way through a command: it is closed, and opened
    again for the next message. When it cannot be opened, the rest of the block fails at once
    with that reason, rather than each message waiting out the timeout in turn.
    """

    def __init__(self):
        self.backend = get_connection(timeout=settings.EMAIL_TIMEOUT)
        self.is_open = False
        self.unreachable = ""

    def send(self, message: Message, address: str) -> str:
        if self.unreachable:
            raise DeliveryFailed(self.unreachable)
        if not self.is_open:
            try:
                self.backend.open()
            except Exception as error:
                self.unreachable = f"{type(error).__name__}: {error}"
                self.close()
                raise DeliveryFailed(self.unreachable) from error
            self.is_open = True
        try:
            return email_send(message, address, connection=self.backend)
        except DeliveryFailed as failure:
            if not _session_goes_on(failure.__cause__):
                self.close()
            raise

    def close(self) -> None:
        self.is_open = False
        try:
            self.backend.close()
        except Exception as error:  # the server may be gone already; the next open starts anew
            log.info("Closing the e-mail connection failed: %s", error)


def _session_goes_on(error: BaseException | None) -> bool:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
    elif isinstance(error, (smtplib.SMTPSenderRefused, smtplib.SMTPDataError)):
        codes = [error.smtp_code]
    else:
        return False
    # 421: the server is closing the connection (smtplib has closed its end already).
    return 421 not in codes
