import datetime

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from plans import services
from plans.frameworks.held import held_file, hold_file, release_file
from plans.frameworks.reading import MAX_BYTES, MAX_ROWS
from plans.frameworks.services import FrameworkImport, FrameworkImportRefused, framework_import
from plans.models import (
    Action,
    ActionPlan,
    Evidence,
    Framework,
    PlanImport,
    ProgressUpdate,
    PublishedReport,
    QuarantinedEvidence,
    Recommendation,
    Theme,
)
from plans.workflows import (
    ACTION_WORKFLOW,
    PLAN_WORKFLOW,
    endorsing_body_change_refusal,
    framework_change_refusal,
    sign_off_revoke_refusal,
)
from tenants.admin import (
    NeverDeleted,
    ReadOnlyAdmin,
    TenantOwnedAdmin,
    TenantOwnedAdminForm,
    errors_for_form,
)
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


class FrameworkImportAdminForm(forms.Form):
    title = forms.CharField(max_length=300)
    short_name = forms.CharField(
        max_length=60,
        help_text="For example laming-2009. A national framework with this short name, such as "
        "an outline, is updated in place: recommendations are matched by number.",
    )
    published = forms.DateField(required=False, help_text="YYYY-MM-DD")
    source = forms.CharField(
        max_length=300, required=False, help_text="Where the text comes from (kept if blank)."
    )
    file = forms.FileField(
        help_text=f"CSV (UTF-8) or Excel workbook (.xlsx), at most {MAX_BYTES // (1024 * 1024)} "
        f"MB and {MAX_ROWS:,} recommendations; columns as in docs/framework-import.md."
    )


@admin.register(Framework)
class FrameworkAdmin(admin.ModelAdmin):
    list_display = ("title", "short_name", "scope", "published", "is_outline")
    list_filter = (("tenant", admin.EmptyFieldListFilter), "is_outline")
    search_fields = ("title", "short_name")
    list_select_related = ("tenant",)
    inlines = (ThemeInline, RecommendationInline)
    change_list_template = "admin/plans/framework/change_list.html"

    @admin.display(description="Organisation")
    def scope(self, framework: Framework) -> str:
        return str(framework.tenant) if framework.tenant_id else "National"

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        # Themes and recommendations belong to their framework's tenant, like the framework.
        for obj in formset.save(commit=False):
            obj.tenant_id = form.instance.tenant_id
            obj.save()
        for obj in formset.deleted_objects:
            obj.delete()
        formset.save_m2m()

    def get_urls(self):
        return [
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="plans_framework_import",
            ),
            *super().get_urls(),
        ]

    def import_view(self, request: HttpRequest) -> HttpResponse:
        """Import a national framework from a file: check it, see every problem or a summary,
        then confirm. The same service as the management command and the tenants' pages."""
        if not (self.has_add_permission(request) and self.has_change_permission(request)):
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Import a national framework from a file",
        }
        if request.method == "POST" and request.POST.get("token"):
            return self._import_confirm(request, context)
        form = FrameworkImportAdminForm(request.POST or None, request.FILES or None)
        report = None
        if request.method == "POST" and form.is_valid():
            details = {
                "title": form.cleaned_data["title"],
                "short_name": form.cleaned_data["short_name"],
                "published": form.cleaned_data["published"],
                "source": form.cleaned_data["source"],
            }
            report = framework_import(
                file=form.cleaned_data["file"],
                tenant=None,
                by=request.user,
                dry_run=True,
                **details,
            )
            if report.ok:
                details["published"] = details["published"] and details["published"].isoformat()
                context["token"] = hold_file(
                    request, tenant_id=None, upload=form.cleaned_data["file"], details=details
                )
        context.update(form=form, report=report)
        status = 400 if form.is_bound and (form.errors or (report and not report.ok)) else 200
        return TemplateResponse(
            request, "admin/plans/framework/import.html", context, status=status
        )

    def _import_confirm(self, request: HttpRequest, context: dict) -> HttpResponse:
        held = held_file(request, tenant_id=None, token=request.POST["token"])
        if held is None:
            messages.error(request, "That check is no longer available: upload the file again.")
            return redirect("admin:plans_framework_import")
        details = dict(held.details)
        if details.get("published"):
            details["published"] = datetime.date.fromisoformat(details["published"])
        try:
            report: FrameworkImport = framework_import(
                file=held.file, tenant=None, by=request.user, **details
            )
        except FrameworkImportRefused as refused:
            release_file(request, held.token)
            context.update(form=FrameworkImportAdminForm(), report=refused.report)
            return TemplateResponse(
                request, "admin/plans/framework/import.html", context, status=400
            )
        release_file(request, held.token)
        messages.success(
            request,
            f"{report.framework.title} imported: {len(report.themes)} themes, "
            f"{report.recommendation_count} recommendations.",
        )
        return redirect(reverse("admin:plans_framework_change", args=[report.framework.pk]))


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
    """The operator adds an action or changes its details under the rules of a manager's page:
    the services' own checks answer here, beside the fields, before the admin saves through the
    same services. The admin sets ``by``, the signed-in operator."""

    by = None
    reason = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        label="Why the change",
        help_text="Needed when the due date moves later; kept in the action's history.",
    )

    def details(self) -> dict:
        """The details the operator set: every one for a new action, only those changed for an
        existing one, as a manager's page sends them."""
        names = services.ACTION_DETAIL_FIELDS & set(self.fields)
        if self.instance.pk:
            names &= set(self.changed_data)
        return {name: self.cleaned_data.get(name) for name in names}

    def _post_clean(self):
        super()._post_clean()
        action = self.instance
        if action.tenant_id is None or action.plan_id is None or self.errors:
            return
        try:
            if action.pk:
                services.action_update_clean(
                    action=Action.objects.select_related("plan__partner").get(pk=action.pk),
                    by=self.by,
                    reason=self.cleaned_data.get("reason", ""),
                    **self.details(),
                )
            else:
                services.action_create_clean(plan=action.plan, by=self.by, **self.details())
        except ValidationError as error:
            self.add_error(None, errors_for_form(self, error))
        except PermissionDenied as refusal:
            self.add_error(None, str(refusal))


