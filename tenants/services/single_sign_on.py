"""Single sign-on: a tenant's own OpenID Connect provider (Microsoft Entra ID above all), set up
by its tenant administrators, and matching someone who signed in through it to their place in
the organisation."""

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from tenants.models import AuditEntry, Invitation, Membership, SingleSignOn, Tenant, User
from tenants.rules import administer_refusal, enforce
from tenants.scoping import tenant_scope
from tenants.sealed import fingerprint_of
from tenants.services.audit import Recorded
from tenants.services.invitations import invitation_accept_signed_in
from tenants.text import one_line_text, texts_clean

WELL_KNOWN = "/.well-known/openid-configuration"
# Microsoft Entra ID's discovery document for a directory (tenant) ID or verified domain.
ENTRA_DISCOVERY = "https://login.microsoftonline.com/{}/v2.0" + WELL_KNOWN
DIRECTORY_ID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
# Everything a provider's discovery document names must come over HTTPS. Only where
# SINGLE_SIGN_ON_LOCAL_HTTP allows it (development and the tests' own provider) may a provider on
# this machine answer over plain HTTP: in production the service never fetches a plain-HTTP
# address an administrator typed.
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
DISCOVERY_TIMEOUT_SECONDS = 10

DIRECTORY = one_line_text(
    "the directory",
    500,
    missing="Enter your Microsoft Entra directory (tenant) ID, or your provider's discovery URL.",
)
CLIENT_ID = one_line_text("the client ID", 200, missing="Enter the client (application) ID.")
CLIENT_SECRET = one_line_text("the client secret", 500)
DOMAINS = one_line_text(
    "the e-mail domains", 1000, missing="Enter the e-mail domains your people sign in with."
)


@dataclass(frozen=True)
class Discovery:
    """What a provider's discovery document says about it."""

    url: str
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str


