"""Fixtures shared by the tenants tests."""

from tests.notifications.conftest import smtp_server  # noqa: F401  (a real SMTP server)
