"""Secrets the service keeps for a tenant (its GOV.UK Notify key, its single sign-on client
secret) and for a person (their authenticator app's key, their recovery codes' seed), encrypted
at rest with the keys in ``settings.ENCRYPTION_KEYS``.

The first key encrypts; every key in the list decrypts, so a new key is rolled out by putting it
first and keeping the old one after it, then running ``manage.py secrets_reencrypt`` and, once
that has finished everywhere, dropping the old key. Nothing stops while that happens.
"""

import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured


class SecretUnreadable(ImproperlyConfigured):
    """A stored secret cannot be decrypted with any of the configured keys."""


def _keys() -> MultiFernet:
    return MultiFernet(_each_key())


def _each_key() -> list[Fernet]:
    keys = getattr(settings, "ENCRYPTION_KEYS", None) or []
    if not keys:
        raise ImproperlyConfigured(
            "ENCRYPTION_KEYS is not set, so the service cannot encrypt or read the secrets it "
            "stores (GOV.UK Notify keys, single sign-on client secrets). Make a key with "
            "'manage.py encryption_key' and set ENCRYPTION_KEYS to it."
        )
    return [Fernet(key) for key in keys]


def seal(plain: str) -> str:
    """``plain`` encrypted with the newest key; an empty secret stays empty."""
    if not plain:
        return ""
    return _keys().encrypt(plain.encode()).decode()


def unseal(sealed: str) -> str:
    """The secret ``sealed`` holds; empty for none."""
    if not sealed:
        return ""
    try:
        return _keys().decrypt(sealed.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            "A stored secret cannot be decrypted with any key in ENCRYPTION_KEYS. The key it was "
            "encrypted with has been removed or mistyped: put it back in the list (after the "
            "newest key) and run 'manage.py secrets_reencrypt' before removing it again."
        ) from None


def reseal(sealed: str) -> str:
    """``sealed`` encrypted again with the newest key (unchanged if it already is)."""
    if not sealed:
        return ""
    keys = _each_key()
    try:
        keys[0].decrypt(sealed.encode())
        return sealed
    except InvalidToken:
        pass
    try:
        return MultiFernet(keys).rotate(sealed.encode()).decode()
    except InvalidToken:
        unseal(sealed)  # raises with the explanation
        raise


def fingerprint(plain: str) -> str:
    """Enough of a secret's hash to tell in the record of changes that it changed, and nothing
    that helps to guess it."""
    if not plain:
        return ""
    return f"a key with fingerprint {hashlib.sha256(plain.encode()).hexdigest()[:8]}"


# What the record of changes says of a secret the keys cannot read, rather than stopping the
# change being recorded.
UNREADABLE_SECRET = "a secret the current ENCRYPTION_KEYS cannot read"


def fingerprint_of(sealed: str) -> str:
    """The fingerprint of the secret ``sealed`` holds, for the record of changes."""
    try:
        return fingerprint(unseal(sealed))
    except SecretUnreadable:
        return UNREADABLE_SECRET


def new_key() -> str:
    return Fernet.generate_key().decode()


def key_problem(key: str) -> str:
    """Why ``key`` cannot be one of ENCRYPTION_KEYS; empty if it can."""
    try:
        Fernet(key)
    except (ValueError, TypeError):
        return (
            "is not a key the service can use: each key is 32 random bytes in URL-safe base64 "
            "(44 characters), as 'manage.py encryption_key' prints"
        )
    return ""


def sealed_secret(column: str, doc: str) -> property:
    """A model attribute reading and writing the secret kept encrypted in ``column``; the column
    itself never holds the plain secret. A property, so the model takes it as a keyword too."""

    def read(instance) -> str:
        return unseal(getattr(instance, column))

    def write(instance, plain: str) -> None:
        setattr(instance, column, seal(plain or ""))

    return property(read, write, doc=doc)


def sealed_models() -> list[tuple[type, tuple[str, ...]]]:
    """Every model with encrypted columns (named in its ``sealed_columns``)."""
    from django.apps import apps

    return [
        (model, model.sealed_columns)
        for model in apps.get_models()
        if getattr(model, "sealed_columns", None)
    ]


def reencrypt_all() -> int:
    """Encrypt every stored secret again with the newest key; how many were rewritten. Each row
    is locked while it is rewritten, so a tenant saving its settings at the same moment keeps
    its own new secret. The secrets themselves do not change, so nothing is recorded."""
    from django.db import transaction

    from tenants.scoping import across_tenants

    rewritten = 0
    with across_tenants():
        for model, columns in sealed_models():
            for pk in model._base_manager.values_list("pk", flat=True).order_by("pk"):
                with transaction.atomic():
                    row = model._base_manager.select_for_update().filter(pk=pk).first()
                    if row is None:
                        continue
                    changed = []
                    for column in columns:
                        old = getattr(row, column)
                        new = reseal(old)
                        if new != old:
                            setattr(row, column, new)
                            changed.append(column)
                    if changed:
                        model._base_manager.filter(pk=pk).update(
                            **{column: getattr(row, column) for column in changed}
                        )
                        rewritten += 1
    return rewritten + _second_factors_reencrypt()


# The parts of allauth.mfa's authenticator data that hold secrets, sealed by SecondFactorAdapter.
SECOND_FACTOR_SECRETS = ("secret", "seed")


def _second_factors_reencrypt() -> int:
    """People's authenticator app keys and recovery code seeds, encrypted again with the newest
    key; each row locked while it is rewritten, like the tenants' secrets."""
    from allauth.mfa.models import Authenticator
    from django.db import transaction

    rewritten = 0
    for pk in Authenticator.objects.values_list("pk", flat=True).order_by("pk"):
        with transaction.atomic():
            row = Authenticator.objects.select_for_update().filter(pk=pk).first()
            if row is None:
                continue
            data = dict(row.data)
            for name in SECOND_FACTOR_SECRETS:
                if data.get(name):
                    data[name] = reseal(data[name])
            if data != row.data:
                Authenticator.objects.filter(pk=pk).update(data=data)
                rewritten += 1
    return rewritten
