"""The action page serves its kept parts until something on it changes, never across
organisations, and draws each person's own steps, forms and links for every request."""

import datetime

import pytest
import time_machine
from django.core.cache import caches
from django.urls import reverse
from django.utils import timezone

from plans import services
from plans.models import Action
from plans.page_cache import CACHE
from tenants import services as tenant_services
from tenants.models import SignOffBody, User
from tests.conftest import pages_cache_down
from tests.querycount import queries_for
from workflow.services import transition_perform

# Drawn only when the kept parts are not served.
DRAWN = "plans/includes/action_history.html"
PROGRESS_FORM = 'action="/t/central-bedfordshire/actions/{pk}/progress/"'


def action_url(action) -> str:
    return reverse("action", kwargs={"tenant_slug": action.tenant.slug, "pk": action.pk})


def drawn(response) -> bool:
    return DRAWN in {template.name for template in response.templates}


def kept(client, action) -> str:
    """The page once its parts are kept, checked to be served from the cache."""
    client.get(action_url(action))  # may only start the organisation's version token
    client.get(action_url(action))  # keeps what it draws
    response = client.get(action_url(action))
    assert response.status_code == 200
    assert not drawn(response), "not served from the cache"
    return response.content.decode()


def fresh(client, action) -> str:
    response = client.get(action_url(action))
    assert response.status_code == 200
    assert drawn(response), "served kept parts after a change"
    return response.content.decode()


@pytest.fixture
def act(story) -> Action:
    return story.action_in("in_progress", "1.1", title="Audit the case files")


# -- a kept page changes as soon as anything on it does ----------------------------------------


def test_a_progress_update_shows_at_once(story, client, act):
    client.force_login(story.victor)
    assert "Screening weekly" not in kept(client, act)
    services.progress_add(action=act, author=story.bob, text="Screening weekly", rag="amber")
    assert "Screening weekly" in fresh(client, act)


def test_evidence_shows_at_once(story, client, act):
    client.force_login(story.victor)
    assert "https://example.org/audit" not in kept(client, act)
    services.evidence_add_link(
        action=act, by=story.bob, url="https://example.org/audit", description="Audit report"
    )
    assert 'href="https://example.org/audit"' in fresh(client, act)


def test_a_completion_statement_shows_at_once(story, client, act):
    client.force_login(story.bob)
    assert "Embedded in supervision." not in kept(client, act)
    services.action_set_completion_statement(
        action=act, by=story.bob, text="Embedded in supervision."
    )
    page = fresh(client, act)
    assert '<div class="govuk-inset-text app-wrap"><p>Embedded in supervision.</p></div>' in page
    # The form that changes it starts from it.
    assert "Embedded in supervision.</textarea>" in page


def test_a_delegate_shows_at_once_and_leaves_the_people_offered(story, client, act):
    client.force_login(story.bob)
    page = kept(client, act)
    assert "No delegates." in page
    assert f'<option value="{story.erin.pk}">Erin Admin</option>' in page
    services.action_delegate(action=act, by=story.bob, delegate=story.erin)
    page = fresh(client, act)
    assert "No delegates." not in page
    assert f'name="remove" value="{story.erin.pk}"' in page
    assert f'<option value="{story.erin.pk}">' not in page
    services.action_delegate_remove(action=act, by=story.bob, delegate=story.erin)
    assert "No delegates." in fresh(client, act)


def test_a_step_shows_at_once(story, client):
    act = story.action("1.1")
    client.force_login(story.victor)
    assert "govuk-tag--light-blue" not in kept(client, act)
    transition_perform(obj=act, name="agree", user=story.alice)
    page = fresh(client, act)
    assert 'govuk-tag--light-blue">Agreed<' in page
    assert "From proposed to agreed." in page


def test_changed_details_show_at_once(story, client, act):
    client.force_login(story.victor)
    assert "Every file, not a sample." not in kept(client, act)
    services.action_update(
        action=act,
        by=story.alice,
        description="Every file, not a sample.",
        supporting_partners=[story.police],
        reason="Wider audit.",
    )
    page = fresh(client, act)
    assert "Every file, not a sample." in page
    assert story.police.name in page


def test_a_person_renamed_shows_at_once(story, client, act):
    client.force_login(story.victor)
    assert "Robert Officer" not in kept(client, act)
    User.objects.filter(pk=story.bob.pk).update(full_name="Robert Officer")
    assert "Robert Officer" in fresh(client, act)


