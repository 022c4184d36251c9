"""The record of changes: one audit row per change that is not a workflow step, written in
the transaction of the change, and how each kind of subject is told in it."""

from collections.abc import Callable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any

from tenants.models import AuditEntry, User


def audit_record(
    *,
    tenant_id: int,
    actor: User | None,
    subject_type: str,
    subject_id: int | None,
    subject_label: str,
    summary: str,
    labels: dict[str, str] | None = None,
    before: dict[str, str] | None = None,
    after: dict[str, str] | None = None,
    long_fields: tuple[str, ...] = (),
    reason: str = "",
    always: bool = False,
) -> AuditEntry | None:
    """Record a change that is not a workflow step, inside the transaction that makes it.

    ``before`` and ``after`` map field names to the texts a person read; only fields whose text
    changed are kept, in ``after``'s order. With nothing changed nothing is written, unless the
    change is an event with no fields (``always``: an invitation sent, an action adopted).
    """
    before, after, labels = before or {}, after or {}, labels or {}
    changes = [
        {
            "field": name,
            "label": labels.get(name, name),
            "before": before.get(name, ""),
            "after": text,
            **({"long": True} if name in long_fields else {}),
        }
        for name, text in after.items()
        if before.get(name, "") != text
    ]
    if not changes and not always:
        return None
    return AuditEntry.objects.create(
        tenant_id=tenant_id,
        actor=actor,
        actor_name=str(actor) if actor is not None else "",
        subject_type=subject_type,
        subject_id=subject_id,
        subject_label=str(subject_label)[:300],
        summary=summary[:300],
        changes=changes,
        reason=reason,
    )


@dataclass(frozen=True)
class Recorded:
    """How the record of changes tells of one kind of subject (a sign-off body, a plan, an
    action): its type, its fields' labels in the order shown, its texts as a person reads them,
    and its name."""

    subject_type: str
    labels: dict[str, str]
    texts: Callable[[Any], dict[str, str]] | None = None
    name: Callable[[Any], str] = str
    long_fields: tuple[str, ...] = ()
    subject_id: Callable[[Any], int | None] = attrgetter("pk")
    tenant_id: Callable[[Any], int] = attrgetter("tenant_id")

    def record(
        self,
        subject: Any,
        *,
        by: User | None,
        summary: str,
        before: dict[str, str],
        after: dict[str, str] | None = None,
        reason: str = "",
        always: bool | None = None,
    ) -> AuditEntry | None:
        """Record ``subject``'s change from ``before`` to ``after`` (by default its texts now),
        inside the transaction that makes it. An empty ``before`` is a subject just set up,
        recorded even if none of its fields has any text (unless ``always`` says otherwise)."""
        if after is None:
            after = self.texts(subject)
        order = {name: position for position, name in enumerate(self.labels)}
        return audit_record(
            tenant_id=self.tenant_id(subject),
            actor=by,
            subject_type=self.subject_type,
            subject_id=self.subject_id(subject),
            subject_label=self.name(subject),
            summary=summary,
            labels=self.labels,
            before=before,
            after=dict(sorted(after.items(), key=lambda item: order.get(item[0], len(order)))),
            long_fields=self.long_fields,
            reason=reason,
            always=not before if always is None else always,
        )

    def event(self, subject: Any, *, by: User | None, summary: str, reason: str = "") -> AuditEntry:
        """Record something that happened to ``subject`` without changing a field of it (an
        action adopted into a plan, a variation to an endorsed plan)."""
        return self.record(
            subject, by=by, summary=summary, before={}, after={}, reason=reason, always=True
        )
