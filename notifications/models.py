import json

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from plans.models import Action, ActionPlan
from tenants.models import Tenant
from tenants.scoping import TenantOwnedModel
from tenants.sealed import SecretUnreadable, seal, unseal


def channel_choices() -> list[tuple[str, str]]:
    # Called rather than listed: the channels package is the one list, and a new channel then
    # needs no migration. Imported here because the channels read these models.
    from notifications.channels import choices

    return choices()


class Level(models.TextChoices):
    """The escalation chain, in the order a person meets it."""

    REMINDER = "reminder", "Due soon"
    OVERDUE = "overdue", "Overdue"
    MANAGERS = "managers", "Overdue: body monitoring the plan"
    CHAIR = "chair", "Overdue: chair of the sign-off body"
    SIGN_OFF_WAITING = "sign_off_waiting", "Waiting for sign-off"


class EscalationPolicy(TenantOwnedModel):
    """How a tenant escalates, in working days of its nation. A tenant without a row uses the
    defaults below, which follow the partnership's agreed practice."""

    reminder_days_before = models.PositiveSmallIntegerField(
        "reminder to the lead officer, working days before the due date", default=5
    )
    overdue_days = models.PositiveSmallIntegerField(
        "lead officer and lead partner's contact, working days overdue", default=1
    )
    managers_days = models.PositiveSmallIntegerField(
        "body monitoring the plan and the lead agency's committee, working days overdue", default=10
    )
    chair_days = models.PositiveSmallIntegerField(
        "chair of the sign-off body, working days overdue", default=20
    )
    sign_off_waiting_days = models.PositiveSmallIntegerField(
        "sign-off body members, working days evidence has waited", default=10
    )
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name_plural = "escalation policies"
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="escalationpolicy_one_per_tenant")
        ]

    def __str__(self):
        return f"Escalation policy of {self.tenant}"

    def days_for(self, level: str) -> int:
        return {
            Level.REMINDER: self.reminder_days_before,
            Level.OVERDUE: self.overdue_days,
            Level.MANAGERS: self.managers_days,
            Level.CHAIR: self.chair_days,
            Level.SIGN_OFF_WAITING: self.sign_off_waiting_days,
        }[level]

    def clean(self):
        errors = {}
        for field in (
            "reminder_days_before",
            "overdue_days",
            "managers_days",
            "chair_days",
            "sign_off_waiting_days",
        ):
            value = getattr(self, field)
            if value is None or not 1 <= value <= 250:
                errors[field] = "Give a number of working days from 1 to 250."
        if not errors:
            if self.managers_days <= self.overdue_days:
                errors["managers_days"] = (
                    "The monitoring body is told later than the lead officer: give more "
                    "working days than for the lead officer."
                )
            elif self.chair_days <= self.managers_days:
                errors["chair_days"] = (
                    "The chair is told last: give more working days than for the monitoring body."
                )
        if errors:
            raise ValidationError(errors)


