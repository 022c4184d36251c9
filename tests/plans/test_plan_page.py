"""The plan page: each action once under its theme, counts per theme, filters, pages."""

import datetime

import pytest
from django.urls import reverse

from plans import selectors
from plans.models import Action
from plans.selectors import PlanFilters, plan_actions
from tests.plans.factories import RecommendationFactory, ThemeFactory, bulk_actions
from tests.querycount import queries_for

TODAY = datetime.date.today()


def plan_url(story, **params) -> str:
    url = reverse("plan", kwargs={"tenant_slug": story.tenant.slug, "pk": story.plan.pk})
    if params:
        url += "?" + "&".join(f"{k}={v}" for k, v in params.items())
    return url


def refs(result) -> list[str]:
    return [row.action.reference for s in result.sections for row in s.rows]


@pytest.fixture
def second_theme(story):
    theme = ThemeFactory(framework=story.framework, position=2, title="Support for children")
    return RecommendationFactory(theme=theme, framework=story.framework, number=12)


def test_an_action_answering_two_recommendations_is_listed_once_with_both(story, second_theme):
    story.action("1.1", recommendations=[second_theme, story.recommendation])
    result = plan_actions(plan=story.plan, filters=PlanFilters(), today=TODAY)
    assert refs(result) == ["1.1"]
    (section,) = result.sections
    assert section.theme.position == 1  # the theme of its lowest-numbered recommendation
    assert section.rows[0].recommendation_numbers == [story.recommendation.number, 12]


def test_actions_are_grouped_by_theme_then_recommendation_then_reference(story, second_theme):
    story.action("2.1", recommendations=[second_theme])
    story.action("1.10")
    story.action("1.9")
    story.action("0.1", recommendations=[])
    result = plan_actions(plan=story.plan, filters=PlanFilters(), today=TODAY)
    assert refs(result) == ["1.9", "1.10", "2.1", "0.1"]
    assert [s.theme.position if s.theme else None for s in result.sections] == [1, 2, None]


def test_counts_per_theme_cover_the_whole_plan_whatever_the_filters(story, second_theme):
    story.action_in(Action.State.AGREED, "1.1", due_date=TODAY - datetime.timedelta(2))
    story.action_in(Action.State.SIGNED_OFF, "2.1", recommendations=[second_theme])
    result = plan_actions(plan=story.plan, filters=PlanFilters(state="agreed"), today=TODAY)
    first, second = result.counts
    assert (first.total, first.rag_counts, first.state_counts) == (1, {"red": 1}, {"agreed": 1})
    assert (second.total, second.rag_counts) == (1, {"blue": 1})
    assert (result.total, result.matching) == (2, 1)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (PlanFilters(state="agreed"), ["1.2", "1.3"]),
        (PlanFilters(rag="red"), ["1.2"]),
        (PlanFilters(overdue=True), ["1.2"]),
        (PlanFilters(text="referral"), ["1.3"]),
        (PlanFilters(text="1.1"), ["1.1"]),
        (PlanFilters(state="agreed", text="referral"), ["1.3"]),
        (PlanFilters(state="signed_off"), []),
    ],
)
def test_filters_narrow_the_actions(story, filters, expected):
    story.action("1.1", title="Audit")
    story.action_in(Action.State.AGREED, "1.2", due_date=TODAY - datetime.timedelta(1))
    story.action_in(
        Action.State.AGREED, "1.3", title="Audit", description="Every REFERRAL screened"
    )
    assert refs(plan_actions(plan=story.plan, filters=filters, today=TODAY)) == expected


def test_lead_partner_and_lead_officer_filters(story):
    story.action("1.1", lead_partner=story.police)
    story.action("1.2", lead_partner=story.health, lead_officer=story.alice)
    by_partner = PlanFilters(lead_partner_id=story.health.pk)
    by_officer = PlanFilters(lead_officer_id=story.bob.pk)
    assert refs(plan_actions(plan=story.plan, filters=by_partner, today=TODAY)) == ["1.2"]
    assert refs(plan_actions(plan=story.plan, filters=by_officer, today=TODAY)) == ["1.1"]


