"""Parts of the plan page, "my actions", the action page and the home pages rendered once and
served again until the organisation's data changes.

A part is kept under its organisation and the question it answers (which plan, which filters, which
page, whose queues, which day), tagged with two version tokens: the organisation's, and one for
changes made outside any organisation (the operator's admin, national frameworks, a person's name,
which every organisation they belong to shows). A part is served only while both tokens are still
the current ones; nothing is ever looked up under another organisation's key, and no part holds
anything that depends on who is looking (buttons, links only some roles see) beyond what its key
names (a person's own queues, under the person and their role): the views keep those outside the
cached parts.

The tokens change on every write to a table the parts are built from, noticed where every
write passes, in the database connection itself (``pages_changed_by``, installed on each
connection when it opens), so no service, import, admin action or bulk update can forget to. A
write changes the token at once (the transaction that wrote sees its own change) and again when
its transaction commits: a page rebuilt between the two, from what was committed before, is
tagged with the first token and never served after the commit. The organisation is the one the
write was made for (its tenant scope); a write outside one changes the token every organisation
shares. Parts expire after ``PART_SECONDS`` whatever happens, which bounds the cost of a token
change lost to a cache that was down at the moment of a commit.

A test builds every part with the database's statements logged and checks that each table they
read is in ``WATCHED_TABLES``, so a part that starts to show something new cannot be left
stale by writes to it.
"""

from __future__ import annotations

import hashlib
import logging
import re
import uuid
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.core.cache import caches

from tenants.database_scope import database_scope

log = logging.getLogger(__name__)

CACHE = "pages"
PART_SECONDS = 15 * 60

# Every table a cached part reads, and the columns whose change matters (None: any change,
# including rows added or removed). A person's row changes at every sign-in (last_login,
# session_generation), which no page shows; their name and address do. The organisation's own
# row is not read by the parts but given to them (its address is in every link); content types
# are read once per process.
WATCHED_TABLES: dict[str, frozenset[str] | None] = {
    "plans_action": None,
    "plans_actionadoption": None,
    "plans_actiongroupobjectpermission": None,
    "plans_actionplan": None,
    "plans_actionplangroupobjectpermission": None,
    "plans_actionrecommendation": None,
    "plans_actionsupportingpartner": None,
    "plans_actionuserobjectpermission": None,
    "plans_evidence": None,
    "plans_framework": None,
    "plans_planimport": None,
    "plans_progressupdate": None,
    "plans_publishedreport": None,
    "plans_quarantinedevidence": None,
    "plans_recommendation": None,
    "plans_theme": None,
    "tenants_auditentry": None,
    "tenants_membership": None,
    "tenants_partner": None,
    "tenants_signoffbody": None,
    "tenants_signoffbodymember": None,
    "tenants_tenant": None,
    "tenants_user": frozenset({"full_name", "email", "is_active"}),
    "tenants_user_groups": None,
    "workflow_approval": None,
    "workflow_transitionlog": None,
    "auth_group": None,
    "auth_permission": None,
    "django_content_type": None,
}
# Tables whose rows belong to no one organisation: a change to them changes every
# organisation's pages, whichever organisation's request made it.
SHARED_TABLES = frozenset(
    {"tenants_user", "tenants_user_groups", "tenants_tenant", "auth_group", "auth_permission"}
)

_WRITE = re.compile(r'(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?(\w+)"?', re.IGNORECASE)
_EVERYONE = "everyone"


def _release_digest() -> str:
    # Parts outlive a deployment in Redis: a key that names the templates and code they were
    # drawn with keeps a new release from serving an old release's markup.
    base = Path(settings.BASE_DIR)
    sources = [
        *sorted((base / "templates" / "plans").rglob("*.html")),
        *sorted((base / "templates" / "includes").rglob("*.html")),
        base / "plans" / "plan_page.py",
        base / "plans" / "action_page.py",
        base / "plans" / "home_page.py",
        base / "plans" / "queues.py",
        base / "plans" / "workflows.py",
        base / "plans" / "templatetags" / "queue_rows.py",
        base / "plans" / "selectors.py",
        base / "plans" / "forms.py",
        base / "tenants" / "templatetags" / "govuk.py",
    ]
    digest = hashlib.sha256()
    for path in sources:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


_RELEASE = _release_digest()


def _version_key(owner: int | str) -> str:
    return f"pages:version:{owner}"


def _token() -> str:
    return uuid.uuid4().hex


def versions_change(tenant_id: int | None) -> None:
    """A new token for the organisation (or, with None, for every organisation). Never raises:
    a cache that is down must not turn a write that succeeded into an error."""
    try:
        caches[CACHE].set(_version_key(tenant_id or _EVERYONE), _token(), timeout=None)
    except Exception:
        log.exception("Could not mark cached pages out of date; they expire on their own.")


def _changes_pages(sql: str) -> str | None:
    """The table a write statement changes, if the cached parts read it."""
    sql = sql.lstrip()
    if sql[:1] not in "IUDiud":
        return None
    match = _WRITE.match(sql)
    if match is None or match[1] not in WATCHED_TABLES:
        return None
    columns = WATCHED_TABLES[match[1]]
    if (
        columns is not None
        and sql[:1] in "Uu"
        and not any(f'"{column}"' in sql for column in columns)
    ):
        return None
    return match[1]


def pages_changed_by(execute, sql, params, many, context):
    """The connection's execute wrapper: after a write to a watched table, new tokens for the
    organisation it was made for, now and on commit."""
    result = execute(sql, params, many, context)
    table = _changes_pages(sql)
    if table is not None:
        scope = database_scope()
        tenant_id = None if scope.across or table in SHARED_TABLES else scope.tenant_id
        versions_change(tenant_id)
        connection = context["connection"]
        # Outside a transaction the statement has already committed: the change above is after
        # it, and is enough.
        if connection.in_atomic_block:
            connection.on_commit(lambda: versions_change(tenant_id))
    return result


def watch_connection(sender, connection, **kwargs) -> None:
    """connection_created: every connection notices the writes that change pages. First in
    the list, so a wrapper added for a while (``connection.execute_wrapper``) and removed from
    the end leaves this one in place."""
    if pages_changed_by not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, pages_changed_by)


def cached_parts(
    *, tenant_id: int, key: tuple, build: Callable[[], dict[str, object]]
) -> dict[str, object]:
    """The parts ``build`` makes for ``key`` in this organisation: kept ones while both version
    tokens are unchanged, otherwise freshly built (and kept). Markup is kept as the templates
    made it, SafeString and all."""
    cache = caches[CACHE]
    digest = hashlib.sha256(repr(key).encode()).hexdigest()[:32]
    part_key = f"pages:{_RELEASE}:{tenant_id}:{digest}"
    own, everyone = _version_key(tenant_id), _version_key(_EVERYONE)
    try:
        found = cache.get_many([own, everyone, part_key])
    except Exception:
        log.exception("Cached pages unavailable; building this one afresh.")
        return build()
    versions = (found.get(own), found.get(everyone))
    kept = found.get(part_key)
    if kept is not None and kept[0] == versions and kept[1] == key:
        return kept[2]
    parts = build()
    try:
        if None in versions:
            # No token yet (or evicted): start one, and keep nothing this time, since a part
            # tagged with a token read before it existed could never be told apart from later.
            for name, value in zip((own, everyone), versions, strict=True):
                if value is None:
                    cache.add(name, _token(), timeout=None)
        else:
            cache.set(part_key, (versions, key, parts), timeout=PART_SECONDS)
    except Exception:
        log.exception("Could not keep a cached page part.")
    return parts
