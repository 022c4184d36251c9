"""Working days, as councils count them: weekdays less the bank holidays of the tenant's nation.

An action is "one working day overdue" on the first working day after its due date, so the
same due date escalates on different days in England and in Scotland.
"""

import datetime

import pytest

from notifications.escalations import escalation_sweep
from notifications.models import EscalationStep, Level
from plans import services as plan_services
from plans.models import Action, Framework
from tenants.models import Partner, SignOffBody, Tenant
from tenants.scoping import across_tenants, tenant_scope
from tenants.working_days import (
    is_working_day,
    latest_date_at_least_n_working_days_before,
    latest_date_at_most_n_working_days_after,
    nth_working_day_after,
    nth_working_day_on_or_before,
    working_days_between,
)
from tests.plans.factories import action as new_action
from tests.tenants.factories import PartnerFactory, Role, TenantFactory, member, sign_off_body
from workflow.services import transition_perform

Nation = Tenant.Nation
ENGLAND, WALES, SCOTLAND, NI = (
    Nation.ENGLAND,
    Nation.WALES,
    Nation.SCOTLAND,
    Nation.NORTHERN_IRELAND,
)
ONE_DAY = datetime.timedelta(days=1)


def d(text: str) -> datetime.date:
    return datetime.date.fromisoformat(text)


def first_day_one_working_day_overdue(nation: str, due: datetime.date) -> datetime.date:
    day = due
    while working_days_between(nation, due, day) < 1:
        day += ONE_DAY
    return day


# --- Christmas 2026: Friday 25 December, Boxing Day substituted on Monday 28 December ---------


def test_action_due_on_christmas_eve_is_one_working_day_overdue_only_on_the_29th_in_england():
    due = d("2026-12-24")  # a Thursday
    assert working_days_between(ENGLAND, due, d("2026-12-25")) == 0  # Christmas Day
    assert working_days_between(ENGLAND, due, d("2026-12-26")) == 0  # Saturday, Boxing Day
    assert working_days_between(ENGLAND, due, d("2026-12-27")) == 0  # Sunday
    assert working_days_between(ENGLAND, due, d("2026-12-28")) == 0  # Boxing Day substitute
    assert working_days_between(ENGLAND, due, d("2026-12-29")) == 1
    assert first_day_one_working_day_overdue(ENGLAND, due) == d("2026-12-29")


@pytest.mark.parametrize("nation", [ENGLAND, WALES, SCOTLAND, NI])
def test_every_nation_keeps_christmas_and_the_boxing_day_substitute(nation):
    assert not is_working_day(nation, d("2026-12-25"))
    assert not is_working_day(nation, d("2026-12-28"))
    assert is_working_day(nation, d("2026-12-29"))


def test_scotland_also_keeps_the_second_of_january_substituted_to_monday_the_fourth():
    # 1 January 2027 is a Friday, 2 January a Saturday: Scotland keeps Monday 4 January.
    due = d("2026-12-31")
    assert first_day_one_working_day_overdue(SCOTLAND, due) == d("2027-01-05")
    assert first_day_one_working_day_overdue(ENGLAND, due) == d("2027-01-04")


def test_working_days_across_the_christmas_fortnight_in_england():
    # 21-24 Dec (4), 29-31 Dec (3), 4 Jan 2027 (1): Christmas, Boxing Day substitute and
    # New Year's Day are not counted.
    assert working_days_between(ENGLAND, d("2026-12-18"), d("2027-01-04")) == 8


# --- Easter 2027: Good Friday 26 March, Easter Monday 29 March --------------------------------


@pytest.mark.parametrize("nation", [ENGLAND, WALES, NI])
def test_good_friday_and_easter_monday_are_not_working_days_outside_scotland(nation):
    due = d("2027-03-25")  # Maundy Thursday
    assert not is_working_day(nation, d("2027-03-26"))
    assert not is_working_day(nation, d("2027-03-29"))
    assert working_days_between(nation, due, d("2027-03-29")) == 0
    assert first_day_one_working_day_overdue(nation, due) == d("2027-03-30")