def test_a_renamed_sign_off_body_shows_at_once(story, client, act):
    client.force_login(story.victor)
    assert "Safeguarding Children Partnership" not in kept(client, act)
    tenant_services.sign_off_body_update(
        body=story.lscb,
        by=story.erin,
        name="Safeguarding Children Partnership",
        kind=SignOffBody.Kind.LSCB_BOARD,
        partner=None,
        chair=story.lscb.chair,
        quorum=story.lscb.quorum,
    )
    assert "Safeguarding Children Partnership" in fresh(client, act)


def test_the_schedule_rag_turns_at_uk_midnight_with_nothing_written(story, client):
    # 23:55 on a summer evening in London is 22:55 UTC: the UK's next day starts at 23:00 UTC,
    # well before a kept part expires.
    evening = datetime.datetime(2026, 6, 4, 22, 55, tzinfo=datetime.UTC)
    with time_machine.travel(evening, tick=False):
        act = story.action_in("in_progress", "1.1", due_date=datetime.date(2026, 6, 4))
        client.force_login(story.victor)
        assert "govuk-tag--red" not in kept(client, act)
    with time_machine.travel(evening + datetime.timedelta(minutes=10), tick=False):
        assert timezone.localdate() == datetime.date(2026, 6, 5)
        assert "govuk-tag--red" in fresh(client, act)


# -- organisations and people ------------------------------------------------------------------


def test_a_write_in_one_organisation_leaves_anothers_action_page_kept(story, client):
    client.force_login(story.charlie)
    other = story.other_action
    assert "CANARY" in kept(client, other)
    story.action("1.1", title="Audit the case files")
    response = client.get(action_url(other))
    assert not drawn(response)
    assert "Audit the case files" not in response.content.decode()


def test_kept_parts_carry_no_ones_forms_or_steps(story, client, act):
    client.force_login(story.victor)
    reader = kept(client, act)
    client.force_login(story.bob)
    officer = client.get(action_url(act))
    client.force_login(story.victor)
    reader_again = client.get(action_url(act))
    assert not drawn(officer) and not drawn(reader_again)
    officer_page = officer.content.decode()
    assert PROGRESS_FORM.format(pk=act.pk) in officer_page
    assert 'name="progress-text"' in officer_page
    assert "Add the update" in officer_page
    for page in (reader, reader_again.content.decode()):
        assert PROGRESS_FORM.format(pk=act.pk) not in page
        assert 'name="progress-text"' not in page
        assert "Add the update" not in page
        assert "csrfmiddlewaretoken" not in page.split("<main", 1)[1]


def test_a_form_sent_back_shows_what_was_typed_and_the_next_page_an_empty_form(story, client, act):
    client.force_login(story.bob)
    kept(client, act)
    response = client.post(
        f"{action_url(act)}progress/", {"progress-text": "Half the files read", "progress-rag": ""}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Half the files read" in page
    assert "There is a problem" in page
    again = client.get(action_url(act)).content.decode()
    assert "Half the files read" not in again
    assert "There is a problem" not in again


def test_the_action_page_is_drawn_afresh_when_the_cache_is_down(story, client, act, monkeypatch):
    pages_cache_down(monkeypatch)
    client.force_login(story.victor)
    assert "Audit the case files" in client.get(action_url(act)).content.decode()
    services.progress_add(action=act, author=story.bob, text="Screening weekly", rag="amber")
    assert "Screening weekly" in client.get(action_url(act)).content.decode()


def test_another_organisations_kept_action_is_not_found_under_this_one(story, client):
    client.force_login(story.charlie)
    kept(client, story.other_action)
    client.force_login(story.bob)
    address = reverse(
        "action", kwargs={"tenant_slug": story.tenant.slug, "pk": story.other_action.pk}
    )
    assert client.get(address).status_code == 404


# -- query counts ------------------------------------------------------------------------------


@pytest.mark.parametrize("person", ["bob", "victor", "carol"])
def test_a_kept_action_page_costs_fewer_queries_than_a_drawn_one(story, client, act, person):
    for n in range(5):
        services.progress_add(action=act, author=story.bob, text=f"Update {n}", rag="green")
    client.force_login(getattr(story, person))
    caches[CACHE].clear()
    client.get(action_url(act))
    drawn_count = queries_for(client, action_url(act))
    kept_count = queries_for(client, action_url(act))
    assert kept_count < drawn_count
