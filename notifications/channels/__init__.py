"""The channels that carry an outbox message, and the one way delivery sends through them.

Each channel is a module of this package defining a ``Channel`` (channels/base.py): its name,
its label, the settings an organisation gives it and how it sends. ``CHANNELS`` lists them; the
settings page, the admin, the record of changes, encryption of secrets and delivery all work
from that list, so a new channel is its module and one more entry there.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from notifications.channels.base import (
    Channel,
    DeliveryFailed,
    Send,
    Setting,
    message_id_header,
)
from notifications.channels.email import EMAIL
from notifications.channels.notify import NOTIFY
from tenants.sealed import SecretUnreadable

__all__ = [
    "CHANNELS",
    "DEFAULT",
    "Channel",
    "DeliveryFailed",
    "Send",
    "Setting",
    "channel_for",
    "choices",
    "field_name",
    "message_id_header",
    "opened",
    "setting_fields",
]

CHANNELS: dict[str, Channel] = {channel.name: channel for channel in (EMAIL, NOTIFY)}
# What an organisation that has chosen nothing sends by.
DEFAULT = EMAIL.name


def channel_for(name: str) -> Channel:
    try:
        return CHANNELS[name]
    except KeyError:
        raise LookupError(f"No channel is called {name!r}.") from None


def choices() -> list[tuple[str, str]]:
    return [(channel.name, channel.label) for channel in CHANNELS.values()]


def field_name(channel: str, setting: str) -> str:
    """A setting's name in forms, services and the record of changes: ``notify_api_key``."""
    return f"{channel}_{setting}"


def setting_fields() -> dict[str, tuple[Channel, Setting]]:
    """Every channel's settings by their field names, in the order the page shows them."""
    return {
        field_name(channel.name, setting.name): (channel, setting)
        for channel in CHANNELS.values()
        for setting in channel.settings
    }


@contextmanager
def opened(channel: str, *, tenant_id: int | None) -> Iterator[Send]:
    """``channel`` ready to send, with ``tenant_id``'s settings for it, for as long as the block
    lasts: ``send(message, address)`` answers the provider's reference or raises
    DeliveryFailed. Entering raises DeliveryFailed too, for every message the block would have
    sent: settings missing (permanent), a stored secret the keys cannot read or a server that
    does not answer (temporary)."""
    # Here rather than at the top: the selectors name the default channel from this package.
    from notifications.selectors import channel_values_of

    try:
        chosen = channel_for(channel)
    except LookupError as error:
        raise DeliveryFailed(str(error), permanent=True) from None
    values: dict[str, str] = {}
    if chosen.settings:
        if tenant_id is None:
            raise DeliveryFailed(
                f"{chosen.label} sends with one organisation's settings, and this message "
                "belongs to none.",
                permanent=True,
            )
        try:
            values = channel_values_of(tenant_id=tenant_id, channel=chosen.name)
        except SecretUnreadable as error:
            # The operator's keys are wrong, not the organisation's: once they are put right the
            # message goes, so it is retried like a server that is down.
            raise DeliveryFailed(str(error)) from None
        for setting in chosen.settings:
            if not values.get(setting.name):
                raise DeliveryFailed(
                    f"{chosen.label} is chosen but no {setting.label} is set: set it under "
                    "Escalations, then send the message again.",
                    permanent=True,
                )
    with chosen.opened(values) as send:
        yield send
