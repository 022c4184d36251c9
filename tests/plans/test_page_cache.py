"""The plan page, "my actions" and the home pages serve kept parts until something they show
changes, never across organisations, and never with another person's buttons."""

import datetime
import re

import pytest
from django.core.cache import caches
from django.db import connection
from django.urls import reverse

from plans import action_page, home_page, plan_page, services
from plans.models import Action, PublishedReport
from plans.page_cache import CACHE, WATCHED_TABLES, cached_parts
from plans.reports.publishing import report_publish
from tenants import services as tenant_services
from tenants.models import SignOffBody, User
from tenants.scoping import tenant_scope
from tests.conftest import pages_cache_down
from tests.plans.factories import bulk_actions
from tests.plans.imports.helpers import csv_bytes, import_plan, row
from tests.plans.test_partnerships import (  # noqa: F401  (agencies: a fixture)
    agencies,
    in_progress_with_history,
    police_action,
)
from tests.querycount import queries_for
from workflow.services import transition_perform

TODAY = datetime.date.today()
AGREED_TAG = 'govuk-tag--light-blue">Agreed<'


def plan_url(story, plan=None, **params) -> str:
    url = reverse("plan", kwargs={"tenant_slug": story.tenant.slug, "pk": (plan or story.plan).pk})
    return url + ("?" + "&".join(f"{k}={v}" for k, v in params.items()) if params else "")


def home_url(story) -> str:
    return reverse("tenant_home", kwargs={"tenant_slug": story.tenant.slug})


def my_actions_url(story) -> str:
    return reverse("my_actions", kwargs={"tenant_slug": story.tenant.slug})


# Drawn for every request that is not served kept parts.
DRAWN = {"plans/includes/plan_actions.html", "plans/includes/my_actions_table.html"}


def drawn(response) -> bool:
    return bool(DRAWN & {template.name for template in response.templates})


def kept(client, url) -> str:
    """The page once its parts are kept, checked to be served from the cache."""
    client.get(url)  # the first request may only start the organisation's version token
    client.get(url)  # the second keeps what it draws
    response = client.get(url)
    assert response.status_code == 200
    assert not drawn(response), "not served from the cache"
    return response.content.decode()


def fresh(client, url) -> str:
    response = client.get(url)
    assert response.status_code == 200
    assert drawn(response)
    return response.content.decode()


# -- what the kept parts read is what the tokens watch -----------------------------------------


def tables_read(executed: list[str]) -> set[str]:
    return {name for sql in executed for name in re.findall(r'(?:FROM|JOIN)\s+"(\w+)"', sql)}


def test_every_table_the_kept_parts_read_is_watched_for_writes(
    story,
    client,
    agencies,  # noqa: F811
    monkeypatch,
):
    # A plan with everything the page can show: themes, recommendations, progress, an action
    # adopted in (and out of the agency's plan), a published report, history.
    act = in_progress_with_history(story, agencies)
    services.action_adopt(action=act, into_plan=story.plan, by=story.alice, reference="5.1")
    report_publish(
        plan=story.plan,
        by=story.alice,
        meeting="LSCB board",
        meeting_date=TODAY,
        as_of=TODAY,
        format=PublishedReport.Format.CSV,
        today=TODAY,
    )
    story.action_in("in_progress", "1.2")
    # Waiting for the LSCB board with an approval, for the board members' sign-off queue.
    story.lscb_needs_two()
    transition_perform(obj=story.action_in("evidenced", "1.3"), name="sign_off", user=story.carol)
    read: set[str] = set()

    def logged(draw):
        def drawing(*args):
            executed = []

            def log(execute, sql, params, many, context):
                executed.append(sql)
                return execute(sql, params, many, context)

            with connection.execute_wrapper(log):
                parts = draw(*args)
            read.update(tables_read(executed))
            return parts

        return drawing

    for name in ("_plan_page_parts_drawn", "_my_actions_parts_drawn"):
        monkeypatch.setattr(plan_page, name, logged(getattr(plan_page, name)))
    monkeypatch.setattr(
        home_page, "_home_page_parts_drawn", logged(home_page._home_page_parts_drawn)
    )
    monkeypatch.setattr(
        action_page, "_action_page_parts_drawn", logged(action_page._action_page_parts_drawn)
    )
    client.force_login(story.bob)
    for url in (
        plan_url(story),
        plan_url(story, agencies.police_plan),
        plan_url(story, q="Action", partner=story.police.pk, officer=story.bob.pk, page=1),
        my_actions_url(story),
    ):
        fresh(client, url)
    # The adopted action's page: history, progress, evidence, a delegate, where it came from.
    services.action_update(
        action=act, by=story.alice, supporting_partners=[story.police], reason="Wider."
    )
    response = client.get(
        reverse("action", kwargs={"tenant_slug": story.tenant.slug, "pk": act.pk})
    )
    assert "plans/includes/action_history.html" in {t.name for t in response.templates}
    # Every role's home page, a manager of one agency's among them.
    for person in (story.bob, story.alice, story.carol, story.erin, story.victor, agencies.pete):
        client.force_login(person)
        response = client.get(home_url(story))
        assert home_page.QUEUES_TEMPLATE in {template.name for template in response.templates}
    assert {"plans_progressupdate", "plans_actionadoption", "plans_publishedreport"} <= read
    assert {"tenants_signoffbodymember", "plans_evidence", "workflow_approval"} <= read
    assert {"plans_actionsupportingpartner", "plans_actionuserobjectpermission"} <= read
    assert read <= set(WATCHED_TABLES)


