"""GOV.UK Frontend components for every page: the service navigation, breadcrumbs and tags.

Page-level components are govuk-frontend-django's dataclasses rendered through the
govuk-frontend-jinja macros it depends on. The package builds a new Jinja environment for every
render (about 50 ms for the navigation); one shared environment with its compiled templates
cached brings that under a millisecond. Tags, drawn once per row on long lists, are written
straight out in the component's markup so a 2,000-row page does not call a template per cell.
"""

from __future__ import annotations

import dataclasses
from functools import cache
from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe
from govuk_frontend_django.components.base import GovUKComponent
from govuk_frontend_django.components.breadcrumbs import BreadcrumbsItems, GovUKBreadcrumbs
from govuk_frontend_django.components.service_navigation import (
    GovUKServiceNavigation,
    ServiceNavigationNavigation,
)
from jinja2 import Environment, PackageLoader, PrefixLoader, select_autoescape

from tenants.rules import Refusal, administer_refusal

register = template.Library()

SERVICE_NAME = "Safeguarding action plans"

_environment = Environment(
    loader=PrefixLoader({"govuk_frontend_jinja": PackageLoader("govuk_frontend_jinja")}),
    autoescape=select_autoescape(default_for_string=True),
    auto_reload=False,
)


@cache
def _macro(component_class: type[GovUKComponent]):
    return _environment.from_string(
        "{%- from '" + component_class._jinja2_template + "' import "
        f"{component_class._macro_name} -%}}{{{{ {component_class._macro_name}(data) }}}}"
    )


def _without_none(value: Any) -> Any:
    # The macros test "is the parameter given", so an explicit None must be left out.
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def render_component(component: GovUKComponent) -> SafeString:
    data = _without_none(dataclasses.asdict(component))
    return mark_safe(_macro(type(component)).render(data=data))


# Each tenant page's place in the navigation: the URL names that count as "in" each item.
_SECTIONS = (
    ("Home", "tenant_home", ("tenant_home",)),
    (
        "Plans",
        "plans",
        (
            "plans",
            "plan",
            "plan_step",
            "plan_transition",
            "action",
            "action_new",
            "action_edit",
            "action_step",
            "action_transition",
            "report",
            "report_publish",
        ),
    ),
    ("Dashboard", "dashboard", ("dashboard",)),
    ("My actions", "my_actions", ("my_actions",)),
    ("Notifications", "notifications", ("notifications",)),
)
# Every settings page lives under ``settings/``; the one navigation item covers them all.
_SETTINGS = ("Settings", "settings")


@register.simple_tag(takes_context=True)
def service_navigation(context) -> SafeString:
    request = context.get("request")
    tenant = context.get("tenant")
    membership = context.get("membership")
    items = []
    if tenant is not None and request is not None and request.user.is_authenticated:
        current = request.resolver_match.url_name if request.resolver_match else None
        sections = list(_SECTIONS)
        refusal = (
            administer_refusal(by=request.user, tenant=tenant, membership=membership)
            if membership is not None
            else Refusal("")
        )
        # An administrator still to set up a second factor is shown the way: the settings
        # page says what to do first.
        if refusal is None or refusal.second_factor:
            settings_url = reverse(_SETTINGS[1], kwargs={"tenant_slug": tenant.slug})
            in_settings = request.path.startswith(settings_url)
            sections.append((*_SETTINGS, (current,) if in_settings else ()))
        unread = context.get("notifications_unread")
        for text, url_name, names in sections:
            html = None
            if url_name == "notifications" and unread:
                html = format_html(
                    '{} <strong class="govuk-tag govuk-tag--red app-count">{}'
                    '<span class="govuk-visually-hidden"> unread</span></strong>',
                    text,
                    unread,
                )
            items.append(
                ServiceNavigationNavigation(
                    text=None if html else text,
                    html=html,
                    href=reverse(url_name, kwargs={"tenant_slug": tenant.slug}),
                    active=current in names or None,
                )
            )
    home = reverse("tenant_home", kwargs={"tenant_slug": tenant.slug}) if tenant else "/"
    return render_component(
        GovUKServiceNavigation(
            serviceName=SERVICE_NAME,
            serviceUrl=home,
            navigation=items,
            navigationLabel="Main menu",
        )
    )


@register.simple_tag
def breadcrumbs(*pairs: Any) -> SafeString:
    """``{% breadcrumbs "Plans" plans_url plan.title plan_url %}``: text and address in pairs, or
    one list of them."""
    if len(pairs) == 1 and isinstance(pairs[0], list | tuple):
        pairs = tuple(pairs[0])
    if len(pairs) % 2:
        raise template.TemplateSyntaxError("breadcrumbs takes text and address in pairs.")
    items = [
        BreadcrumbsItems(text=str(pairs[i]), href=str(pairs[i + 1]))
        for i in range(0, len(pairs), 2)
    ]
    return render_component(GovUKBreadcrumbs(items=items, collapseOnMobile=True))


_RAG = {
    "red": ("Red", "govuk-tag--red"),
    "amber": ("Amber", "govuk-tag--orange"),
    "green": ("Green", "govuk-tag--green"),
    "blue": ("Blue (complete)", "govuk-tag--blue"),
}

_STATE = {
    "proposed": "govuk-tag--grey",
    "agreed": "govuk-tag--light-blue",
    "in_progress": "govuk-tag--blue",
    "evidenced": "govuk-tag--purple",
    "signed_off": "govuk-tag--green",
    "withdrawn": "govuk-tag--grey",
    "draft": "govuk-tag--grey",
    "submitted": "govuk-tag--purple",
    "endorsed": "govuk-tag--green",
}


@register.simple_tag
def rag_tag(rag: str | None, empty: str = "None", label: str = "") -> SafeString:
    """A RAG rating whose words say the rating, so colour is never the only cue. ``label``
    replaces the usual words where a report names the ratings its own way."""
    if rag in _RAG:
        words, css = _RAG[rag]
        return format_html('<strong class="govuk-tag {}">{}</strong>', css, label or words)
    return format_html('<strong class="govuk-tag govuk-tag--grey">{}</strong>', empty)


_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


@register.filter
def short_date(day) -> str:
    """A date as ``4 Mar 2026`` (Django's ``date:"j M Y"`` in English), for long lists: the
    date filter looks up the language's formats on every call, a row's worth of time."""
    if not day:
        return ""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


@register.simple_tag
def state_tag(state: str, label: str) -> SafeString:
    return format_html(
        '<strong class="govuk-tag {}">{}</strong>', _STATE.get(state, "govuk-tag--grey"), label
    )
