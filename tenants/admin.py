"""The operator's admin. Only staff reach it, and the tenant middleware lets them read across
tenants there; the same-organisation rules still hold on every save."""

import contextlib

from allauth.socialaccount.models import SocialApp, SocialToken
from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.http import HttpRequest

from tenants import services
from tenants.forms import UserChangeForm, UserCreationForm
from tenants.models import (
    AuditEntry,
    Membership,
    Partner,
    SignOffBody,
    SignOffBodyMember,
    SingleSignOn,
    Tenant,
    User,
)


def errors_for_form(form: forms.BaseForm, error: ValidationError) -> ValidationError:
    """Errors keyed by fields the form shows; the rest go above the form."""
    if not hasattr(error, "error_dict"):
        return error
    keyed: dict[str, list] = {}
    for name, errors in error.error_dict.items():
        keyed.setdefault(name if name in form.fields else NON_FIELD_ERRORS, []).extend(errors)
    return ValidationError(keyed)


class TenantOwnedAdminForm(forms.ModelForm):
    """Checks the same-organisation rules and the tenant's unique constraints before saving, so
    a cross-tenant relation is a form error rather than a failed save."""

    def _post_clean(self):
        super()._post_clean()
        if self.instance.tenant_id is None or self.has_error("tenant"):
            return
        try:
            self.instance.check_same_tenant()
            if "tenant" not in self.fields:
                # The tenant is read-only once set, which hides it from Django's own check of
                # constraints that include it.
                self.instance.validate_constraints(
                    exclude=self._get_validation_exclusions() - {"tenant"}
                )
        except ValidationError as error:
            self.add_error(None, errors_for_form(self, error))


class NeverDeleted(admin.ModelAdmin):
    """Rows that history points at (people, organisations, plans, actions, bodies) are never
    deleted: people are deactivated, actions withdrawn, and the rest kept so the record still
    says who did what."""

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class TenantOwnedAdmin(admin.ModelAdmin):
    form = TenantOwnedAdminForm
    list_filter = ("tenant",)
    list_select_related = ("tenant",)

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if obj is not None:
            # Moving a row to another organisation would strand everything related to it.
            readonly.append("tenant")
        return readonly


@admin.register(Tenant)
class TenantAdmin(NeverDeleted):
    list_display = ("name", "slug", "kind", "nation", "is_active")
    list_filter = ("kind", "nation", "is_active")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    # Changed with the rest of single sign-on, recorded (its admin page and the tenant's own).
    readonly_fields = ("single_sign_on_required",)


