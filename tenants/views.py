"""Pages outside any tenant (choosing an organisation, the account pages allauth lacks) and the
tenant administrator's settings."""

import json
import logging

from allauth.core import ratelimit
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from tenants import selectors, services
from tenants.adapters import on_site
from tenants.forms import (
    AcceptInvitationForm,
    AuditFilterForm,
    InvitationForm,
    OrganisationForm,
    PartnerForm,
    PersonForm,
    SignOffBodyForm,
    SignOffBodyMemberForm,
    SingleSignOnFindForm,
    SingleSignOnForm,
    add_service_errors,
)
from tenants.models import (
    Invitation,
    Membership,
    Partner,
    SignOffBody,
    SingleSignOn,
    User,
    provider_id_of,
)
from tenants.rules import (
    Refusal,
    SecondFactorRequired,
    administer_refusal,
    enforce,
    removal_refusal,
)
from tenants.scoping import across_tenants
from tenants.selectors import (
    audit_entries,
    memberships_of_user,
    people_in_audit,
    sign_off_bodies_of_tenant,
)
from tenants.sso import sign_in_url, signed_in_with


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


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    """403: why, and where to set up a second factor when that is all that is missing."""
    context = {
        "exception": str(exception),
        "second_factor": isinstance(exception, SecondFactorRequired),
    }
    return render(request, "403.html", context, status=403)


def not_offered(request: HttpRequest) -> HttpResponse:
    """An allauth page for something the service does not do: e-mail addresses are managed by
    administrators, and nobody signs in by code or confirms an address."""
    raise Http404("No such page.")


policy_log = logging.getLogger("csp")
# A browser's report is a few hundred bytes; anything much larger is not one.
POLICY_REPORT_MAX_BYTES = 16 * 1024
POLICY_REPORT_FIELDS = ("document-uri", "effective-directive", "blocked-uri", "source-file")


@csrf_exempt
@require_POST
def policy_report(request: HttpRequest) -> HttpResponse:
    """Where browsers report what the Content-Security-Policy refused (``report-uri``).

    Every page is tested in Chromium for violations, so in production one means a page the
    tests missed, a browser extension, or an injection attempt: each is logged as a warning for
    the operator. Browsers post without a CSRF token or a session; the report is only logged,
    each value cut short and quoted, so nothing a stranger posts reaches anything else.
    """
    try:
        declared = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        declared = 0
    if not 0 < declared <= POLICY_REPORT_MAX_BYTES:
        return HttpResponse("A policy report is a small JSON document.", status=400)
    try:
        report = json.loads(request.body)["csp-report"]
        fields = {name: str(report.get(name, ""))[:200] for name in POLICY_REPORT_FIELDS}
        line = int(report.get("line-number") or 0)
    except (ValueError, TypeError, KeyError, AttributeError):
        return HttpResponse("A policy report is a small JSON document.", status=400)
    policy_log.warning(
        "Content-Security-Policy refused %r on %r: %r (%r, line %d)",
        fields["effective-directive"],
        fields["document-uri"],
        fields["blocked-uri"],
        fields["source-file"],
        line,
    )
    return HttpResponse(status=204)


def administers(request: HttpRequest) -> bool:
    """Whether this person may administer the organisation of the page: what the navigation and
    the pages ask before offering a settings link or button."""
    return _administration_refusal(request) is None


def require_administrator(request: HttpRequest) -> None:
    """Refuse a settings page, 403, to anyone who may not administer this organisation."""
    enforce(_administration_refusal(request))


def _administration_refusal(request: HttpRequest) -> Refusal | None:
    return administer_refusal(
        by=request.user,
        tenant=request.tenant,
        membership=request.membership,
        what="see and change these settings",
    )


