from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from plans import services
from plans.models import (
    Action,
    ActionPlan,
    Evidence,
    Framework,
    ProgressUpdate,
    Recommendation,
    Theme,
)
from plans.workflows import (
    ACTION_WORKFLOW,
    EDITABLE_STATES,
    PLAN_WORKFLOW,
    endorsing_body_change_refusal,
    framework_change_refusal,
    sign_off_revoke_refusal,
)
from tenants.admin import TenantOwnedAdmin, TenantOwnedAdminForm, errors_for_form
from tenants.models import SignOffBody
from workflow.admin import transition_actions


class ThemeInline(admin.TabularInline):
    model = Theme
    fields = ("position", "title")
    extra = 0


class RecommendationInline(admin.TabularInline):
    model = Recommendation
    fields = ("number", "theme", "title", "text")
    extra = 0

    def get_formset(self, request: HttpRequest, obj=None, **kwargs):
        formset = super().get_formset(request, obj, **kwargs)
        # Only this framework's themes; a new framework saves its themes first.
        themes = Theme.objects.filter(framework=obj) if obj else Theme.objects.none()
        formset.form.base_fields["theme"].queryset = themes
        formset.form.base_fields["text"].widget = forms.Textarea(attrs={"rows": 2, "cols": 50})
        return formset


@admin.register(Framework)
class FrameworkAdmin(admin.ModelAdmin):
    list_display = ("title", "short_name", "scope", "published", "is_outline")
    list_filter = (("tenant", admin.EmptyFieldListFilter), "is_outline")
    search_fields = ("title", "short_name")
    list_select_related = ("tenant",)
    inlines = (ThemeInline, RecommendationInline)

    @admin.display(description="Organisation")
    def scope(self, framework: Framework) -> str:
        return str(framework.tenant) if framework.tenant_id else "National"