# -- a kept page changes as soon as anything on it does ----------------------------------------


def test_a_new_action_appears_at_once(story, client):
    client.force_login(story.victor)
    assert "Audit the case files" not in kept(client, plan_url(story))
    story.action("1.2", title="Audit the case files")
    assert "Audit the case files" in fresh(client, plan_url(story))


def test_an_edited_action_shows_its_new_title_at_once(story, client):
    act = story.action("1.1", title="Audit the case files")
    client.force_login(story.victor)
    assert "Audit the case files" in kept(client, plan_url(story))
    services.action_update(action=act, by=story.alice, title="Audit every case file")
    assert "Audit every case file" in fresh(client, plan_url(story))


def test_a_step_shows_at_once_on_the_plan_page_and_in_my_actions(story, client):
    act = story.action("1.1")
    client.force_login(story.bob)
    for url in (plan_url(story), my_actions_url(story)):
        assert AGREED_TAG not in kept(client, url)
    transition_perform(obj=act, name="agree", user=story.alice)
    for url in (plan_url(story), my_actions_url(story)):
        assert AGREED_TAG in fresh(client, url)


def test_a_progress_update_shows_at_once(story, client):
    act = story.action_in("in_progress", "1.1")
    client.force_login(story.bob)
    for url in (plan_url(story), my_actions_url(story)):
        assert "Screening weekly" not in kept(client, url)
    services.progress_add(action=act, author=story.bob, text="Screening weekly", rag="amber")
    for url in (plan_url(story), my_actions_url(story)):
        assert "Screening weekly" in fresh(client, url)


def test_a_delegated_action_joins_the_delegates_own_list_at_once(story, client):
    act = story.action_in("in_progress", "1.1", title="Audit the case files")
    client.force_login(story.alice)
    assert "Audit the case files" not in kept(client, my_actions_url(story))
    services.action_delegate(action=act, by=story.bob, delegate=story.alice)
    assert "Audit the case files" in fresh(client, my_actions_url(story))


def test_an_adopted_action_leaves_one_plan_and_joins_the_other_at_once(story, client, agencies):  # noqa: F811
    act = police_action(story, agencies, title="Joint screening of referrals")
    client.force_login(story.victor)
    assert "Joint screening of referrals" in kept(client, plan_url(story, agencies.police_plan))
    assert "Joint screening of referrals" not in kept(client, plan_url(story))
    services.action_adopt(action=act, into_plan=story.plan, by=story.alice, reference="5.1")
    partnership = fresh(client, plan_url(story))
    assert "Joint screening of referrals" in partnership
    assert "Adopted from" in partnership
    agency = fresh(client, plan_url(story, agencies.police_plan))
    assert "Actions adopted into partnership plans" in agency


def test_plan_settings_show_at_once(story, client):
    client.force_login(story.victor)
    assert "No monitoring body" in kept(client, plan_url(story))
    services.action_plan_update(plan=story.plan, by=story.erin, monitoring_body=story.executive)
    content = fresh(client, plan_url(story))
    assert "No monitoring body" not in content
    assert story.executive.name in content


def test_imported_actions_show_at_once(story, client):
    client.force_login(story.victor)
    assert "Publish the threshold document" not in kept(client, plan_url(story))
    import_plan(story, csv_bytes([row("7.1", "Publish the threshold document")]))
    assert "Publish the threshold document" in fresh(client, plan_url(story))


def test_a_renamed_partner_shows_at_once(story, client):
    story.action("1.1")
    client.force_login(story.victor)
    assert "Bedfordshire Constabulary" not in kept(client, plan_url(story))
    tenant_services.partner_update(
        partner=story.police, by=story.erin, name="Bedfordshire Constabulary", kind="police"
    )
    assert "Bedfordshire Constabulary" in fresh(client, plan_url(story))


def test_a_renamed_sign_off_body_shows_at_once(story, client):
    client.force_login(story.victor)
    assert "Safeguarding Children Partnership" not in kept(client, plan_url(story))
    tenant_services.sign_off_body_update(
        body=story.lscb,
        by=story.erin,
        name="Safeguarding Children Partnership",
        kind=SignOffBody.Kind.LSCB_BOARD,
        partner=None,
        chair=story.lscb.chair,
        quorum=story.lscb.quorum,
    )
    assert "Safeguarding Children Partnership" in fresh(client, plan_url(story))


