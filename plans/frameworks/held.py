"""Keeping a checked file between the dry run and the confirmation.

The file is stored under a random name in a folder of its tenant (or "national") and the person
who uploaded it; the session remembers the name, the file's hash and the details typed with it.
Confirming reads the file back only from that session, for that tenant, and only if its hash
still matches: nobody can confirm a file they did not check, or one changed since.

A check not confirmed within FRAMEWORK_IMPORT_HOLD_SECONDS (a day) is forgotten. Its file is
removed by ``held_files_remove_old``, which the periodic work runs every hour, so files of
checks abandoned in a session that never came back do not pile up.
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

SESSION_KEY = "framework_imports"
FOLDER = "framework-imports"
# Checks kept per session: enough for a few tabs, never a growing pile.
KEEP_PER_SESSION = 3


@dataclass(frozen=True)
class HeldFile:
    token: str
    file: File
    details: dict


def _scope(tenant_id: int | None) -> str:
    return str(tenant_id) if tenant_id is not None else "national"


def hold_file(request: HttpRequest, *, tenant_id: int | None, upload, details: dict) -> str:
    """Store ``upload`` for this person and tenant; returns the token the confirmation names."""
    upload.seek(0)
    content = upload.read()
    token = secrets.token_urlsafe(24)
    folder = f"{FOLDER}/{_scope(tenant_id)}/{request.user.pk}"
    held_files_remove_old(folder=folder)
    path = default_storage.save(f"{folder}/{secrets.token_hex(16)}", ContentFile(content))
    held = dict(request.session.get(SESSION_KEY, {}))
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
    request.session[SESSION_KEY] = held
    return token


def held_file(request: HttpRequest, *, tenant_id: int | None, token: str) -> HeldFile | None:
    """The file held under ``token`` for this person and tenant, or None."""
    entry = request.session.get(SESSION_KEY, {}).get(token or "")
    if (
        entry is None
        or entry["tenant"] != tenant_id
        or time.time() - entry["at"] > settings.FRAMEWORK_IMPORT_HOLD_SECONDS
    ):
        return None
    try:
        with default_storage.open(entry["path"], "rb") as stored:
            content = stored.read()
    except OSError:
        return None
    if hashlib.sha256(content).hexdigest() != entry["sha256"]:
        return None
    return HeldFile(token, ContentFile(content, name=entry["name"]), entry["details"])


def release_file(request: HttpRequest, token: str) -> None:
    held = dict(request.session.get(SESSION_KEY, {}))
    entry = held.pop(token, None)
    if entry is not None:
        _delete(entry["path"])
        request.session[SESSION_KEY] = held


def _delete(path: str) -> None:
    with contextlib.suppress(OSError):
        default_storage.delete(path)


def held_files_remove_old(*, folder: str = FOLDER) -> int:
    """Remove the files of checks older than FRAMEWORK_IMPORT_HOLD_SECONDS under ``folder``
    (by default every tenant's and person's); returns how many went. A file still young enough
    to be confirmed stays."""
    try:
        folders, names = default_storage.listdir(folder)
    except (OSError, NotImplementedError):
        return 0
    removed = sum(held_files_remove_old(folder=f"{folder}/{inner}") for inner in folders)
    for name in names:
        path = f"{folder}/{name}"
        try:
            age = time.time() - default_storage.get_modified_time(path).timestamp()
        except (OSError, NotImplementedError):
            continue
        if age > settings.FRAMEWORK_IMPORT_HOLD_SECONDS:
            _delete(path)
            removed += 1
    return removed