class ActionPlanAdminForm(TenantOwnedAdminForm):
    """The operator sets a plan up under the same rules as a tenant administrator's page; the
    plan is then saved by the same services, so its bodies get their rights."""

    sign_off_bodies = forms.ModelMultipleChoiceField(
        queryset=SignOffBody.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="The bodies that may sign off this plan's actions.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        bodies = SignOffBody.objects.select_related("tenant").order_by("tenant__name", "name")
        plan = self.instance
        if plan.pk:
            bodies = bodies.filter(tenant_id=plan.tenant_id)
            self.initial["sign_off_bodies"] = [
                body.pk for body in services.sign_off_bodies_of_plan(plan=plan)
            ]
        self.fields["sign_off_bodies"].queryset = bodies

    def clean(self):
        cleaned = super().clean()
        framework, tenant = cleaned.get("framework"), cleaned.get("tenant") or self.instance.tenant
        if framework and framework.tenant_id not in (None, getattr(tenant, "pk", None)):
            raise ValidationError({"framework": "That framework belongs to another organisation."})
        return cleaned

    def _post_clean(self):
        super()._post_clean()
        plan = self.instance
        if plan.tenant_id is None or self.errors:
            return
        errors: dict[str, list[str]] = {}
        for body in self.cleaned_data.get("sign_off_bodies") or ():
            if body.tenant_id != plan.tenant_id:
                errors.setdefault("sign_off_bodies", []).append(
                    f"{body} belongs to another organisation."
                )
        if plan.pk:
            saved = ActionPlan.objects.get(pk=plan.pk)
            refusals = {
                "framework": plan.framework_id != saved.framework_id
                and framework_change_refusal(saved),
                "owner_body": plan.owner_body_id != saved.owner_body_id
                and endorsing_body_change_refusal(saved),
            }
            for name, refusal in refusals.items():
                if refusal:
                    errors.setdefault(name, []).append(refusal.message)
            kept = {body.pk for body in self.cleaned_data.get("sign_off_bodies") or ()}
            for body in services.sign_off_bodies_of_plan(plan=saved):
                if body.pk not in kept and (refusal := sign_off_revoke_refusal(saved, body)):
                    errors.setdefault("sign_off_bodies", []).append(refusal.message)
        try:
            services.action_plan_validate(plan)
        except ValidationError as error:
            for name, messages in error.message_dict.items():
                errors.setdefault(name, []).extend(messages)
        if errors:
            self.add_error(None, errors_for_form(self, ValidationError(errors)))


class ActionAdminForm(TenantOwnedAdminForm):
    """The operator edits an action's details under the same rules as a manager's page."""

    def _post_clean(self):
        super()._post_clean()
        action = self.instance
        if action.tenant_id is None or action.plan_id is None or self.errors:
            return
        if action.pk and action.state not in EDITABLE_STATES:
            self.add_error(
                None,
                f"This action is {action.get_state_display().lower()}; its details can no "
                "longer be changed.",
            )
            return
        try:
            services.action_links_validate(action)
        except ValidationError as error:
            self.add_error(None, errors_for_form(self, error))


@admin.register(ActionPlan)
class ActionPlanAdmin(TenantOwnedAdmin):
    form = ActionPlanAdminForm
    list_display = ("title", "tenant", "framework", "owner_body", "state")
    list_filter = ("tenant", "state")
    list_select_related = ("tenant", "framework", "owner_body")
    search_fields = ("title",)
    fields = (
        "tenant",
        "title",
        "framework",
        "owner_body",
        "monitoring_body",
        "partner",
        "owner",
        "sign_off_bodies",
        "state",
        "submitted_by",
        "state_changes",
        "created_at",
    )
    readonly_fields = ("state", "submitted_by", "state_changes", "created_at")
    raw_id_fields = ("framework", "owner_body", "monitoring_body", "partner", "owner")
    actions = transition_actions(PLAN_WORKFLOW)

    def save_model(self, request: HttpRequest, obj: ActionPlan, form, change: bool) -> None:
        # Through the services, so the bodies get their rights and the change is recorded.
        data = form.cleaned_data
        settings = {name: data.get(name) for name in services.PLAN_SETTINGS_FIELDS}
        if change:
            services.action_plan_update(
                plan=obj, by=request.user, sign_off_bodies=data["sign_off_bodies"], **settings
            )
            return
        plan = services.action_plan_create(
            tenant=obj.tenant, by=request.user, sign_off_bodies=data["sign_off_bodies"], **settings
        )
        obj.pk, obj.created_at = plan.pk, plan.created_at
        obj._state.adding = False
        obj._state.db = plan._state.db

    def save_related(self, request: HttpRequest, form, formsets, change: bool) -> None:
        # The sign-off bodies were saved with the plan; the form has no relations of its own.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


@admin.register(Action)
class ActionAdmin(TenantOwnedAdmin):
    form = ActionAdminForm
    list_display = ("reference", "title", "plan", "tenant", "state", "due_date", "lead_officer")
    list_filter = ("tenant", "state")
    list_select_related = ("tenant", "plan", "lead_officer")
    search_fields = ("reference", "title")
    fields = (
        "tenant",
        "plan",
        "reference",
        "title",
        "description",
        "lead_officer",
        "lead_partner",
        "due_date",
        "sign_off_body",
        "completion_statement",
        "state",
        "evidence_submitted_by",
        "state_changes",
        "created_at",
        "updated_at",
    )
    readonly_fields = (
        "state",
        "evidence_submitted_by",
        "state_changes",
        "created_at",
        "updated_at",
    )
    raw_id_fields = ("plan", "lead_officer", "lead_partner", "sign_off_body")
    actions = transition_actions(ACTION_WORKFLOW)

    def save_model(self, request: HttpRequest, obj: Action, form, change: bool) -> None:
        # The operator's edits are recorded like a manager's, in the admin's transaction.
        fields = [name for name in form.changed_data if name in services.ACTION_FIELD_LABELS]
        if not change or not fields:
            super().save_model(request, obj, form, change)
            return
        before = services.action_detail_texts(Action.objects.get(pk=obj.pk), fields)
        super().save_model(request, obj, form, change)
        services.action_change_record(
            action=obj,
            by=request.user,
            before=before,
            after=services.action_detail_texts(obj, fields),
            summary="Details changed by the service's operator",
        )


@admin.register(ProgressUpdate)
class ProgressUpdateAdmin(TenantOwnedAdmin):
    list_display = ("action", "author", "rag", "created_at", "tenant")
    list_filter = ("tenant", "rag")
    list_select_related = ("tenant", "action", "author")
    search_fields = ("text", "action__reference", "action__title")
    raw_id_fields = ("action", "author")


@admin.register(Evidence)
class EvidenceAdmin(TenantOwnedAdmin):
    """Evidence is added on the action page, where uploads are checked; here it can be read,
    described better, or removed."""

    list_display = ("description", "action", "original_name", "link", "size", "tenant")
    list_select_related = ("tenant", "action")
    search_fields = ("description", "original_name", "link")
    fields = (
        "tenant",
        "action",
        "description",
        "original_name",
        "link",
        "size",
        "content_type",
        "sha256",
        "uploaded_by",
        "uploaded_at",
    )
    readonly_fields = (
        "action",
        "original_name",
        "link",
        "size",
        "content_type",
        "sha256",
        "uploaded_by",
        "uploaded_at",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