def test_a_person_renamed_shows_at_once_in_every_organisation(story, client):
    story.action("1.1")
    client.force_login(story.victor)
    assert "Robert Officer" not in kept(client, plan_url(story))
    User.objects.filter(pk=story.bob.pk).update(full_name="Robert Officer")
    assert "Robert Officer" in fresh(client, plan_url(story))


def test_a_published_report_shows_at_once(story, client):
    client.force_login(story.victor)
    assert "No report of this plan has been published yet." in kept(client, plan_url(story))
    report_publish(
        plan=story.plan,
        by=story.alice,
        meeting="LSCB board",
        meeting_date=TODAY,
        as_of=TODAY,
        format=PublishedReport.Format.CSV,
        today=TODAY,
    )
    assert "No report of this plan" not in fresh(client, plan_url(story))


def test_a_filtered_page_changes_at_once_too(story, client):
    act = story.action("1.1", title="Audit the case files")
    client.force_login(story.victor)
    url = plan_url(story, q="Audit", state="proposed")
    assert "Audit the case files" in kept(client, url)
    transition_perform(obj=act, name="agree", user=story.alice)
    assert "Audit the case files" not in fresh(client, url)


def test_the_token_changes_again_when_the_write_commits(story, django_capture_on_commit_callbacks):
    cache = caches[CACHE]
    key = f"pages:version:{story.tenant.pk}"
    with django_capture_on_commit_callbacks(execute=True):
        story.action("1.1")
        written = cache.get(key)
    assert written is not None
    # A page drawn between the write and its commit, from what was committed before, carries
    # the token of the write; it is never served after the commit.
    assert cache.get(key) not in (None, written)


def test_signing_in_changes_no_page(story, client):
    client.force_login(story.victor)
    kept(client, plan_url(story))
    User.objects.filter(pk=story.bob.pk).update(last_login=datetime.datetime.now(datetime.UTC))
    assert not drawn(client.get(plan_url(story)))


# -- organisations and people ------------------------------------------------------------------


def test_two_organisations_never_share_a_kept_part(story):
    built = []
    for _ in range(3):
        for tenant in (story.tenant, story.other_tenant):
            with tenant_scope(tenant):
                parts = cached_parts(
                    tenant_id=tenant.pk,
                    key=("the same question",),
                    build=lambda tenant=tenant: built.append(tenant.pk) or {"who": tenant.name},
                )
            assert parts == {"who": tenant.name}
    assert set(built) == {story.tenant.pk, story.other_tenant.pk}


def test_a_write_in_one_organisation_leaves_anothers_pages_kept(story, client):
    other_url = reverse(
        "plan", kwargs={"tenant_slug": story.other_tenant.slug, "pk": story.other_plan.pk}
    )
    client.force_login(story.charlie)
    assert "CANARY" in kept(client, other_url)
    story.action("1.1", title="Audit the case files")
    response = client.get(other_url)
    assert not drawn(response)
    assert "Audit the case files" not in response.content.decode()


def test_kept_parts_carry_no_ones_buttons(story, client):
    client.force_login(story.victor)
    reader = kept(client, plan_url(story))
    client.force_login(story.alice)
    manager = client.get(plan_url(story))
    client.force_login(story.victor)
    reader_again = client.get(plan_url(story))
    assert not drawn(manager) and not drawn(reader_again)
    assert "Add an action" in manager.content.decode()
    for page in (reader, reader_again.content.decode()):
        assert "Add an action" not in page


def test_my_actions_are_kept_for_each_person_apart(story, client):
    story.action("1.1", title="Audit the case files")
    client.force_login(story.bob)
    assert "Audit the case files" in kept(client, my_actions_url(story))
    client.force_login(story.alice)
    assert "Audit the case files" not in client.get(my_actions_url(story)).content.decode()


def test_the_page_is_drawn_afresh_when_the_cache_is_down(story, client, monkeypatch):
    story.action("1.1", title="Audit the case files")

    pages_cache_down(monkeypatch)
    client.force_login(story.victor)
    assert "Audit the case files" in client.get(plan_url(story)).content.decode()
    transition_perform(obj=Action.objects.get(plan=story.plan), name="agree", user=story.alice)
    assert AGREED_TAG in client.get(plan_url(story)).content.decode()


# -- query counts ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("person", "address"),
    [
        ("alice", lambda story: plan_url(story)),
        ("alice", lambda story: plan_url(story, q="Bulk", state="proposed", page=2)),
        ("bob", my_actions_url),
    ],
)
def test_queries_kept_and_drawn_do_not_grow_with_actions(story, client, person, address):
    client.force_login(getattr(story, person))
    url = address(story)
    bulk_actions(story, 10)
    drawn_10 = queries_for(client, url)
    kept(client, url)
    kept_10 = queries_for(client, url)
    bulk_actions(story, 290, start=10)
    drawn_300 = queries_for(client, url)
    kept(client, url)
    kept_300 = queries_for(client, url)
    assert (drawn_10, kept_10) == (drawn_300, kept_300)
    assert kept_300 < drawn_300
