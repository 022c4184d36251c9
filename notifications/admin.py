"""The operator's view of notifications. What the sweep and the outbox write is read-only here:
a step, a notification or a message changed by hand would no longer say what happened. The
tenant middleware lets staff read across tenants in the admin, as for the other apps."""

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from notifications.models import EscalationPolicy, EscalationStep, Message, Notification, Sweep
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


class EscalationPolicyAdminForm(TenantOwnedAdminForm):
    # Write-only, as on the tenant's page: the key is never put back into the page.
    notify_api_key = forms.CharField(
        label="GOV.UK Notify API key",
        required=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Leave blank to keep the stored key.",
    )

    class Meta:
        model = EscalationPolicy
        fields = "__all__"

    def clean_notify_api_key(self) -> str:
        # Not a model field (the column holds it encrypted), so the form sets it itself, before
        # the model's own checks read it. Blank keeps the stored key.
        key = self.cleaned_data["notify_api_key"].strip()
        if key:
            self.instance.notify_api_key = key
        return key


@admin.register(EscalationPolicy)
class EscalationPolicyAdmin(TenantOwnedAdmin):
    form = EscalationPolicyAdminForm
    list_display = (
        "tenant",
        "channel",
        "notify_key_stored",
        "reminder_days_before",
        "overdue_days",
        "managers_days",
        "chair_days",
        "sign_off_waiting_days",
        "updated_at",
    )
    list_filter = ("channel",)
    fields = (
        "tenant",
        "reminder_days_before",
        "overdue_days",
        "managers_days",
        "chair_days",
        "sign_off_waiting_days",
        "channel",
        "notify_api_key",
        "notify_key_stored",
        "notify_template_id",
        "updated_at",
        "updated_by",
    )
    readonly_fields = ("notify_key_stored", "updated_at", "updated_by")

    @admin.display(description="Notify key stored", boolean=True)
    def notify_key_stored(self, policy: EscalationPolicy) -> bool:
        return bool(policy.notify_api_key_sealed)

    def get_fields(self, request: HttpRequest, obj=None):
        fields = list(super().get_fields(request, obj))
        if not self.has_change_permission(request, obj):
            # A view-only page would show the field's value as text.
            fields.remove("notify_api_key")
        return fields

    def save_model(self, request, obj: EscalationPolicy, form, change: bool) -> None:
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
