"""Keeping a checked file between the dry run and the confirmation.

A check not confirmed within IMPORT_HOLD_SECONDS (a day) is forgotten. Its file is removed by
``remove_old``, which periodic work runs every hour (``plans.tasks``), so the files of checks
abandoned in a session that never came back do not pile up.

The file is stored under a random name in a folder of its kind, its tenant (or "national") and
the person who uploaded it; the session remembers the name, the file's hash and the details
typed with it. Confirming reads the file back only from that session, for that tenant, and only
if its hash still matches: nobody can confirm a file they did not check, or one changed since.
"""

import contextlib
import hashlib
import secrets
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.core.files.storage import default_storage
from django.http import HttpRequest

# Checks kept per session and kind: enough for a few tabs, never a growing pile.
KEEP_PER_SESSION = 3


@dataclass(frozen=True)
class HeldFile:
    token: str
    file: File
    details: dict
    sha256: str


@dataclass(frozen=True)
class HeldFiles:
    """The files of one kind of import held for people between check and confirmation."""

    session_key: str
    folder: str

    def hold(self, request: HttpRequest, *, tenant_id: int | None, upload, details: dict) -> str:
        """Store ``upload`` for this person and tenant; returns the token the confirmation
        names."""
        upload.seek(0)
        content = upload.read()
        token = secrets.token_urlsafe(24)
        folder = f"{self.folder}/{_scope(tenant_id)}/{request.user.pk}"
        _remove_stale(folder)
        path = default_storage.save(f"{folder}/{secrets.token_hex(16)}", ContentFile(content))
        held = dict(request.session.get(self.session_key, {}))
        for old in sorted(held, key=lambda t: held[t]["at"])[
            : max(0, len(held) - KEEP_PER_SESSION + 1)
        ]:
            _delete(held.pop(old)["path"])
        held[token] = {
            "tenant": tenant_id,
            "path": path,
            "name": upload.name,
            "sha256": hashlib.sha256(content).hexdigest(),
            "details": details,
            "at": time.time(),
        }
        request.session[self.session_key] = held
        return token

    def held(self, request: HttpRequest, *, tenant_id: int | None, token: str) -> HeldFile | None:
        """The file held under ``token`` for this person and tenant, or None."""
        entry = self._entry(request, tenant_id=tenant_id, token=token)
        if entry is None:
            return None
        try:
            with default_storage.open(entry["path"], "rb") as stored:
                content = stored.read()
        except OSError:
            return None
        sha256 = hashlib.sha256(content).hexdigest()
        if sha256 != entry["sha256"]:
            return None
        return HeldFile(token, ContentFile(content, name=entry["name"]), entry["details"], sha256)

    def update(
        self, request: HttpRequest, *, tenant_id: int | None, token: str, details: dict
    ) -> None:
        """Remember new details with a held file (the choices made after uploading it)."""
        entry = self._entry(request, tenant_id=tenant_id, token=token)
        if entry is None:
            return
        held = dict(request.session[self.session_key])
        held[token] = {**entry, "details": details}
        request.session[self.session_key] = held

    def release(self, request: HttpRequest, token: str) -> None:
        held = dict(request.session.get(self.session_key, {}))
        entry = held.pop(token, None)
        if entry is not None:
            _delete(entry["path"])
            request.session[self.session_key] = held

    def _entry(self, request: HttpRequest, *, tenant_id: int | None, token: str) -> dict | None:
        entry = request.session.get(self.session_key, {}).get(token or "")
        if (
            entry is None
            or entry["tenant"] != tenant_id
            or time.time() - entry["at"] > settings.IMPORT_HOLD_SECONDS
        ):
            return None
        return entry

    def remove_old(self) -> int:
        """Remove this kind's files of checks older than IMPORT_HOLD_SECONDS, for every
        tenant and person; returns how many went. A file still young enough to be confirmed
        stays."""
        return _remove_stale(self.folder)


def _scope(tenant_id: int | None) -> str:
    return str(tenant_id) if tenant_id is not None else "national"


def _delete(path: str) -> None:
    with contextlib.suppress(OSError):
        default_storage.delete(path)


def _remove_stale(folder: str) -> int:
    """Files of checks never confirmed under ``folder`` and the folders in it."""
    try:
        folders, names = default_storage.listdir(folder)
    except (OSError, NotImplementedError):
        return 0
    removed = sum(_remove_stale(f"{folder}/{inner}") for inner in folders)
    for name in names:
        path = f"{folder}/{name}"
        try:
            age = time.time() - default_storage.get_modified_time(path).timestamp()
        except (OSError, NotImplementedError):
            continue
        if age > settings.IMPORT_HOLD_SECONDS:
            _delete(path)
            removed += 1
    return removed
