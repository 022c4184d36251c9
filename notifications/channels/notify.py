"""GOV.UK Notify, through the organisation's own Notify service: its API key, and an e-mail
template with ((subject)) and ((body)) placeholders."""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from django.conf import settings as django_settings
from notifications_python_client.errors import HTTPError
from notifications_python_client.notifications import NotificationsAPIClient

from notifications.channels.base import DeliveryFailed, Send, Setting
from tenants.text import one_line_text

if TYPE_CHECKING:
    from notifications.models import Message


def _template_id_problem(value: str) -> str:
    try:
        uuid.UUID(value)
    except ValueError:
        return (
            "Enter the template ID as GOV.UK Notify shows it on the template's page: 36 letters, "
            "numbers and dashes, like f33517ff-2a88-4f6e-b855-c550268ce08a."
        )
    return ""


class Notify:
    name = "notify"
    label = "GOV.UK Notify (your own service)"
    own_service = True
    settings = (
        Setting(
            name="api_key",
            label="GOV.UK Notify API key",
            # Both travel in requests to GOV.UK Notify, where a line break or control character
            # fails.
            rule=one_line_text("the API key", 200),
            missing="Enter your GOV.UK Notify API key to send through Notify.",
            secret=True,
            help_text=(
                "Only needed to send through GOV.UK Notify. Use a live key of your own service."
            ),
            stored_help_text=(
                "A key is stored. Leave this blank to keep it, or enter a new key to replace it."
            ),
        ),
        Setting(
            name="template_id",
            label="GOV.UK Notify e-mail template ID",
            rule=one_line_text("the template ID", 64),
            missing="Enter the ID of your Notify e-mail template.",
            help_text=(
                "Only needed to send through GOV.UK Notify. The template's subject is ((subject)) "
                "and its message ((body))."
            ),
            check=_template_id_problem,
        ),
    )

    @contextmanager
    def opened(self, values: Mapping[str, str]) -> Iterator[Send]:
        try:
            client = NotificationsAPIClient(
                values["api_key"], base_url=django_settings.NOTIFY_BASE_URL
            )
        except Exception as error:
            raise DeliveryFailed(
                f"The GOV.UK Notify key is not valid: {error}", permanent=True
            ) from None
        template_id = values["template_id"]

        def send(message: Message, address: str) -> str:
            try:
                response = client.send_email_notification(
                    email_address=address,
                    template_id=template_id,
                    personalisation={"subject": message.subject, "body": message.body_text},
                    reference=message.key,
                )
            except HTTPError as error:
                # Notify answers 400 and 403 for requests that will never succeed (bad key,
                # template or address); 429 and 5xx are worth retrying.
                permanent = error.status_code in (400, 403)
                raise DeliveryFailed(
                    f"GOV.UK Notify {error.status_code}: {error.message}", permanent=permanent
                ) from None
            except Exception as error:
                raise DeliveryFailed(
                    f"GOV.UK Notify unreachable: {type(error).__name__}: {error}"
                ) from None
            return str(response.get("id", ""))[:100]

        yield send


NOTIFY = Notify()