def test_scotland_keeps_good_friday_but_works_on_easter_monday():
    due = d("2027-03-25")
    assert not is_working_day(SCOTLAND, d("2027-03-26"))
    assert is_working_day(SCOTLAND, d("2027-03-29"))
    assert first_day_one_working_day_overdue(SCOTLAND, due) == d("2027-03-29")
    # Monday 29 March to Friday 2 April: five working days in Scotland, four in England.
    assert working_days_between(SCOTLAND, due, d("2027-04-02")) == 5
    assert working_days_between(ENGLAND, due, d("2027-04-02")) == 4


# --- Holidays of one nation only ---------------------------------------------------------------


def test_st_andrews_day_is_a_holiday_in_scotland_and_a_working_day_in_england():
    st_andrews = d("2026-11-30")  # a Monday
    assert not is_working_day(SCOTLAND, st_andrews)
    assert is_working_day(ENGLAND, st_andrews)
    due = d("2026-11-27")  # the Friday before
    assert first_day_one_working_day_overdue(ENGLAND, due) == st_andrews
    assert first_day_one_working_day_overdue(SCOTLAND, due) == d("2026-12-01")


def test_st_patricks_day_is_a_holiday_in_northern_ireland_only():
    st_patricks = d("2027-03-17")  # a Wednesday
    assert not is_working_day(NI, st_patricks)
    for nation in (ENGLAND, WALES, SCOTLAND):
        assert is_working_day(nation, st_patricks)
    due = d("2027-03-16")
    assert first_day_one_working_day_overdue(NI, due) == d("2027-03-18")
    assert first_day_one_working_day_overdue(ENGLAND, due) == st_patricks


def test_wales_counts_like_england():
    start = d("2026-11-01")
    for offset in range(0, 200, 7):
        end = start + datetime.timedelta(days=offset)
        assert working_days_between(WALES, start, end) == working_days_between(ENGLAND, start, end)


# --- Weekends ---------------------------------------------------------------------------------


@pytest.mark.parametrize("nation", [ENGLAND, WALES, SCOTLAND, NI])
def test_weekends_never_count(nation):
    friday = d("2026-11-06")
    assert working_days_between(nation, friday, friday + 1 * ONE_DAY) == 0
    assert working_days_between(nation, friday, friday + 2 * ONE_DAY) == 0
    assert working_days_between(nation, friday, friday + 3 * ONE_DAY) == 1
    day = d("2026-10-01")
    while day < d("2027-06-01"):
        if day.weekday() >= 5:
            assert not is_working_day(nation, day)
        day += ONE_DAY


def test_a_count_only_grows_on_a_working_day_and_runs_backwards_when_the_end_is_earlier():
    start = d("2026-11-20")
    previous = 0
    for offset in range(1, 60):
        end = start + datetime.timedelta(days=offset)
        count = working_days_between(ENGLAND, start, end)
        assert count == previous + (1 if is_working_day(ENGLAND, end) else 0)
        previous = count
    assert working_days_between(ENGLAND, start, start) == 0
    assert working_days_between(ENGLAND, d("2026-12-04"), start) == -10


# --- The cut-off dates the sweep compares against --------------------------------------------


def every_day(start: datetime.date, end: datetime.date):
    day = start
    while day <= end:
        yield day
        day += ONE_DAY


@pytest.mark.parametrize("nation", [ENGLAND, WALES, SCOTLAND, NI])
def test_overdue_cut_off_is_the_latest_due_date_that_many_working_days_behind(nation):
    """Every day from November 2026 to April 2027, for each threshold the sweep uses."""
    for today in every_day(d("2026-11-01"), d("2027-04-30")):
        for n in (1, 2, 5, 10, 20):
            cutoff = latest_date_at_least_n_working_days_before(nation, today, n)
            assert working_days_between(nation, cutoff, today) >= n, (today, n)
            assert working_days_between(nation, cutoff + ONE_DAY, today) < n, (today, n)


@pytest.mark.parametrize("nation", [ENGLAND, WALES, SCOTLAND, NI])
def test_reminder_window_is_the_latest_due_date_at_most_that_many_working_days_ahead(nation):
    for today in every_day(d("2026-11-01"), d("2027-04-30")):
        for n in (1, 3, 5, 10):
            last = latest_date_at_most_n_working_days_after(nation, today, n)
            assert working_days_between(nation, today, last) <= n, (today, n)
            assert working_days_between(nation, today, last + ONE_DAY) > n, (today, n)


