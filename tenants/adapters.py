"""How django-allauth treats the service's accounts, which administrators create."""

from typing import Any
from urllib.parse import urlsplit, urlunsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.mfa.adapter import DefaultMFAAdapter
from django.conf import settings
from django.http import HttpRequest
from django.urls import reverse

from tenants.models import User


def on_site(url: str) -> str:
    """``url``'s path, query and fragment at ``settings.SITE_URL``."""
    parts = urlsplit(url)
    return settings.SITE_URL + urlunsplit(("", "", parts.path, parts.query, parts.fragment))


class AccountAdapter(DefaultAccountAdapter):
    error_messages = {
        **DefaultAccountAdapter.error_messages,
        "email_password_mismatch": "Enter a correct e-mail address and password.",
        # The wait is the longest window of ACCOUNT_RATE_LIMITS["login_failed"].
        "too_many_login_attempts": (
            "There have been too many failed attempts to sign in. Wait 15 minutes and try "
            "again, or reset your password."
        ),
        "enter_current_password": "The current password you entered is not correct.",
        "incorrect_password": "The password is not correct.",
    }

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False

    def get_password_change_redirect_url(self, request: HttpRequest) -> str:
        return reverse("account_change_password_done")

    def get_reset_password_from_key_url(self, key: str) -> str:
        # allauth builds the link from the host the request named; every link the service
        # e-mails goes to the one configured address instead.
        return on_site(super().get_reset_password_from_key_url(key))

    def send_password_reset_mail(self, user: User, email: str, context: dict[str, Any]) -> None:
        # allauth also finds people by the addresses in its own table, which keeps an address
        # after an administrator has replaced it. Only the address a person signs in with now
        # may reset their password.
        if user.email.lower() != email.lower():
            return
        super().send_password_reset_mail(user, email, context)


class SecondFactorAdapter(DefaultMFAAdapter):
    error_messages = {
        **DefaultMFAAdapter.error_messages,
        "incorrect_code": (
            "The code is not correct. Enter the 6-digit code your authenticator app shows now, "
            "or one of your recovery codes. Each code works once."
        ),
        "cannot_generate_recovery_codes": (
            "Set up an authenticator app or a security key before you make recovery codes."
        ),
    }

    def get_totp_issuer(self) -> str:
        return settings.MFA_TOTP_ISSUER
