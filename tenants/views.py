"""Pages outside any tenant (choosing an organisation, the account pages allauth lacks) and the
tenant administrator's settings."""

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from tenants import services
from tenants.forms import (
    AuditFilterForm,
    OrganisationForm,
    SignOffBodyForm,
    SignOffBodyMemberForm,
)
from tenants.models import Capability, Membership, SignOffBody
from tenants.selectors import (
    audit_entries,
    memberships_of_user,
    people_in_audit,
    sign_off_bodies_of_tenant,
)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    """Choose the organisation to work in; someone in only one goes straight to its plans."""
    memberships = memberships_of_user(request.user)
    if len(memberships) == 1:
        return redirect("tenant_home", tenant_slug=memberships[0].tenant.slug)
    return render(request, "tenants/home.html", {"memberships": memberships})


@login_required
def password_change_done(request: HttpRequest) -> HttpResponse:
    return render(request, "account/password_change_done.html")


def not_offered(request: HttpRequest) -> HttpResponse:
    """An allauth page for something the service does not do: e-mail addresses are managed by
    administrators, and nobody signs in by code or confirms an address."""
    raise Http404("No such page.")


def require_capability(membership: Membership | None, capability: str) -> None:
    """Refuse a page to someone whose role does not allow ``capability`` here."""
    if membership is None or not membership.can(capability):
        raise PermissionDenied(CAPABILITY_REFUSALS[capability])


CAPABILITY_REFUSALS = {
    Capability.READ: "You are not a member of this organisation.",
    Capability.DELIVER: "Read-only viewers cannot do this.",
    Capability.MANAGE_ACTIONS: "Only managers and tenant administrators can do this.",
    Capability.ADMINISTER: "Only a tenant administrator can see and change these settings.",
}


@login_required
def settings_index(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    require_capability(request.membership, Capability.ADMINISTER)
    return render(request, "tenants/settings.html")


# -- the organisation and its sign-off bodies ---------------------------------------------------


def _service_errors(form: forms.Form, error: ValidationError) -> None:
    """A service's refusal beside the field it names, or above the form."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, error.messages)


@login_required
@require_http_methods(["GET", "POST"])
def organisation(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    require_capability(request.membership, Capability.ADMINISTER)
    form = OrganisationForm(
        request.POST or None,
        initial=None if request.method == "POST" else {"nation": request.tenant.nation},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.tenant_set_nation(
                tenant=request.tenant, by=request.user, nation=form.cleaned_data["nation"]
            )
        except ValidationError as error:
            _service_errors(form, error)
        else:
            messages.success(request, "Organisation details saved.")
            return redirect("organisation", tenant_slug=request.tenant.slug)
    return render(
        request,
        "tenants/organisation.html",
        {"form": form},
        status=400 if form.is_bound else 200,
    )


@login_required
def sign_off_bodies(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    require_capability(request.membership, Capability.ADMINISTER)
    return render(
        request,
        "tenants/sign_off_bodies.html",
        {"bodies": list(sign_off_bodies_of_tenant(tenant=request.tenant))},
    )


@login_required
@require_http_methods(["GET", "POST"])
def sign_off_body_new(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    require_capability(request.membership, Capability.ADMINISTER)
    form = SignOffBodyForm(request.POST or None, tenant=request.tenant)
    if request.method == "POST" and form.is_valid():
        try:
            body = services.sign_off_body_create(
                tenant=request.tenant, by=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            _service_errors(form, error)
        else:
            messages.success(request, f"{body} set up.")
            return redirect("sign_off_body", tenant_slug=request.tenant.slug, pk=body.pk)
    return render(
        request,
        "tenants/sign_off_body_form.html",
        {"form": form, "body": None},
        status=400 if form.is_bound else 200,
    )


def _body_or_404(request: HttpRequest, pk: int) -> SignOffBody:
    return get_object_or_404(sign_off_bodies_of_tenant(tenant=request.tenant), pk=pk)


def _render_body(
    request: HttpRequest, body: SignOffBody, *, form=None, member_form=None, status: int = 200
) -> HttpResponse:
    return render(
        request,
        "tenants/sign_off_body.html",
        {
            "body": body,
            "form": form
            or SignOffBodyForm(
                tenant=request.tenant, body=body, initial=SignOffBodyForm.initial_from(body)
            ),
            "member_form": member_form
            or SignOffBodyMemberForm(tenant=request.tenant, body=body, prefix="member"),
            "invalid_form": form if form is not None and form.errors else member_form,
        },
        status=status,
    )


@login_required
@require_http_methods(["GET", "POST"])
def sign_off_body(request: HttpRequest, tenant_slug: str, pk: int) -> HttpResponse:
    body = _body_or_404(request, pk)
    require_capability(request.membership, Capability.ADMINISTER)
    if request.method == "GET":
        return _render_body(request, body)
    form = SignOffBodyForm(request.POST, tenant=request.tenant, body=body)
    if form.is_valid():
        try:
            services.sign_off_body_update(body=body, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            _service_errors(form, error)
        else:
            messages.success(request, f"{form.cleaned_data['name']} saved.")
            return redirect("sign_off_body", tenant_slug=request.tenant.slug, pk=body.pk)
    return _render_body(request, body, form=form, status=400)


@login_required
@require_POST
def sign_off_body_members(request: HttpRequest, tenant_slug: str, pk: int) -> HttpResponse:
    """Add a member, or remove one (``remove`` names them)."""
    body = _body_or_404(request, pk)
    require_capability(request.membership, Capability.ADMINISTER)
    back = redirect("sign_off_body", tenant_slug=request.tenant.slug, pk=body.pk)
    if "remove" in request.POST:
        member = next(
            (row.user for row in body.member_rows if str(row.user_id) == request.POST["remove"]),
            None,
        )
        if member is None:
            messages.error(request, f"That person is not a member of {body}.")
            return back
        try:
            services.sign_off_body_remove_member(body=body, user=member, by=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            messages.success(request, f"{member} is no longer a member of {body}.")
        return back
    member_form = SignOffBodyMemberForm(
        request.POST, tenant=request.tenant, body=body, prefix="member"
    )
    if member_form.is_valid():
        user = member_form.cleaned_data["user"]
        try:
            services.sign_off_body_add_member(body=body, user=user, by=request.user)
        except ValidationError as error:
            _service_errors(member_form, error)
        else:
            messages.success(request, f"{user} is now a member of {body}.")
            return back
    return _render_body(request, body, member_form=member_form, status=400)


AUDIT_PAGE_SIZE = 50


@login_required
def audit_list(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    """Every recorded change here that is not a workflow step: who changed what, from what, to
    what, when and why."""
    require_capability(request.membership, Capability.ADMINISTER)
    tenant = request.tenant
    form = AuditFilterForm(request.GET or None, people=people_in_audit(tenant=tenant))
    valid = form.is_valid() if form.is_bound else True
    filters = form.cleaned_data if form.is_bound and valid else {}
    entries = audit_entries(
        tenant=tenant,
        subject_type=filters.get("subject") or "",
        actor=filters.get("actor"),
        since=filters.get("since"),
        until=filters.get("until"),
        q=(filters.get("q") or "").strip(),
    )
    page = Paginator(entries, AUDIT_PAGE_SIZE).get_page(request.GET.get("page") or 1)
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "tenants/audit.html",
        {
            "form": form,
            "page": page,
            "filter_query": query.urlencode() + "&" if query else "",
        },
        status=200 if valid else 400,
    )