class ChannelSettings(TenantOwnedModel):
    """What one organisation gives one channel (notifications/channels/): its ``values`` as
    text, and its secrets together in ``secrets_sealed``, encrypted (tenants.sealed). ``chosen``
    marks the channel the organisation's e-mails go by; with none chosen they go by the default
    channel, e-mail from this service."""

    channel = models.CharField(max_length=20, choices=channel_choices)
    chosen = models.BooleanField(default=False)
    values = models.JSONField(default=dict, blank=True)
    secrets_sealed = models.TextField(blank=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    sealed_columns = ("secrets_sealed",)

    class Meta:
        verbose_name_plural = "channel settings"
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "channel"], name="channelsettings_one_per_channel"
            ),
            models.UniqueConstraint(
                fields=["tenant"],
                condition=models.Q(chosen=True),
                name="channelsettings_one_chosen",
            ),
        ]

    def __str__(self):
        return f"{self.get_channel_display()} for {self.tenant}"

    @property
    def secrets(self) -> dict[str, str]:
        """The secrets, decrypted; raises SecretUnreadable when the keys cannot read them."""
        return json.loads(unseal(self.secrets_sealed) or "{}")

    def secret_set(self, name: str, plain: str) -> None:
        try:
            secrets = self.secrets
        except SecretUnreadable:
            # Lost with the key that sealed them; the one given now is kept.
            secrets = {}
        secrets[name] = plain
        self.secrets_sealed = seal(json.dumps(secrets, sort_keys=True))

    def secrets_stored(self) -> set[str]:
        """The names of the secrets stored, for pages that say one is without showing it."""
        if not self.secrets_sealed:
            return set()
        try:
            return {name for name, value in self.secrets.items() if value}
        except SecretUnreadable:
            from notifications.channels import channel_for

            return {s.name for s in channel_for(self.channel).settings if s.secret}

    def everything(self) -> dict[str, str]:
        """Every value the channel is given, secrets included, to send with."""
        return {**self.values, **self.secrets}

    def clean(self):
        from notifications.channels import channel_for, field_name

        try:
            channel = channel_for(self.channel)
        except LookupError:
            raise ValidationError({"channel": "Choose how e-mails are sent."}) from None
        errors = {}
        stored = self.secrets_stored()
        for setting in channel.settings:
            name = field_name(channel.name, setting.name)
            if setting.secret:
                if self.chosen and setting.name not in stored:
                    errors[name] = setting.missing
                continue
            value = self.values.get(setting.name, "")
            try:
                value = setting.rule.clean(value)
            except ValidationError as error:
                errors[name] = error.messages
                continue
            self.values = {**self.values, setting.name: value}
            problem = setting.check(value) if value and setting.check else ""
            if problem:
                errors[name] = problem
            elif self.chosen and not value:
                errors[name] = setting.missing
        if errors:
            raise ValidationError(errors)


class Sweep(models.Model):
    """One run of the escalation sweep, across all tenants."""

    today = models.DateField()
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    steps_created = models.PositiveIntegerField(default=0)
    notifications_created = models.PositiveIntegerField(default=0)
    messages_created = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self):
        return f"Sweep of {self.today}"


class EscalationStep(TenantOwnedModel):
    """One level of one action's escalation chain, reached once.

    ``counted_from`` is the action's due date for the due-date levels, so a changed due date
    starts a fresh chain; for a sign-off left waiting it is the day the evidence was submitted and
    ``cycle`` the visit to that state, so resubmitted evidence starts a fresh count. The unique
    constraint is what makes a second sweep, or two sweeps at once, create nothing new.
    """

    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="+")
    level = models.CharField(max_length=20, choices=Level.choices)
    counted_from = models.DateField()
    cycle = models.PositiveIntegerField(default=0)
    sweep = models.ForeignKey(Sweep, on_delete=models.PROTECT, related_name="steps")
    created_at = models.DateTimeField(default=timezone.now)

    same_tenant_relations = ("action",)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "action", "level", "counted_from", "cycle"],
                name="escalationstep_once",
            )
        ]

    def __str__(self):
        return f"{self.get_level_display()}: action {self.action_id}"


class NotificationPreference(models.Model):
    """How a person wants to hear about events. Escalations always go in the daily digest."""

    class Events(models.TextChoices):
        IMMEDIATE = "immediate", "Straight away, one e-mail per event"
        DAILY = "daily", "In one e-mail each morning"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    events = models.CharField(max_length=10, choices=Events.choices, default=Events.IMMEDIATE)

    def __str__(self):
        return f"{self.user}: {self.get_events_display()}"