def test_nth_working_day_helpers_count_from_the_right_end():
    # Thursday 24 December 2026: the day itself, then back past nothing; forwards past Christmas.
    assert nth_working_day_on_or_before(ENGLAND, d("2026-12-24"), 1) == d("2026-12-24")
    assert nth_working_day_on_or_before(ENGLAND, d("2026-12-28"), 1) == d("2026-12-24")
    assert nth_working_day_after(ENGLAND, d("2026-12-24"), 1) == d("2026-12-29")
    with pytest.raises(ValueError, match="at least 1"):
        nth_working_day_after(ENGLAND, d("2026-12-24"), 0)
    with pytest.raises(ValueError, match="at least 1"):
        nth_working_day_on_or_before(ENGLAND, d("2026-12-24"), 0)


def test_an_unknown_nation_is_refused_by_name():
    with pytest.raises(ValueError, match="No bank holiday calendar for the nation 'atlantis'"):
        working_days_between("atlantis", d("2026-11-02"), d("2026-11-06"))
    with pytest.raises(ValueError, match="atlantis"):
        is_working_day("atlantis", d("2026-11-03"))


# --- The sweep follows each tenant's own calendar ---------------------------------------------


def scottish_council_with_an_action_due(due: datetime.date) -> Action:
    """Fife Council, in Scotland, with one agreed action led by its officer."""
    fife = TenantFactory(name="Fife Council", slug="fife", nation=SCOTLAND)
    with tenant_scope(fife):
        fiona = member(fife, Role.MANAGER, full_name="Fiona Manager")
        finlay = member(fife, Role.OFFICER, full_name="Finlay Officer")
        morag = member(fife, Role.BOARD_MEMBER, full_name="Morag Board")
        committee = sign_off_body(
            fife,
            name="Child Protection Committee",
            kind=SignOffBody.Kind.LSCB_BOARD,
            members=[morag],
            chair=morag,
        )
        police = PartnerFactory(tenant=fife, name="Police Scotland", kind=Partner.Kind.POLICE)
        plan = plan_services.action_plan_create(
            tenant=fife,
            framework=Framework.objects.get(short_name="laming-2009"),
            title="Fife improvement plan",
            owner_body=committee,
            owner=fiona,
            sign_off_bodies=[committee],
        )
        act = new_action(
            plan,
            by=fiona,
            reference="2.1",
            lead_officer=finlay,
            lead_partner=police,
            due_date=due,
            sign_off_body=committee,
        )
        return transition_perform(obj=act, name="agree", user=fiona).obj


def overdue_from(action: Action) -> datetime.date | None:
    with across_tenants():
        step = (
            EscalationStep.objects.filter(action=action, level=Level.OVERDUE)
            .select_related("sweep")
            .first()
        )
    return step.sweep.today if step else None


def test_scottish_and_english_tenants_escalate_the_same_due_date_on_different_days(story):
    due = d("2026-11-27")  # Friday; Monday 30 November is St Andrew's Day in Scotland
    english = story.action_in(Action.State.AGREED, due_date=due)
    scottish = scottish_council_with_an_action_due(due)

    escalation_sweep(today=d("2026-11-28"))
    escalation_sweep(today=d("2026-11-29"))
    assert overdue_from(english) is None
    assert overdue_from(scottish) is None

    escalation_sweep(today=d("2026-11-30"))
    assert overdue_from(english) == d("2026-11-30")
    assert overdue_from(scottish) is None

    escalation_sweep(today=d("2026-12-01"))
    assert overdue_from(english) == d("2026-11-30")
    assert overdue_from(scottish) == d("2026-12-01")


def test_english_tenant_is_not_chased_over_christmas(story):
    act = story.action_in(Action.State.IN_PROGRESS, due_date=d("2026-12-24"))
    for today in every_day(d("2026-12-24"), d("2026-12-28")):
        escalation_sweep(today=today)
    assert overdue_from(act) is None
    escalation_sweep(today=d("2026-12-29"))
    assert overdue_from(act) == d("2026-12-29")