@login_required
def settings_index(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    require_administrator(request)
    return render(request, "tenants/settings.html")


# -- people ------------------------------------------------------------------------------------
# Objects are found through queries filtered to request.tenant, so another organisation's id is
# the same 404 as a missing one; refusals of a role come after that, as 403.


@login_required
def people(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    require_administrator(request)
    return render(
        request,
        "tenants/people.html",
        {
            "people": list(selectors.people_of_tenant(tenant=request.tenant)),
            "invitations": list(selectors.invitations_waiting(tenant=request.tenant)),
        },
    )


@login_required
def invitation_new(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    require_administrator(request)
    form = InvitationForm(request.POST or None, tenant=request.tenant)
    pending = None
    if request.method == "POST" and form.is_valid():
        try:
            invitation = services.invitation_create(
                tenant=request.tenant, by=request.user, **form.cleaned_data
            )
        except services.InvitationPending as error:
            pending = error.invitation
            add_service_errors(form, error)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"Invitation sent to {invitation.email}.")
            return redirect("people", tenant_slug=request.tenant.slug)
    return render(
        request,
        "tenants/invitation_form.html",
        {"form": form, "pending": pending, "invitation_days": settings.INVITATION_DAYS},
        status=400 if form.is_bound else 200,
    )


def _invitation(request: HttpRequest, pk: int) -> Invitation:
    return get_object_or_404(Invitation.objects.filter(tenant=request.tenant), pk=pk)


@login_required
@require_POST
def invitation_resend(request: HttpRequest, tenant_slug: str, pk: int) -> HttpResponse:
    invitation = _invitation(request, pk)
    require_administrator(request)
    try:
        services.invitation_resend(invitation=invitation, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            f"Invitation sent again to {invitation.email}. The earlier link no longer works.",
        )
    return redirect("people", tenant_slug=request.tenant.slug)


@login_required
@require_POST
def invitation_cancel(request: HttpRequest, tenant_slug: str, pk: int) -> HttpResponse:
    invitation = _invitation(request, pk)
    require_administrator(request)
    try:
        services.invitation_cancel(invitation=invitation, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request, f"Invitation to {invitation.email} cancelled. Its link no longer works."
        )
    return redirect("people", tenant_slug=request.tenant.slug)


def _member(request: HttpRequest, user_id: int) -> Membership:
    membership = selectors.member_of(tenant=request.tenant, user_id=user_id)
    if membership is None:
        raise Http404("No such page.")
    return membership


@login_required
def person(request: HttpRequest, tenant_slug: str, user_id: int) -> HttpResponse:
    """Change a member's role and agency; the way to remove them, or why it cannot be done."""
    membership = _member(request, user_id)
    require_administrator(request)
    form = PersonForm(
        request.POST or None,
        tenant=request.tenant,
        initial={"role": membership.role, "partner": membership.partner},
    )
    if request.method == "POST" and form.is_valid():
        try:
            changed = services.membership_change(
                membership=membership, by=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"{membership.user}'s role and partner agency are saved.")
            if changed.user_id == request.user.pk and administer_refusal(
                by=request.user, tenant=request.tenant, membership=changed
            ):
                # Someone who has just stepped down as administrator can no longer see People.
                return redirect("tenant_home", tenant_slug=request.tenant.slug)
            return redirect("people", tenant_slug=request.tenant.slug)
    return render(
        request,
        "tenants/person.html",
        {
            "person": membership.user,
            "member": membership,
            "form": form,
            "removal_refusal": removal_refusal(by=request.user, membership=membership),
        },
        status=400 if form.is_bound else 200,
    )


@login_required
def person_remove(request: HttpRequest, tenant_slug: str, user_id: int) -> HttpResponse:
    """Confirm taking a person out of the organisation; refused with the reasons while something
    still needs them."""
    membership = _member(request, user_id)
    require_administrator(request)
    refusal = removal_refusal(by=request.user, membership=membership)
    if request.method == "POST" and refusal is None:
        try:
            services.membership_remove(membership=membership, by=request.user)
        except ValidationError as error:
            refusal = Refusal(" ".join(error.messages), not_now=True)
        else:
            messages.success(
                request, f"{membership.user} no longer has access to {request.tenant.name}."
            )
            return redirect("people", tenant_slug=request.tenant.slug)
    return render(
        request,
        "tenants/person_remove.html",
        {"person": membership.user, "member": membership, "refusal": refusal},
        status=409 if request.method == "POST" and refusal else 200,
    )


# -- partner agencies ---------------------------------------------------------------------------


@login_required
def partners(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    require_administrator(request)
    found = list(selectors.partners_of_tenant(tenant=request.tenant))
    invited = selectors.invitations_pending_for_partners(tenant=request.tenant)
    for partner in found:
        # Shown as the coming contact while the agency has none.
        partner.invited = invited.get(partner.pk)
    return render(request, "tenants/partners.html", {"partners": found})


def _partner_form_page(request: HttpRequest, partner: Partner | None) -> HttpResponse:
    initial = (
        {"name": partner.name, "kind": partner.kind, "contact": partner.contact_id}
        if partner is not None
        else None
    )
    form = PartnerForm(request.POST or None, tenant=request.tenant, initial=initial)
    if request.method == "POST" and form.is_valid():
        values = {
            "by": request.user,
            "name": form.cleaned_data["name"],
            "kind": form.cleaned_data["kind"],
            "contact": form.cleaned_data["contact"],
            "invite_contact": form.invite_contact,
        }
        try:
            if partner is None:
                saved, invitation = services.partner_add(tenant=request.tenant, **values)
            else:
                saved, invitation = services.partner_update(partner=partner, **values)
        except services.InvitationPending as error:
            form.add_error(
                "contact_email",
                f"{error.invitation.email} already has an invitation waiting. Send it again "
                "from the people page, or choose another contact.",
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            done = f"{saved.name} saved."
            if invitation is not None:
                done += (
                    f" {invitation.full_name} is invited and becomes the named contact when they "
                    "accept."
                )
            messages.success(request, done)
            return redirect("partners", tenant_slug=request.tenant.slug)
    return render(
        request,
        "tenants/partner_form.html",
        {"form": form, "partner": partner},
        status=400 if form.is_bound else 200,
    )


@login_required
def partner_new(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    require_administrator(request)
    return _partner_form_page(request, None)


@login_required
def partner_edit(request: HttpRequest, tenant_slug: str, pk: int) -> HttpResponse:
    partner = get_object_or_404(Partner.objects.filter(tenant=request.tenant), pk=pk)
    require_administrator(request)
    return _partner_form_page(request, partner)


# -- accepting an invitation, outside any tenant -------------------------------------------------


def _broken_link(request: HttpRequest, problem: str) -> HttpResponse:
    return render(request, "tenants/invitation_broken.html", {"problem": problem}, status=404)


def invitation_accept(request: HttpRequest, pk: int, token: str) -> HttpResponse:
    """The e-mailed link. A new person chooses a password; someone who already signs in with the
    address signs in and accepts. Either way the membership is made in one step and they arrive
    at the organisation's home page."""
    # Opening a link counts as well as posting one: the link itself is what a guess tries.
    limited = ratelimit.consume_or_429(request, action="invitation", limit_get=True)
    if limited is not None:
        return limited
    with across_tenants():
        invitation = Invitation.objects.select_related("tenant").filter(pk=pk).first()
    if invitation is None or not services.invitation_token_matches(invitation, token):
        return _broken_link(request, services.invitation_link_problem(None))
    problem = services.invitation_link_problem(invitation)
    if problem or not invitation.tenant.is_active:
        return _broken_link(request, problem or "This organisation no longer uses the service.")

    account = User.objects.filter(email__iexact=invitation.email).first()
    new_person = services.needs_password(account)
    form = (
        AcceptInvitationForm(request.POST or None, initial={"full_name": invitation.full_name})
        if new_person
        else None
    )
    signed_in = request.user if request.user.is_authenticated else None
    status = 200
    if request.method == "POST" and (form is None or form.is_valid()):
        data = form.cleaned_data if form is not None else {}
        try:
            invitation, user = services.invitation_accept(
                invitation_id=pk,
                token=token,
                signed_in=signed_in,
                full_name=data.get("full_name", ""),
                password=data.get("password1", ""),
            )
        except services.InvitationLinkBroken as error:
            return _broken_link(request, " ".join(error.messages))
        except PermissionDenied:
            status = 403
        except ValidationError as error:
            add_service_errors(form, error)
            status = 400
        else:
            if signed_in is None or signed_in.pk != user.pk:
                login(request, user, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome to {invitation.tenant.name}.")
            return redirect("tenant_home", tenant_slug=invitation.tenant.slug)
    elif request.method == "POST":
        status = 400
    return render(
        request,
        "tenants/invitation_accept.html",
        {
            "invitation": invitation,
            "form": form,
            "signed_in_as_invited": signed_in is not None
            and account is not None
            and signed_in.pk == account.pk,
        },
        status=status,
    )


AUDIT_PAGE_SIZE = 50


@login_required
def audit_list(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    """Every recorded change here that is not a workflow step: who changed what, from what, to
    what, when and why."""
    require_administrator(request)
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


# -- the organisation and its sign-off bodies ---------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def organisation(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    require_administrator(request)
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
            add_service_errors(form, error)
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
    require_administrator(request)
    return render(
        request,
        "tenants/sign_off_bodies.html",
        {"bodies": list(sign_off_bodies_of_tenant(tenant=request.tenant))},
    )


@login_required
@require_http_methods(["GET", "POST"])
def sign_off_body_new(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    require_administrator(request)
    form = SignOffBodyForm(request.POST or None, tenant=request.tenant)
    if request.method == "POST" and form.is_valid():
        try:
            body = services.sign_off_body_create(
                tenant=request.tenant, by=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            add_service_errors(form, error)
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
    require_administrator(request)
    if request.method == "GET":
        return _render_body(request, body)
    form = SignOffBodyForm(request.POST, tenant=request.tenant, body=body)
    if form.is_valid():
        try:
            services.sign_off_body_update(body=body, by=request.user, **form.cleaned_data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, f"{form.cleaned_data['name']} saved.")
            return redirect("sign_off_body", tenant_slug=request.tenant.slug, pk=body.pk)
    return _render_body(request, body, form=form, status=400)


@login_required
@require_POST
def sign_off_body_members(request: HttpRequest, tenant_slug: str, pk: int) -> HttpResponse:
    """Add a member, or remove one (``remove`` names them)."""
    body = _body_or_404(request, pk)
    require_administrator(request)
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
            add_service_errors(member_form, error)
        else:
            messages.success(request, f"{user} is now a member of {body}.")
            return back
    return _render_body(request, body, member_form=member_form, status=400)


AUDIT_PAGE_SIZE = 50


# -- single sign-on ----------------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def single_sign_on(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    require_administrator(request)
    tenant = request.tenant
    config = SingleSignOn.objects.filter(tenant=tenant).first()
    initial = {"required": "yes" if tenant.single_sign_on_required else "no"}
    if config is not None:
        initial |= {
            "directory": config.discovery_url,
            "client_id": config.client_id,
            "email_domains": " ".join(config.domains),
        }
    form = SingleSignOnForm(
        request.POST or None,
        initial=None if request.method == "POST" else initial,
        secret_stored=config is not None and bool(config.client_secret_sealed),
    )
    found = None
    if request.method == "POST" and form.is_valid():
        values = form.cleaned_data
        try:
            if request.POST.get("action") == "check":
                found = services.single_sign_on_check(directory=values["directory"])
            else:
                services.single_sign_on_update(
                    tenant=tenant,
                    by=request.user,
                    directory=values["directory"],
                    client_id=values["client_id"],
                    client_secret=values["client_secret"] or None,
                    email_domains=values["email_domains"],
                    required=values["required"] == "yes",
                    signed_in_with_it=signed_in_with(request, tenant),
                )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            if found is None:
                messages.success(request, "Single sign-on settings saved.")
                return redirect("single_sign_on", tenant_slug=tenant.slug)
    if form.errors and form.data.get("client_secret") and "client_secret" not in form.errors:
        form.add_error(
            "client_secret", "Nothing was saved: enter the secret again, it is not shown back."
        )
    return render(
        request,
        "tenants/single_sign_on.html",
        {
            "form": form,
            "config": config,
            "found": found,
            "redirect_uri": on_site(
                reverse(
                    "openid_connect_callback", kwargs={"provider_id": provider_id_of(tenant.slug)}
                )
            ),
        },
        status=400 if form.errors else 200,
    )


@login_required
@require_POST
def single_sign_on_remove(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    require_administrator(request)
    try:
        services.single_sign_on_remove(tenant=request.tenant, by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Single sign-on turned off: members sign in with passwords.")
    return redirect("single_sign_on", tenant_slug=request.tenant.slug)


@require_http_methods(["GET", "POST"])
def single_sign_on_find(request: HttpRequest) -> HttpResponse:
    """Sign in with your organisation's account: the organisation is found from the domain of
    the address typed, and its own sign-in service asked."""
    form = SingleSignOnFindForm(request.POST or None)
    choices = []
    next_url = request.POST.get("next") or request.GET.get("next") or ""
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = ""
    if request.method == "POST" and form.is_valid():
        domain = form.cleaned_data["email"].rsplit("@", 1)[1].lower()
        choices = [
            (tenant, sign_in_url(tenant, next_url))
            for tenant in selectors.tenants_signing_in_with(domain=domain)
        ]
        if len(choices) == 1:
            return redirect(choices[0][1])
        if not choices:
            form.add_error(
                "email",
                "No organisation signs in with addresses like this one. Sign in with your "
                "password instead.",
            )
    return render(
        request,
        "tenants/single_sign_on_find.html",
        {"form": form, "choices": choices, "next": next_url},
        status=400 if form.errors else 200,
    )