def _secure(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme == "https" or (
        settings.SINGLE_SIGN_ON_LOCAL_HTTP
        and parts.scheme == "http"
        and parts.hostname in LOCAL_HOSTS
    )


def discovery_url_for(directory: str) -> str:
    """The discovery document's address for what an administrator typed: an Entra directory ID
    or domain, a provider's address, or its discovery URL itself."""
    directory = directory.strip()
    if DIRECTORY_ID.match(directory) or DOMAIN.match(directory.lower()):
        return ENTRA_DISCOVERY.format(directory.lower())
    parts = urlsplit(directory)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ValidationError(
            {
                "directory": "Enter a directory (tenant) ID like "
                "72f988bf-86f1-41af-91ab-2d7cd011db47, or a discovery URL starting with https://"
            }
        )
    if not _secure(directory):
        raise ValidationError({"directory": "The discovery URL must start with https://"})
    if "/.well-known/" not in parts.path:
        directory = directory.rstrip("/") + WELL_KNOWN
    return directory


def discovery_fetch(url: str) -> Discovery:
    """Read the provider's discovery document; ValidationError saying what is wrong with it."""

    def refused(problem: str) -> ValidationError:
        return ValidationError({"directory": f"{problem} Nothing was saved."})

    try:
        response = requests.get(url, timeout=DISCOVERY_TIMEOUT_SECONDS, allow_redirects=False)
    except requests.RequestException as error:
        raise refused(
            f"The sign-in service at {url} could not be reached ({type(error).__name__}). Check "
            "the directory ID or URL."
        ) from None
    if response.status_code != 200:
        raise refused(
            f"The sign-in service at {url} answered {response.status_code} instead of its "
            "settings. Check the directory ID or URL."
        )
    try:
        document = response.json()
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise refused(f"{url} is not an OpenID Connect discovery document.")
    needed = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
    missing = [name for name in needed if not isinstance(document.get(name), str)]
    if missing:
        raise refused(
            f"The discovery document at {url} does not give its {', '.join(missing)}, so it is "
            "not an OpenID Connect provider the service can use."
        )
    insecure = [name for name in needed if not _secure(document[name])]
    if insecure:
        raise refused(
            f"The discovery document at {url} gives addresses that do not start with https:// "
            f"({', '.join(insecure)})."
        )
    codes = document.get("response_types_supported")
    if isinstance(codes, list) and "code" not in codes:
        raise refused(
            f"The provider at {url} does not offer the authorization code flow, which the "
            "service signs in with."
        )
    return Discovery(url=url, **{name: document[name] for name in needed})


def email_domains_clean(text: str) -> list[str]:
    domains = []
    for word in re.split(r"[\s,;]+", text.strip().lower()):
        word = word.removeprefix("@")
        if not word:
            continue
        if not DOMAIN.match(word):
            raise ValidationError(
                {
                    "email_domains": f"\u201c{word}\u201d is not an e-mail domain. Enter domains "
                    "like luton.gov.uk, separated by spaces or commas."
                }
            )
        if word not in domains:
            domains.append(word)
    if not domains:
        raise ValidationError(
            {"email_domains": "Enter the e-mail domains your people sign in with."}
        )
    return domains


SINGLE_SIGN_ON_LABELS = {
    "discovery_url": "Discovery URL",
    "client_id": "Client ID",
    "client_secret": "Client secret",
    "email_domains": "E-mail domains",
    "required": "Members must sign in with it",
}


def _single_sign_on_texts(subject: tuple[Tenant, SingleSignOn | None]) -> dict[str, str]:
    tenant, config = subject
    if config is None:
        return {"required": "Yes" if tenant.single_sign_on_required else "No"}
    return {
        "discovery_url": config.discovery_url,
        "client_id": config.client_id,
        # The secret is never shown back: the record holds a fingerprint, enough to see it changed.
        "client_secret": fingerprint_of(config.client_secret_sealed),
        "email_domains": " ".join(config.domains),
        "required": "Yes" if tenant.single_sign_on_required else "No",
    }


SINGLE_SIGN_ON_CHANGES = Recorded(
    AuditEntry.Subject.SINGLE_SIGN_ON,
    SINGLE_SIGN_ON_LABELS,
    _single_sign_on_texts,
    name=lambda subject: "Single sign-on",
    subject_id=lambda subject: subject[1].pk if subject[1] is not None else None,
    tenant_id=lambda subject: subject[0].pk,
)


def single_sign_on_check(*, directory: str) -> Discovery:
    """Whether the provider an administrator named answers as an OpenID Connect provider."""
    directory = texts_clean(directory=(DIRECTORY, directory))["directory"]
    return discovery_fetch(discovery_url_for(directory))


def single_sign_on_update(
    *,
    tenant: Tenant,
    by: User,
    directory: str,
    client_id: str,
    client_secret: str | None,
    email_domains: str,
    required: bool,
    signed_in_with_it: bool = False,
) -> SingleSignOn:
    """Set up or change the tenant's single sign-on. The provider is asked for its discovery
    document first, and nothing is saved unless it answers. ``client_secret`` None or blank keeps
    the stored secret. Requiring single sign-on needs it proven first: the administrator making
    the change must have signed in through it in this session (``signed_in_with_it``), so a
    mistyped setting cannot lock the organisation out."""
    enforce(administer_refusal(by=by, tenant=tenant))
    texts = texts_clean(
        directory=(DIRECTORY, directory),
        client_id=(CLIENT_ID, client_id),
        client_secret=(CLIENT_SECRET, client_secret),
        email_domains=(DOMAINS, email_domains),
    )
    domains = email_domains_clean(texts["email_domains"])
    with tenant_scope(tenant):
        existing = SingleSignOn.objects.filter(tenant=tenant).first()
    if not texts["client_secret"] and (existing is None or not existing.client_secret_sealed):
        raise ValidationError({"client_secret": "Enter the client secret."})
    if required and not (signed_in_with_it or by.is_operator or tenant.single_sign_on_required):
        raise ValidationError(
            {
                "required": "Sign in with your organisation's account yourself first, so you know "
                "it works, then require it. Save these settings without requiring it, sign out and "
                "sign in with it."
            }
        )
    # Asked before the transaction opens: a slow provider holds no lock.
    discovery = discovery_fetch(discovery_url_for(texts["directory"]))
    with transaction.atomic(), tenant_scope(tenant):
        tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
        config = SingleSignOn.objects.select_for_update().filter(tenant=tenant).first()
        before = SINGLE_SIGN_ON_CHANGES.texts((tenant, config)) if config else {}
        if config is None:
            config = SingleSignOn(tenant=tenant)
        config.discovery_url = discovery.url
        config.client_id = texts["client_id"]
        if texts["client_secret"]:
            config.client_secret = texts["client_secret"]
        config.email_domains = "\n".join(domains)
        config.updated_by = by
        config.full_clean(exclude=["tenant"])
        config.save()
        if tenant.single_sign_on_required != required:
            tenant.single_sign_on_required = required
            tenant.save(update_fields=["single_sign_on_required"])
        SINGLE_SIGN_ON_CHANGES.record(
            (tenant, config),
            by=by,
            summary="Single sign-on set up" if not before else "Single sign-on changed",
            before=before,
        )
    return config


@transaction.atomic
def single_sign_on_remove(*, tenant: Tenant, by: User) -> None:
    """Turn single sign-on off: members sign in with their passwords again (someone who has
    only ever signed in this way sets one with *Forgotten your password?*)."""
    enforce(administer_refusal(by=by, tenant=tenant))
    with tenant_scope(tenant):
        tenant = Tenant.objects.select_for_update().get(pk=tenant.pk)
        config = SingleSignOn.objects.select_for_update().filter(tenant=tenant).first()
        if config is None:
            raise ValidationError("Single sign-on is not set up.")
        before = SINGLE_SIGN_ON_CHANGES.texts((tenant, config))
        config.delete()
        tenant.single_sign_on_required = False
        tenant.save(update_fields=["single_sign_on_required"])
        SINGLE_SIGN_ON_CHANGES.record(
            (tenant, None),
            by=by,
            summary="Single sign-on turned off",
            before=before,
            after={name: "" for name in SINGLE_SIGN_ON_LABELS} | {"required": "No"},
            always=True,
        )


# --- Signing in -------------------------------------------------------------------------------


class SignInRefused(ValidationError):
    """Someone who signed in at the provider cannot be let in: the message says why."""


def _claimed(value: Any) -> bool:
    # Some providers send booleans as strings.
    return value is True or (isinstance(value, str) and value.lower() == "true")


def verified_email(claims: dict[str, Any]) -> str:
    """The address the provider vouches for, lower-cased; empty if it does not.

    OpenID Connect's ``email_verified`` claim vouches for it. Microsoft Entra ID does not send
    that claim; instead its optional claim ``xms_edov`` (e-mail domain owner verified) says the
    address's domain is one the directory has verified, which is what vouches for an Entra
    address. Either way the domain must also be one of the tenant's own (checked by the caller).
    """
    email = claims.get("email")
    if not isinstance(email, str) or "@" not in email:
        return ""
    if _claimed(claims.get("email_verified")) or _claimed(claims.get("xms_edov")):
        return email.strip().lower()
    return ""


@transaction.atomic
def single_sign_on_member(*, tenant: Tenant, claims: dict[str, Any]) -> User:
    """The person the provider's ``claims`` name, matched by verified e-mail address to their
    membership of ``tenant`` or to an invitation waiting for them, which this accepts (making
    their account, with no password, if they have none). Anyone else is refused with the reason
    (``SignInRefused``) and nothing is made."""
    name = tenant.name
    with tenant_scope(tenant):
        config = SingleSignOn.objects.filter(tenant=tenant).first()
    if config is None or not tenant.is_active:
        raise SignInRefused(f"{name} does not use single sign-on with this service.")
    email = claims.get("email") if isinstance(claims.get("email"), str) else ""
    if not email:
        raise SignInRefused(
            f"Your {name} account did not tell the service your e-mail address, so it cannot be "
            f"matched to your place in {name}. Ask {name}'s IT team to release the e-mail claim "
            "to this service."
        )
    address = verified_email(claims)
    if not address:
        raise SignInRefused(
            f"{name}'s sign-in service does not say that {email} is verified, so the service "
            "cannot trust that it is yours. Sign in with your password instead, or ask "
            f"{name}'s IT team."
        )
    if address.rsplit("@", 1)[1] not in config.domains:
        raise SignInRefused(
            f"{address} is not in one of the e-mail domains {name} signs in with "
            f"({', '.join(config.domains)})."
        )
    account = User.objects.select_for_update().filter(email__iexact=address).first()
    if account is not None and not account.is_active:
        raise SignInRefused(
            "The account with this e-mail address has been closed. Ask a tenant administrator of "
            f"{name} to contact the service operator."
        )
    with tenant_scope(tenant):
        if account is not None and Membership.objects.filter(tenant=tenant, user=account).exists():
            return account
        invitation = (
            Invitation.objects.filter(
                tenant=tenant,
                email__iexact=address,
                accepted_at__isnull=True,
                cancelled_at__isnull=True,
                expires_at__gt=timezone.now(),
            )
            .order_by("-created_at")
            .first()
        )
    if invitation is None:
        raise SignInRefused(
            f"{address} is not a member of {name} and has no invitation waiting. Ask a tenant "
            f"administrator of {name} to invite you."
        )
    full_name = claims.get("name") if isinstance(claims.get("name"), str) else ""
    _invitation, account = invitation_accept_signed_in(
        invitation=invitation, full_name=full_name or invitation.full_name
    )
    return account