class Message(models.Model):
    """The outbox: one e-mail to one person, written in the same transaction as its cause.

    Not scoped to one tenant: a digest may list items from each tenant the recipient belongs
    to. ``tenant`` is set when every item comes from one tenant (always for GOV.UK Notify, which
    sends with that tenant's key); tenant pages reach messages only through their notifications.
    """

    class Kind(models.TextChoices):
        EVENT = "event", "Event"
        DIGEST = "digest", "Daily digest"
        INVITATION = "invitation", "Invitation"

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting to be sent"
        SENDING = "sending", "Being sent"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        SKIPPED = "skipped", "Not sent"

    # Sent to the account's address as it is when sending, so a corrected address is used.
    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # Only for someone with no account yet: an invitation to a new address, whose account is
    # made when they accept it.
    address = models.EmailField("e-mail address", blank=True)
    tenant = models.ForeignKey(
        Tenant, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    channel = models.CharField(max_length=20, choices=channel_choices, default="email")
    subject = models.CharField(max_length=250)
    body_text = models.TextField()
    body_html = models.TextField()
    # A secret the body carries (an invitation link's token) for as long as it may still be
    # sent. Once the message is sent, fails for good or is skipped, it is taken out of the
    # stored body and cleared, so the stored copy opens nothing.
    secret = models.CharField(max_length=100, blank=True)
    # Also the e-mail's Message-ID and Notify's reference: a redelivered message is recognisable.
    key = models.CharField(max_length=200, unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    queued_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    provider_reference = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="message_status_due"),
            models.Index(fields=["tenant", "status", "created_at"], name="message_tenant_status"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(recipient__isnull=False) | ~models.Q(address=""),
                name="message_to_someone",
            )
        ]

    def __str__(self):
        return f"{self.subject} to {self.recipient_id or self.address} ({self.status})"

    @property
    def to(self) -> str:
        """Who the message goes to, as the pages name them."""
        return str(self.recipient) if self.recipient_id else self.address

    @property
    def to_address(self) -> str:
        return self.recipient.email if self.recipient_id else self.address

    def without_secret(self, text: str) -> str:
        """``text`` with the message's secret taken out, as it may be stored or shown."""
        return text.replace(self.secret, SECRET_REMOVED) if self.secret else text


SECRET_REMOVED = "[removed]"


class Notification(TenantOwnedModel):
    """One thing one person is told about, in one tenant: listed in the service and carried by
    an e-mail (``message``), immediately or in the next digest."""

    class Kind(models.TextChoices):
        REMINDER = Level.REMINDER.value, Level.REMINDER.label
        OVERDUE = Level.OVERDUE.value, Level.OVERDUE.label
        MANAGERS = Level.MANAGERS.value, Level.MANAGERS.label
        CHAIR = Level.CHAIR.value, Level.CHAIR.label
        SIGN_OFF_WAITING = Level.SIGN_OFF_WAITING.value, Level.SIGN_OFF_WAITING.label
        SIGN_OFF_REQUESTED = "sign_off_requested", "Sign-off requested"
        RETURNED = "returned", "Returned"
        SIGNED_OFF = "signed_off", "Signed off"
        MADE_LEAD = "made_lead", "Made lead officer"
        MADE_DELEGATE = "made_delegate", "Made a delegate"
        PLAN_SUBMITTED = "plan_submitted", "Plan submitted"
        PLAN_ENDORSED = "plan_endorsed", "Plan endorsed"
        VIRUS_FOUND = "virus_found", "Virus found in evidence"
        EVIDENCE_CHECKED = "evidence_checked", "Evidence checked for viruses"

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    kind = models.CharField(max_length=30, choices=Kind.choices)
    action = models.ForeignKey(
        Action, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    plan = models.ForeignKey(
        ActionPlan, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    step = models.ForeignKey(
        EscalationStep,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
    )
    title = models.CharField(max_length=300)
    # Why this person is told, in their words: "you are the lead officer".
    reason = models.CharField(max_length=300)
    # Shown in the service only (a return reason may name people); e-mails link here instead.
    detail = models.TextField(blank=True)
    link = models.CharField(max_length=300)
    key = models.CharField(max_length=200)
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    # Waiting for the recipient's next digest (they chose a daily e-mail for events).
    awaiting_digest = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    same_tenant_relations = ("action", "plan", "step")

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "key"], name="notification_key_unique")
        ]
        indexes = [
            models.Index(
                fields=["tenant", "recipient", "read_at", "created_at"], name="notification_inbox"
            ),
            models.Index(
                fields=["tenant", "recipient"],
                condition=models.Q(awaiting_digest=True),
                name="notification_awaiting_digest",
            ),
        ]

    def __str__(self):
        return self.title
