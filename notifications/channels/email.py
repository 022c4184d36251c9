"""E-mail from this service, through Django's e-mail backend (SMTP in production)."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING

from django.conf import settings as django_settings
from django.core.mail import EmailMultiAlternatives, get_connection

from notifications.channels.base import DeliveryFailed, Send, Setting, message_id_header

if TYPE_CHECKING:
    from notifications.models import Message


class Email:
    name = "email"
    label = "E-mail from this service"
    settings: tuple[Setting, ...] = ()
    own_service = False

    @contextmanager
    def opened(self, values: Mapping[str, str]) -> Iterator[Send]:
        """One connection to the mail server for the whole block, however many messages go."""
        backend = get_connection(timeout=django_settings.EMAIL_TIMEOUT)
        try:
            backend.open()
        except Exception as error:
            raise _failure(error) from error

        unreachable = ""

        def send(message: Message, address: str) -> str:
            nonlocal unreachable
            if unreachable:
                # The server stopped answering mid-block: the rest of the block fails at once
                # with that reason rather than each message waiting out the timeout in turn.
                raise DeliveryFailed(unreachable)
            if getattr(backend, "connection", True) is None:
                # The server hung up after an earlier message: connect again, and keep this
                # connection for the rest of the block (left closed, the backend would open and
                # close one of its own for each message).
                try:
                    backend.open()
                except Exception as error:
                    failure = _failure(error)
                    unreachable = str(failure)
                    raise failure from error
            email = EmailMultiAlternatives(
                subject=message.subject,
                body=message.body_text,
                from_email=django_settings.DEFAULT_FROM_EMAIL,
                to=[address],
                headers={"Message-ID": message_id_header(message)},
                connection=backend,
            )
            email.attach_alternative(message.body_html, "text/html")
            try:
                email.send()
            except Exception as error:
                if not _session_goes_on(error):
                    # A lost connection, a timeout or a 421 may have left the session half way
                    # through a command: the next message starts on a new one.
                    with suppress(Exception):
                        backend.close()
                raise _failure(error) from error
            return ""

        try:
            yield send
        finally:
            # What was sent has been accepted; a QUIT that fails changes nothing about it.
            with suppress(Exception):
                backend.close()


def _failure(error: Exception) -> DeliveryFailed:
    text = f"{type(error).__name__}: {error}"
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
        return DeliveryFailed(text, permanent=all(_refused_for_good(c) for c in codes))
    if isinstance(error, smtplib.SMTPResponseException):
        return DeliveryFailed(text, permanent=_refused_for_good(error.smtp_code))
    # Socket errors and the like: the server may take it later.
    return DeliveryFailed(text)


def _session_goes_on(error: Exception) -> bool:
    """Whether the server refused only this message, leaving the session ready for the next
    (smtplib resets it after a refusal)."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        codes = [code for code, _ in error.recipients.values()]
    elif isinstance(error, (smtplib.SMTPSenderRefused, smtplib.SMTPDataError)):
        codes = [error.smtp_code]
    else:
        return False
    # 421: the server is closing the connection.
    return 421 not in codes


def _refused_for_good(smtp_code: int) -> bool:
    # RFC 5321: a 5yz reply is a permanent refusal (asking again will not change it); a 4yz
    # reply, and a connection that failed, are worth trying again later.
    return 500 <= smtp_code < 600


EMAIL = Email()
