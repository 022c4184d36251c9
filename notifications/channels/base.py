"""What every channel is: a name, the settings an organisation gives it, and a way to send."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from notifications.content import message_id_domain
from tenants.text import TextRule

if TYPE_CHECKING:
    from notifications.models import Message

# Sends one message to one address and answers the provider's reference for it ("" if none).
Send = Callable[["Message", str], str]


class DeliveryFailed(Exception):
    """The channel did not take the message. ``permanent`` failures are not retried."""

    def __init__(self, text: str, *, permanent: bool = False):
        super().__init__(text)
        self.permanent = permanent


@dataclass(frozen=True)
class Setting:
    """One value an organisation gives a channel (an API key, a template's ID).

    ``missing`` is what the settings page says when the channel is chosen without it. A
    ``secret`` is kept encrypted, never shown back (a blank box keeps it), and appears in the
    record of changes as a fingerprint. ``check`` says why a value that passed ``rule`` still
    cannot be used ("" when it can).
    """

    name: str
    label: str
    rule: TextRule
    missing: str
    secret: bool = False
    help_text: str = ""
    stored_help_text: str = ""
    check: Callable[[str], str] | None = None


class Channel(Protocol):
    """A way of carrying an outbox message to a person."""

    # Stored in each message and in the organisation's settings: never renamed once in use.
    name: str
    # As the settings page offers it and the record of changes tells it.
    label: str
    settings: tuple[Setting, ...]
    # Sends through the organisation's own account, so a digest never mixes its items with
    # another organisation's.
    own_service: bool

    def opened(self, values: Mapping[str, str]) -> AbstractContextManager[Send]:
        """Ready to send with the organisation's ``values`` (every setting, secrets included)
        for as long as the block lasts; entering raises DeliveryFailed when it cannot be."""
        ...


def message_id_header(message: Message) -> str:
    # The outbox key, so a copy delivered twice after a crash is recognisably the same message.
    return f"<{message.key.replace(':', '.')}@{message_id_domain()}>"