@admin.register(ActionPlan)
class ActionPlanAdmin(NeverDeleted, TenantOwnedAdmin):
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
class ActionAdmin(NeverDeleted, TenantOwnedAdmin):
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
        "reason",
        "sign_off_body",
        "completion_statement",
        "state",
        "evidence_submitted_by",
        "state_changes",
        "created_at",
        "updated_at",
    )
    readonly_fields = (
        # Written by whoever delivers the action, on its page: it is part of what they did.
        "completion_statement",
        "state",
        "evidence_submitted_by",
        "state_changes",
        "created_at",
        "updated_at",
    )
    raw_id_fields = ("plan", "lead_officer", "lead_partner", "sign_off_body")
    actions = transition_actions(ACTION_WORKFLOW)

    def get_fields(self, request: HttpRequest, obj=None):
        fields = super().get_fields(request, obj)
        # A new action has no history to give a reason in.
        return fields if obj is not None else [name for name in fields if name != "reason"]

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            # An action moves to another plan only by being adopted, on the plan's pages.
            readonly.append("plan")
        return readonly

    def get_form(self, request: HttpRequest, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.by = request.user
        return form

    def save_model(self, request: HttpRequest, obj: Action, form, change: bool) -> None:
        # Through the services, which check again on the locked rows and record the change
        # as they record a manager's.
        details = form.details()
        if change:
            saved = services.action_update(
                action=obj, by=request.user, reason=form.cleaned_data.get("reason", ""), **details
            )
            obj.updated_at = saved.updated_at
            return
        created = services.action_create(plan=obj.plan, by=request.user, **details)
        obj.pk, obj.created_at, obj.updated_at = created.pk, created.created_at, created.updated_at
        obj._state.adding = False
        obj._state.db = created._state.db


@admin.register(ProgressUpdate)
class ProgressUpdateAdmin(ReadOnlyAdmin, TenantOwnedAdmin):
    """What an officer reported, when: a record, read here and never rewritten."""

    list_display = ("action", "author", "rag", "created_at", "tenant")
    list_filter = ("tenant", "rag")
    list_select_related = ("tenant", "action", "author")
    search_fields = ("text", "action__reference", "action__title")
    raw_id_fields = ("action", "author")


@admin.register(PlanImport)
class PlanImportAdmin(ReadOnlyAdmin, TenantOwnedAdmin):
    """An existing plan brought in from a file, with its history: who, when, which file. Made on
    the plan's pages; the history it wrote is read, never rewritten."""

    list_display = ("at", "plan", "file_name", "by", "actions", "steps", "tenant")
    list_filter = ("tenant",)
    list_select_related = ("tenant", "plan", "by")
    search_fields = ("file_name", "sha256", "plan__title")


@admin.register(Evidence)
class EvidenceAdmin(ReadOnlyAdmin, TenantOwnedAdmin):
    """Evidence is added on the action page, where uploads are checked; what a board signed off
    on must stay as it was, so here it is only read."""

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


@admin.register(QuarantinedEvidence)
class QuarantinedEvidenceAdmin(ReadOnlyAdmin, TenantOwnedAdmin):
    """Files the virus scanner has not yet checked, and why the last try failed: read here to
    see that the scanner is down; the scheduled scan accepts or refuses each, nothing else."""

    list_display = (
        "original_name",
        "action",
        "uploaded_at",
        "attempts",
        "last_attempt_at",
        "last_problem",
        "tenant",
    )
    list_filter = ("tenant",)
    list_select_related = ("tenant", "action")
    search_fields = ("original_name", "description", "action__reference")
    raw_id_fields = ("action", "uploaded_by")


@admin.register(PublishedReport)
class PublishedReportAdmin(ReadOnlyAdmin, TenantOwnedAdmin):
    """A report as a committee received it: kept byte for byte, never changed or deleted."""

    list_display = ("meeting", "meeting_date", "plan", "as_of", "format", "published_at", "tenant")
    list_filter = ("tenant", "format")
    list_select_related = ("tenant", "plan")
    search_fields = ("meeting", "file_name", "sha256")
    fields = (
        "tenant",
        "plan",
        "meeting",
        "meeting_date",
        "as_of",
        "since",
        "format",
        "file_name",
        "size",
        "sha256",
        "published_by",
        "published_at",
    )
    readonly_fields = fields
