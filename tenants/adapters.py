"""How django-allauth treats the service's accounts, which administrators create, and single
sign-on through each tenant's own provider."""

import logging
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.models import SocialApp, SocialLogin
from django.conf import settings
from django.http import HttpRequest
from django.shortcuts import render
from django.urls import reverse

from tenants.models import SingleSignOn, Tenant, User, slug_of_provider
from tenants.scoping import tenant_scope
from tenants.sealed import SecretUnreadable, seal, unseal
from tenants.services.single_sign_on import SignInRefused, single_sign_on_member
from tenants.sso import SESSION_TENANTS, single_sign_on_tenants

logger = logging.getLogger(__name__)


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

    # An authenticator app's key and the recovery codes' seed are secrets like a tenant's Notify
    # key: encrypted at rest with ENCRYPTION_KEYS, and rotated with them by secrets_reencrypt.
    def encrypt(self, text: str) -> str:
        return seal(text)

    def decrypt(self, encrypted_text: str) -> str:
        return unseal(encrypted_text)


class SingleSignOnAdapter(DefaultSocialAccountAdapter):
    """allauth's social accounts, used only for each tenant's own OpenID Connect provider: the
    providers come from the tenants' single sign-on settings, never allauth's own table, and
    whoever signs in through one must be matched to their place in that organisation."""

    def list_apps(self, request, provider=None, client_id=None) -> list[SocialApp]:
        slug = slug_of_provider(provider or "")
        if slug is None:
            return []
        tenant = Tenant.objects.filter(slug=slug, is_active=True).first()
        if tenant is None:
            return []
        with tenant_scope(tenant):
            config = SingleSignOn.objects.filter(tenant=tenant).first()
        if config is None or (client_id and client_id != config.client_id):
            return []
        try:
            secret = config.client_secret
        except SecretUnreadable:
            logger.exception("The single sign-on client secret of %s cannot be read", tenant)
            raise ImmediateHttpResponse(
                render(
                    request,
                    "tenants/single_sign_on_refused.html",
                    {
                        "reason": f"Signing in with {tenant.name}'s account does not work at the "
                        "moment: the service cannot read the settings it keeps for it. Sign in "
                        "with your password, and tell the service operator.",
                        "tenant": tenant,
                    },
                    status=503,
                )
            ) from None
        return [
            SocialApp(
                provider="openid_connect",
                provider_id=config.provider_id,
                name=tenant.name,
                client_id=config.client_id,
                secret=secret,
                settings={
                    "server_url": config.discovery_url,
                    "oauth_pkce_enabled": True,
                    # The ID token comes straight from the token endpoint and carries the claims
                    # the match needs (Entra's xms_edov among them, which userinfo lacks).
                    "fetch_userinfo": False,
                },
            )
        ]

    def is_open_for_signup(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        return False

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        """Let in only a member of the provider's organisation, matched by verified e-mail
        address, or someone it has invited (accepting the invitation); anyone else sees why
        and nothing is made."""
        slug = slug_of_provider(sociallogin.account.provider) or ""
        tenant = Tenant.objects.filter(slug=slug, is_active=True).first()
        data = sociallogin.account.extra_data or {}
        claims = {**(data.get("userinfo") or {}), **(data.get("id_token") or {})}
        try:
            if tenant is None:
                raise SignInRefused("This organisation does not use single sign-on.")
            user = single_sign_on_member(tenant=tenant, claims=claims)
            if sociallogin.is_existing and sociallogin.user.pk != user.pk:
                raise SignInRefused(
                    f"This {tenant.name} account was used before by someone else in the service. "
                    "Ask a tenant administrator to contact the service operator."
                )
        except SignInRefused as refused:
            raise ImmediateHttpResponse(
                render(
                    request,
                    "tenants/single_sign_on_refused.html",
                    {"reason": refused.messages[0], "tenant": tenant},
                    status=403,
                )
            ) from None
        # Organisations this session already passed through stay passed when this one is added:
        # allauth starts a fresh session for the sign-in.
        earlier = []
        if request.user.is_authenticated and request.user.pk == user.pk:
            earlier = single_sign_on_tenants(request)
        sociallogin.state[SESSION_TENANTS] = [*earlier, tenant.pk]
        if not sociallogin.is_existing:
            sociallogin.connect(request, user)

    def on_authentication_error(
        self, request, provider, error=None, exception=None, extra_context=None
    ) -> None:
        logger.warning(
            "Single sign-on through %s failed: %s %s",
            getattr(provider, "id", provider),
            error,
            exception,
        )
