"""Pages for notifications: a person's list in a tenant and their e-mail preference, and the
tenant administrator's escalation policy and undelivered messages.

Like the plan pages, objects are found through queries filtered to ``request.tenant`` (and, for
notifications, to the person), so someone else's id is the same 404 as a missing one; refusals
of a role come after that, as 403.
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from notifications import selectors, services
from notifications.forms import EscalationPolicyForm, NotificationPreferenceForm
from tenants.forms import add_service_errors
from tenants.views import require_administrator

PER_PAGE = 50


def _inside_service(request: HttpRequest, link: str) -> str:
    """The notification's link if it points into this service; the list otherwise, so a
    notification can never send anyone to another site."""
    if link.startswith("/") and url_has_allowed_host_and_scheme(
        link, allowed_hosts={request.get_host()}
    ):
        return link
    return reverse("notifications", kwargs={"tenant_slug": request.tenant.slug})


# -- a person's notifications ---------------------------------------------------------------


@login_required
def notification_list(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    page = Paginator(
        selectors.notifications_of_user(tenant=request.tenant, user=request.user), PER_PAGE
    ).get_page(request.GET.get("page"))
    return render(request, "notifications/notification_list.html", {"page": page})


@login_required
@require_POST
def notifications_mark_all_read(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    marked = services.notifications_mark_read(tenant=request.tenant, user=request.user)
    if marked:
        messages.success(
            request, f"{marked} notification{'s' if marked != 1 else ''} marked as read."
        )
    return redirect("notifications", tenant_slug=request.tenant.slug)


@login_required
@require_POST
def notification_read(request: HttpRequest, tenant_slug: str, pk: int) -> HttpResponse:
    notification = get_object_or_404(
        selectors.notifications_of_user(tenant=request.tenant, user=request.user), pk=pk
    )
    services.notifications_mark_read(tenant=request.tenant, user=request.user, ids=[pk])
    return redirect(_inside_service(request, notification.link))


@login_required
def notification_settings(request: HttpRequest) -> HttpResponse:
    """Outside any tenant: one preference covers every organisation the person belongs to.
    E-mails link here, so the path is part of what has been sent out."""
    form = NotificationPreferenceForm(
        request.POST or None,
        initial={"events": selectors.events_preference_of(user=request.user)},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.notification_preference_set(
                user=request.user, events=form.cleaned_data["events"]
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "Your choice is saved.")
            return redirect("notification_settings")
    status = 400 if form.is_bound else 200
    return render(
        request, "notifications/notification_settings.html", {"form": form}, status=status
    )


# -- the tenant administrator's pages ---------------------------------------------------------


@login_required
def escalation_settings(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    require_administrator(request)
    policy = selectors.escalation_policy_of(tenant=request.tenant)
    settings = selectors.channel_settings_of(tenant=request.tenant)
    form = EscalationPolicyForm(
        request.POST or None,
        settings=settings,
        initial=None
        if request.method == "POST"
        else EscalationPolicyForm.initial_from(policy, settings),
    )
    if request.method == "POST" and form.is_valid():
        try:
            # A blank secret keeps the stored one: the page never has it to send back.
            services.escalation_policy_update(
                tenant=request.tenant, by=request.user, **form.cleaned_data
            )
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            messages.success(request, "Escalation settings saved.")
            return redirect("escalation_settings", tenant_slug=request.tenant.slug)
    if form.is_bound:
        for name in form.secret_fields():
            if form.data.get(name) and name not in form.errors:
                # The typed secret is not shown back, so it would be lost without a word.
                form.add_error(
                    name,
                    f"Nothing was saved: enter {form.fields[name].rule.what} again, "
                    "it is not shown back.",
                )
    status = 400 if form.is_bound else 200
    return render(
        request,
        "notifications/escalation_settings.html",
        {"form": form, "policy": policy},
        status=status,
    )


@login_required
def messages_not_sent(request: HttpRequest, tenant_slug: str) -> HttpResponse:
    require_administrator(request)
    page = Paginator(selectors.messages_not_sent(tenant=request.tenant), PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "notifications/messages_not_sent.html",
        {"page": page, "stale_minutes": int(selectors.STALE_PENDING_AFTER.total_seconds() // 60)},
    )


@login_required
@require_POST
def message_send_again(request: HttpRequest, tenant_slug: str, pk: int) -> HttpResponse:
    message = get_object_or_404(
        selectors.messages_of_tenant(tenant=request.tenant).select_related("recipient"), pk=pk
    )
    require_administrator(request)
    try:
        services.message_retry(message=message, by=request.user, tenant=request.tenant)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            f"The e-mail to {message.to} will be sent again in the next few minutes.",
        )
    return redirect("messages_not_sent", tenant_slug=request.tenant.slug)
