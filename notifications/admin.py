"""The operator's view of notifications. What the sweep and the outbox write is read-only here:
a step, a notification or a message changed by hand would no longer say what happened. The
tenant middleware lets staff read across tenants in the admin, as for the other apps."""

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from notifications import channels
from notifications.models import (
    ChannelSettings,
    EscalationPolicy,
    EscalationStep,
    Message,
    Notification,
    Sweep,
)
from tenants.admin import TenantOwnedAdmin, TenantOwnedAdminForm


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(Message)
class MessageAdmin(ReadOnlyAdmin):
    list_display = (
        "subject",
        "recipient",
        "address",
        "tenant",
        "kind",
        "channel",
        "status",
        "attempts",
        "created_at",
        "sent_at",
    )
    list_filter = ("status", "channel", "kind")
    search_fields = ("key", "subject", "address")
    list_select_related = ("recipient", "tenant")
    date_hierarchy = "created_at"
    # The bodies are shown without the secret an invitation's link carries until it has gone.
    exclude = ("body_text", "body_html", "secret")
    readonly_fields = ("text", "html")

    @admin.display(description="Text")
    def text(self, message: Message) -> str:
        return message.without_secret(message.body_text)

    @admin.display(description="HTML")
    def html(self, message: Message) -> str:
        return message.without_secret(message.body_html)


@admin.register(Sweep)
class SweepAdmin(ReadOnlyAdmin):
    list_display = (
        "today",
        "started_at",
        "finished_at",
        "steps_created",
        "notifications_created",
        "messages_created",
    )

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        # Steps point at their sweep; the record of what ran stays.
        return False


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(TenantOwnedAdmin):
    list_display = (
        "tenant",
        "reminder_days_before",
        "overdue_days",
        "managers_days",
        "chair_days",
        "sign_off_waiting_days",
        "updated_at",
    )
    fields = (
        "tenant",
        "reminder_days_before",
        "overdue_days",
        "managers_days",
        "chair_days",
        "sign_off_waiting_days",
        "updated_at",
        "updated_by",
    )
    readonly_fields = ("updated_at", "updated_by")

    def save_model(self, request, obj: EscalationPolicy, form, change: bool) -> None:
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)


def _setting_form_fields() -> dict[str, forms.Field]:
    """A field for every channel's every setting, as the channel declares it; secrets are
    write-only, as on the tenant's page."""
    fields = {}
    for name, (_, setting) in channels.setting_fields().items():
        if setting.secret:
            fields[name] = setting.rule.field(
                label=setting.label,
                required=False,
                widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
            )
        else:
            fields[name] = setting.rule.field(label=setting.label, required=False)
    return fields


class ChannelSettingsFormBase(TenantOwnedAdminForm):
    """Only the row's own channel's settings are used."""

    class Meta:
        model = ChannelSettings
        fields = ("tenant", "channel", "chosen")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        stored = self.instance.secrets_stored() if self.instance.pk else set()
        for name, (channel, setting) in channels.setting_fields().items():
            if name not in self.fields or channel.name != self.instance.channel:
                continue
            if setting.secret and setting.name in stored:
                self.fields[name].help_text = "Leave blank to keep the stored one."
            elif not setting.secret:
                self.initial[name] = self.instance.values.get(setting.name, "")

    def clean(self):
        # Not model fields (the row keeps them in ``values`` and, encrypted, in
        # ``secrets_sealed``), so the form sets them itself, before the model's own checks.
        cleaned = super().clean()
        try:
            channel = channels.channel_for(cleaned.get("channel") or "")
        except LookupError:
            return cleaned
        for setting in channel.settings:
            value = cleaned.get(channels.field_name(channel.name, setting.name)) or ""
            if not setting.secret:
                self.instance.values = {**self.instance.values, setting.name: value}
            elif value:
                self.instance.secret_set(setting.name, value)
        return cleaned


# Declared on the class, so the admin lays them out, but listed by the channels.
ChannelSettingsAdminForm = type(
    "ChannelSettingsAdminForm",
    (ChannelSettingsFormBase,),
    {"__module__": __name__, **_setting_form_fields()},
)


@admin.register(ChannelSettings)
class ChannelSettingsAdmin(TenantOwnedAdmin):
    form = ChannelSettingsAdminForm
    list_display = ("tenant", "channel", "chosen", "secrets_stored_count", "updated_at")
    list_filter = ("channel", "chosen")
    readonly_fields = ("updated_at", "updated_by")

    @admin.display(description="Secrets stored")
    def secrets_stored_count(self, row: ChannelSettings) -> int:
        return len(row.secrets_stored())

    def get_fields(self, request: HttpRequest, obj=None):
        fields = list(super().get_fields(request, obj))
        if not self.has_change_permission(request, obj):
            # A view-only page would show a secret field's value as text.
            secret = {n for n, (_, s) in channels.setting_fields().items() if s.secret}
            fields = [name for name in fields if name not in secret]
        return fields

    def save_model(self, request, obj: ChannelSettings, form, change: bool) -> None:
        obj.updated_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(EscalationStep)
class EscalationStepAdmin(ReadOnlyAdmin, TenantOwnedAdmin):
    list_display = ("action", "level", "counted_from", "cycle", "tenant", "created_at")
    list_filter = ("tenant", "level")
    list_select_related = ("tenant", "action")
    search_fields = ("action__reference", "action__title")


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin, TenantOwnedAdmin):
    list_display = ("title", "recipient", "kind", "tenant", "created_at", "read_at")
    list_filter = ("tenant", "kind", "awaiting_digest")
    list_select_related = ("tenant", "recipient")
    search_fields = ("title", "key")
    date_hierarchy = "created_at"