def test_a_long_plan_is_shown_a_page_at_a_time(story, monkeypatch):
    monkeypatch.setattr(selectors, "PLAN_PAGE_SIZE", 2)
    for n in range(1, 6):
        story.action(f"1.{n}")
    page_2 = plan_actions(plan=story.plan, filters=PlanFilters(), today=TODAY, page_number=2)
    assert refs(page_2) == ["1.3", "1.4"]
    assert page_2.page.paginator.num_pages == 3
    # An out-of-range or nonsense page shows a real page rather than failing.
    last = plan_actions(plan=story.plan, filters=PlanFilters(), today=TODAY, page_number=99)
    assert refs(last) == ["1.5"]
    nonsense = plan_actions(plan=story.plan, filters=PlanFilters(), today=TODAY, page_number="x")
    assert refs(nonsense) == ["1.1", "1.2"]


def test_filters_come_from_the_address_so_a_filtered_view_can_be_shared(client, story):
    story.action("1.1", title="Audit of files")
    story.action_in(Action.State.AGREED, "1.2", title="Training")
    client.force_login(story.victor)
    content = client.get(plan_url(story, state="agreed")).content.decode()
    assert "Training" in content and "Audit of files" not in content
    assert "1 of 2 actions match the filters" in content
    assert '<option value="agreed" selected>Agreed</option>' in content


def test_page_links_keep_the_filters(client, story, monkeypatch):
    monkeypatch.setattr(selectors, "PLAN_PAGE_SIZE", 1)
    story.action("1.1")
    story.action("1.2")
    client.force_login(story.victor)
    content = client.get(plan_url(story, state="proposed")).content.decode()
    assert 'href="?state=proposed&amp;page=2"' in content


def test_an_unknown_filter_value_is_explained_and_narrows_nothing(client, story):
    story.action("1.1", title="Audit of files")
    client.force_login(story.victor)
    response = client.get(plan_url(story, state="finished", rag="purple"))
    content = response.content.decode()
    assert response.status_code == 400
    assert "There is a problem" in content
    assert '<a href="#id_state">Choose a state from the list.</a>' in content
    assert '<a href="#id_rag">Choose red, amber, green or blue.</a>' in content
    assert "Audit of files" in content


def test_another_tenants_partner_is_not_a_filter_choice(client, story):
    with_other = plan_url(story, partner=story.other_action.lead_partner_id)
    client.force_login(story.victor)
    response = client.get(with_other)
    assert response.status_code == 400
    assert "Choose a partner from the list." in response.content.decode()


def test_filters_through_htmx_return_only_the_list_of_actions(client, story):
    story.action("1.1", title="Audit of files")
    client.force_login(story.victor)
    response = client.get(
        plan_url(story, q="audit"), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="plan-actions"
    )
    content = response.content.decode()
    assert content.lstrip().startswith('<div id="plan-actions"')
    assert "Audit of files" in content
    assert "<html" not in content


def test_plan_page_queries_do_not_grow_with_actions_when_filtered(client, story):
    client.force_login(story.alice)
    url = plan_url(story, q="Bulk", state="proposed", page=2)
    bulk_actions(story, 10)
    with_10 = queries_for(client, url)
    bulk_actions(story, 290, start=10)
    assert queries_for(client, url) == with_10


def test_my_actions_come_a_page_at_a_time_open_ones_first(client, story, monkeypatch):
    monkeypatch.setattr(selectors, "PLAN_PAGE_SIZE", 2)
    monkeypatch.setattr("plans.plan_page.PLAN_PAGE_SIZE", 2)
    story.action_in(Action.State.SIGNED_OFF, "1.1", due_date=TODAY + datetime.timedelta(1))
    story.action("1.2", due_date=TODAY + datetime.timedelta(30))
    story.action("1.3", due_date=TODAY + datetime.timedelta(10))
    client.force_login(story.bob)
    url = reverse("my_actions", kwargs={"tenant_slug": story.tenant.slug})
    first = client.get(url).content.decode()
    second = client.get(url + "?page=2").content.decode()
    assert first.index("Action 1.3") < first.index("Action 1.2")
    assert "Action 1.1" not in first and "Action 1.1" in second
