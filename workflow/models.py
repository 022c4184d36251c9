from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils import timezone

from tenants.history import NUMBER, TEXT, TIME, HistoryRecord


class TransitionLog(HistoryRecord):
    """One row per state change, written in the same transaction as the change."""

    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.PositiveBigIntegerField()
    transition = models.CharField(max_length=50)
    from_state = models.CharField(max_length=30)
    to_state = models.CharField(max_length=30)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    comment = models.TextField(blank=True)
    # When the step happened. For history written down later (a plan brought in with its past
    # steps), the date it happened on, and ``recorded_at`` and ``recorded_by`` say when and by
    # whom it was written down; both are empty for a step recorded as it was taken.
    at = models.DateTimeField(default=timezone.now)
    recorded_at = models.DateTimeField(null=True, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    history_fields = {
        1: (
            ("id", NUMBER),
            ("tenant_id", NUMBER),
            ("content_type_id", NUMBER),
            ("object_id", NUMBER),
            ("transition", TEXT),
            ("from_state", TEXT),
            ("to_state", TEXT),
            ("actor_id", NUMBER),
            ("comment", TEXT),
            ("at", TIME),
            ("recorded_at", TIME),
            ("recorded_by_id", NUMBER),
        )
    }

    class Meta:
        ordering = ["at", "pk"]
        indexes = [
            models.Index(
                fields=["tenant", "content_type", "object_id", "at"], name="transitionlog_object"
            )
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "chain_position"], name="transitionlog_tenant_chain_position"
            )
        ]

    def __str__(self):
        return f"{self.transition}: {self.from_state} -> {self.to_state}"

    @property
    def recorded_later(self) -> bool:
        return self.recorded_at is not None


class Approval(HistoryRecord):
    """One member's approval towards a quorum, for one visit (``cycle``) of the object's state."""

    content_type = models.ForeignKey(ContentType, on_delete=models.PROTECT, related_name="+")
    object_id = models.PositiveBigIntegerField()
    transition = models.CharField(max_length=50)
    cycle = models.PositiveIntegerField()
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    comment = models.TextField(blank=True)
    at = models.DateTimeField(default=timezone.now)

    history_fields = {
        1: (
            ("id", NUMBER),
            ("tenant_id", NUMBER),
            ("content_type_id", NUMBER),
            ("object_id", NUMBER),
            ("transition", TEXT),
            ("cycle", NUMBER),
            ("approver_id", NUMBER),
            ("comment", TEXT),
            ("at", TIME),
        )
    }

    class Meta:
        ordering = ["at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "content_type", "object_id", "transition", "cycle", "approver"],
                name="approval_once_per_member",
            ),
            models.UniqueConstraint(
                fields=["tenant", "chain_position"], name="approval_tenant_chain_position"
            ),
        ]