@admin.register(User)
class UserAdmin(NeverDeleted, DjangoUserAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    list_display = ("email", "full_name", "is_active", "is_staff")
    list_filter = ("is_staff", "is_superuser", "is_active")
    search_fields = ("email", "full_name")
    ordering = ("email",)
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Person", {"fields": ("full_name",)}),
        (
            "Access",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (
            None,
            {
                "classes": ("wide",),
                "fields": ("email", "full_name", "usable_password", "password1", "password2"),
            },
        ),
    )
    readonly_fields = ("last_login", "date_joined")


@admin.register(Partner)
class PartnerAdmin(NeverDeleted, TenantOwnedAdmin):
    list_display = ("name", "kind", "tenant", "contact")
    list_filter = ("tenant", "kind")
    search_fields = ("name",)
    raw_id_fields = ("contact",)
    list_select_related = ("tenant", "contact")


@admin.register(Membership)
class MembershipAdmin(NeverDeleted, TenantOwnedAdmin):
    """Read here only. People join an organisation by invitation and have their role changed or
    leave on its People page, whose services check the rules (the last administrator, what they
    lead) and record each change; the operator invites a new organisation's first administrator
    with ``manage.py create_tenant``."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    list_display = ("user", "tenant", "role", "partner")
    list_filter = ("tenant", "role")
    search_fields = ("user__email", "user__full_name")
    raw_id_fields = ("user", "partner")
    list_select_related = ("tenant", "user", "partner")


class SignOffBodyMemberInline(admin.TabularInline):
    """Members are added and removed through the services, which keep the body's permission
    group and quorum consistent; an existing row is never edited in place."""

    model = SignOffBodyMember
    fields = ("user",)
    raw_id_fields = ("user",)
    extra = 1
    verbose_name = "member"
    verbose_name_plural = "members"

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class SignOffBodyAdminForm(TenantOwnedAdminForm):
    class Meta:
        model = SignOffBody
        fields = ("tenant", "name", "kind", "chair", "quorum")

    def _post_clean(self):
        super()._post_clean()
        if self.instance.tenant_id is None or self.errors:
            return
        try:
            services.sign_off_body_validate(self.instance)
        except ValidationError as error:
            self.add_error(None, errors_for_form(self, error))


@admin.register(SignOffBody)
class SignOffBodyAdmin(NeverDeleted, TenantOwnedAdmin):
    form = SignOffBodyAdminForm
    list_display = ("name", "kind", "tenant", "chair", "quorum")
    list_filter = ("tenant", "kind")
    search_fields = ("name",)
    raw_id_fields = ("chair", "partner")
    readonly_fields = ("group",)
    inlines = (SignOffBodyMemberInline,)

    def get_fields(self, request: HttpRequest, obj=None):
        return ("tenant", "name", "kind", "partner", "chair", "quorum", "group")

    def save_model(self, request, obj: SignOffBody, form, change: bool) -> None:
        # The chair and quorum depend on the members, saved after this; they are applied in
        # save_related through the services.
        if change:
            current = SignOffBody.objects.get(pk=obj.pk)
            self._apply(
                request,
                services.sign_off_body_update,
                body=current,
                by=request.user,
                name=obj.name,
                kind=obj.kind,
                partner=obj.partner,
                chair=current.chair,
                quorum=current.quorum,
            )
            obj.chair_id, obj.quorum = current.chair_id, current.quorum
            return
        created = services.sign_off_body_create(
            tenant=obj.tenant, name=obj.name, kind=obj.kind, partner=obj.partner, by=request.user
        )
        obj.pk, obj.group_id, obj.quorum, obj.chair_id = created.pk, created.group_id, 1, None
        obj._state.adding = False
        obj._state.db = created._state.db

    def save_formset(self, request, form, formset, change: bool) -> None:
        if formset.model is not SignOffBodyMember:
            super().save_formset(request, form, formset, change)
            return
        body = form.instance
        formset.save(commit=False)
        for member in formset.deleted_objects:
            self._apply(
                request,
                services.sign_off_body_remove_member,
                body=body,
                user=member.user,
                by=request.user,
            )
        for member in formset.new_objects:
            self._apply(
                request,
                services.sign_off_body_add_member,
                body=body,
                user=member.user,
                by=request.user,
            )

    def save_related(self, request, form, formsets, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        body = SignOffBody.objects.get(pk=form.instance.pk)
        chair, quorum = form.cleaned_data.get("chair"), form.cleaned_data.get("quorum")
        if (chair.pk if chair else None) != body.chair_id:
            self._apply(
                request, services.sign_off_body_set_chair, body=body, chair=chair, by=request.user
            )
        if quorum and quorum != body.quorum:
            self._apply(
                request,
                services.sign_off_body_set_quorum,
                body=body,
                quorum=quorum,
                by=request.user,
            )

    def _apply(self, request: HttpRequest, service, **kwargs) -> None:
        try:
            service(**kwargs)
        except (ValidationError, PermissionDenied) as error:
            text = " ".join(getattr(error, "messages", [str(error)]))
            self.message_user(request, text, level=messages.ERROR)


class ReadOnlyAdmin(admin.ModelAdmin):
    """History is written only by the services; nobody edits or deletes it here."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnlyAdmin):
    list_display = ("at", "tenant", "subject_type", "subject_label", "actor_name", "summary")
    list_filter = ("tenant", "subject_type")
    list_select_related = ("tenant",)
    search_fields = ("summary", "subject_label", "actor_name")
    date_hierarchy = "at"


@admin.register(SingleSignOn)
class SingleSignOnAdmin(ReadOnlyAdmin):
    """Tenant administrators set single sign-on up on their own settings pages. The operator sees
    it here and can turn it off, for an organisation whose provider stopped working while it
    required it: its members then sign in with passwords (or reset one)."""

    list_display = ("tenant", "discovery_url", "client_id", "email_domains", "required")
    list_select_related = ("tenant",)
    fields = ("tenant", "discovery_url", "client_id", "email_domains", "required", "updated_at")
    readonly_fields = fields
    actions = ["turn_off"]

    @admin.display(description="Required", boolean=True)
    def required(self, config: SingleSignOn) -> bool:
        return config.tenant.single_sign_on_required

    @admin.action(description="Turn single sign-on off (members sign in with passwords)")
    def turn_off(self, request: HttpRequest, queryset) -> None:
        for config in list(queryset.select_related("tenant")):
            try:
                services.single_sign_on_remove(tenant=config.tenant, by=request.user)
            except (ValidationError, PermissionDenied) as error:
                self.message_user(request, f"{config.tenant}: {error}", messages.ERROR)
            else:
                self.message_user(request, f"Single sign-on turned off for {config.tenant}.")

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


# allauth's own provider settings and tokens are not used: each tenant's provider comes from its
# single sign-on settings, and tokens are not kept.
for _model in (SocialApp, SocialToken):
    with contextlib.suppress(admin.sites.NotRegistered):
        admin.site.unregister(_model)
