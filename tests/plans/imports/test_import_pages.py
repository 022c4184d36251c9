"""The pages of the plan import: upload, choose columns, check, import; who sees them, and the
action page's history saying what was recorded later."""

import re

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from plans.imports.views import PLAN_FILES
from plans.models import Action, PlanImport
from tenants.scoping import tenant_scope
from tests.plans.imports.helpers import HEADINGS, counts, csv_bytes, row, upload, xlsx_bytes
from tests.plans.test_partnerships import agencies  # noqa: F401 (a fixture)


def page(story, name, plan=None, **kwargs):
    return reverse(
        name, kwargs={"tenant_slug": story.tenant.slug, "pk": (plan or story.plan).pk, **kwargs}
    )


def uploaded(client, story, content=None, name="laming-plan.csv") -> str:
    """Upload a file; the address of its columns page."""
    response = client.post(
        page(story, "plan_import"), {"file": upload(content or csv_bytes(), name)}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return response["Location"]


def token_of(columns_url: str) -> str:
    return columns_url.split("?file=")[1]


def columns_posted(client, story, token, **changes):
    """Post the columns page as it was offered (the suggestion), with ``changes``."""
    offered = client.get(page(story, "plan_import_columns") + f"?file={token}")
    form = offered.context["form"]
    data = {"file": token}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        data[name] = "" if value is None else str(value)
    data.update(changes)
    return client.post(page(story, "plan_import_columns"), data)


# -- reaching the import ----------------------------------------------------------------------


def test_the_plan_page_offers_the_import_to_those_who_manage_the_plan(client, story):
    link = page(story, "plan_import")
    client.force_login(story.alice)
    assert link in client.get(page(story, "plan")).content.decode()
    client.force_login(story.bob)
    assert link not in client.get(page(story, "plan")).content.decode()


@pytest.mark.parametrize("person", ["alice", "erin"])
def test_managers_and_tenant_administrators_see_the_upload_page(client, story, person):
    client.force_login(getattr(story, person))
    response = client.get(page(story, "plan_import"))
    assert response.status_code == 200
    assert "Import actions from a spreadsheet" in response.content.decode()


@pytest.mark.parametrize("person", ["bob", "carol", "victor"])
def test_the_pages_are_refused_to_those_who_do_not_manage_the_plan(client, story, person):
    client.force_login(story.alice)
    token = token_of(uploaded(client, story))
    client.force_login(getattr(story, person))
    before = counts(story.plan)
    assert client.get(page(story, "plan_import")).status_code == 403
    response = client.post(page(story, "plan_import"), {"file": upload(csv_bytes())})
    assert response.status_code == 403
    columns = page(story, "plan_import_columns")
    assert client.get(f"{columns}?file={token}").status_code == 403
    assert client.post(columns, {"file": token}).status_code == 403
    assert client.post(page(story, "plan_import_confirm"), {"file": token}).status_code == 403
    assert counts(story.plan) == before


def test_a_manager_of_another_agency_is_refused_its_plan(
    client,
    story,
    agencies,  # noqa: F811 (the fixture imported above)
):
    client.force_login(agencies.hana)
    response = client.get(page(story, "plan_import", plan=agencies.police_plan))
    assert response.status_code == 403
    assert "Only managers who work for Bedfordshire Police" in response.content.decode()


def test_another_tenants_plan_answers_404_like_a_missing_one(client, story):
    client.force_login(story.alice)
    for name in ("plan_import", "plan_import_columns", "plan_import_confirm"):
        foreign = client.post(page(story, name, plan=story.other_plan), {"file": "x"})
        missing = client.post(
            reverse(name, kwargs={"tenant_slug": story.tenant.slug, "pk": 987_654_321}),
            {"file": "x"},
        )
        assert foreign.status_code == missing.status_code == 404
        assert foreign.content == missing.content


# -- upload, columns, check, import -----------------------------------------------------------


def test_upload_then_columns_then_check_then_import(client, story):
    client.force_login(story.alice)
    before = counts(story.plan)

    columns_url = uploaded(client, story)
    assert columns_url.startswith(page(story, "plan_import_columns") + "?file=")
    token = token_of(columns_url)
    held = client.session[PLAN_FILES.session_key][token]
    assert held["path"].startswith(f"plan-imports/{story.tenant.pk}/{story.alice.pk}/")

    offered = client.get(columns_url)
    body = offered.content.decode()
    assert offered.status_code == 200
    assert "Choose the columns to import" in body and "The file has 6 rows" in body
    form = offered.context["form"]
    assert form.initial["reference"] == HEADINGS.index("Reference")
    assert form.initial["progress_date"] == HEADINGS.index("Progress dated")
    assert form.initial["default_sign_off_body"] is None  # the plan authorises two bodies
    assert re.search(r'<option value="0" selected>A: Reference \(for example 1\.1\)</option>', body)

    checked = columns_posted(client, story, token, default_sign_off_body=str(story.lscb.pk))
    body = checked.content.decode()
    assert checked.status_code == 200, body[:3000]
    assert "Check the actions before importing" in body
    assert "6: 1 proposed, 1 agreed, 1 in progress, 1 evidenced, 1 signed off, 1 withdrawn" in body
    assert "Signed off 5 Oct 2009" in body
    assert counts(story.plan) == before

    done = client.post(page(story, "plan_import_confirm"), {"file": token})
    assert done.status_code == 302 and done["Location"] == page(story, "plan")
    assert Action.objects.filter(plan=story.plan).count() == 6
    assert not default_storage.exists(held["path"])
    assert token not in client.session[PLAN_FILES.session_key]
    plan_page = client.get(done["Location"]).content.decode()
    assert "6 actions imported from laming-plan.csv, with 12 steps and 2 progress notes" in (
        plan_page
    )
    assert "Train every front-line manager" in plan_page

    again = client.post(page(story, "plan_import_confirm"), {"file": token})
    assert again.status_code == 302 and again["Location"] == page(story, "plan_import")
    assert Action.objects.filter(plan=story.plan).count() == 6


def test_a_workbook_goes_through_the_same_pages(client, story):
    client.force_login(story.erin)
    token = token_of(uploaded(client, story, xlsx_bytes(), "laming-plan.xlsx"))
    checked = columns_posted(client, story, token, default_sign_off_body=str(story.lscb.pk))
    assert checked.status_code == 200
    client.post(page(story, "plan_import_confirm"), {"file": token})
    assert PlanImport.objects.get().file_name == "laming-plan.xlsx"


def test_every_problem_is_listed_by_row_and_nothing_is_imported(client, story):
    client.force_login(story.alice)
    content = csv_bytes(
        [
            row("1.1", partner="Luton Police"),
            row("1.2", state="Agreed"),
            row("1.1", due="03/31/2010"),
        ]
    )
    token = token_of(uploaded(client, story, content))
    before = counts(story.plan)
    response = columns_posted(client, story, token, default_sign_off_body=str(story.lscb.pk))
    body = response.content.decode()
    assert response.status_code == 400
    assert "Nothing has been imported: 4 problems found" in body
    assert "The lead partner &#x27;Luton Police&#x27; is not one of" in body
    assert "The state is Agreed, so the row needs the date agreed." in body
    assert "The reference 1.1 is also on row 2." in body
    assert "looks like month/day/year" in body
    assert re.search(r"<td[^>]*>4</td><td[^>]*>The reference 1.1 is also on row 2", body)
    assert counts(story.plan) == before


def test_a_required_field_left_unchosen_is_shown_beside_it(client, story):
    client.force_login(story.alice)
    token = token_of(uploaded(client, story))
    response = columns_posted(client, story, token, reference="")
    body = response.content.decode()
    assert response.status_code == 400
    assert 'href="#id_reference">Choose the column that holds the reference.</a>' in body
    assert "Nothing has been imported" not in body


def test_a_sign_off_body_the_plan_does_not_authorise_cannot_be_chosen(client, story):
    client.force_login(story.alice)
    token = token_of(uploaded(client, story))
    response = columns_posted(client, story, token, default_sign_off_body=str(story.executive.pk))
    assert response.status_code == 400
    assert "Choose a body that may sign off actions in this plan." in response.content.decode()


def test_an_unreadable_file_is_refused_on_upload_with_the_reason(client, story):
    client.force_login(story.alice)
    response = client.post(
        page(story, "plan_import"), {"file": upload(b"PK\x03\x04" + b"\x00" * 99, "plan.xlsx")}
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert "The file cannot be imported: 1 problem, listed below" in body
    assert "cannot be read as an Excel workbook" in body
    assert PLAN_FILES.session_key not in client.session


def test_upload_without_a_file_says_so(client, story):
    client.force_login(story.alice)
    response = client.post(page(story, "plan_import"), {})
    assert response.status_code == 400
    assert "Choose the CSV file or Excel workbook to import." in response.content.decode()


def test_a_file_that_is_too_large_is_refused_on_upload(client, story, monkeypatch):
    from plans.imports import services

    monkeypatch.setattr(services, "MAX_BYTES", 1_000)
    client.force_login(story.alice)
    response = client.post(page(story, "plan_import"), {"file": upload(csv_bytes() * 5)})
    assert response.status_code == 400
    assert "a plan&#x27;s file can be at most 1000\xa0bytes" in response.content.decode()


def test_a_file_held_for_another_plan_or_person_is_not_offered(client, story):
    client.force_login(story.alice)
    token = token_of(uploaded(client, story))
    with tenant_scope(story.tenant):
        from plans.services import action_plan_create

        other_plan = action_plan_create(
            tenant=story.tenant,
            framework=story.framework,
            title="Another plan",
            owner_body=story.executive,
            sign_off_bodies=[story.lscb],
        )
    response = client.get(page(story, "plan_import_columns", plan=other_plan) + f"?file={token}")
    assert response.status_code == 302
    assert response["Location"] == page(story, "plan_import", plan=other_plan)
    client.force_login(story.mark)
    response = client.get(page(story, "plan_import_columns") + f"?file={token}")
    assert response.status_code == 302


def test_confirming_without_a_check_imports_nothing(client, story):
    client.force_login(story.alice)
    token = token_of(uploaded(client, story))
    before = counts(story.plan)
    response = client.post(page(story, "plan_import_confirm"), {"file": token})
    assert response.status_code == 302
    assert response["Location"] == page(story, "plan_import")
    assert counts(story.plan) == before


def test_a_reference_added_after_the_check_is_shown_on_confirming(client, story):
    client.force_login(story.alice)
    token = token_of(uploaded(client, story))
    columns_posted(client, story, token, default_sign_off_body=str(story.lscb.pk))
    story.action("1.2")
    before = counts(story.plan)
    response = client.post(page(story, "plan_import_confirm"), {"file": token})
    assert response.status_code == 400
    assert "The plan already has an action 1.2" in response.content.decode()
    assert counts(story.plan) == before


# -- the history afterwards -------------------------------------------------------------------


def test_the_action_page_says_its_history_was_recorded_later_and_from_which_file(client, story):
    client.force_login(story.alice)
    token = token_of(uploaded(client, story, name="Laming plan.csv"))
    columns_posted(client, story, token, default_sign_off_body=str(story.lscb.pk))
    client.post(page(story, "plan_import_confirm"), {"file": token})
    action = Action.objects.get(plan=story.plan, reference="1.5")

    client.force_login(story.victor)
    body = client.get(
        reverse("action", kwargs={"tenant_slug": story.tenant.slug, "pk": action.pk})
    ).content.decode()

    today = date_format(timezone.localdate(), "j F Y")
    recorded = f"Recorded later, imported from Laming plan.csv by Alice Manager on {today}"
    assert body.count(recorded) == 5  # four steps and the progress note
    assert '<time datetime="2009-10-05">5 October 2009</time>' in body
    assert '<time datetime="2009-10-01">1 October 2009</time>' in body
    assert "Protocol in use across the county." in body
    assert "Someone since removed" not in body


def test_the_plan_history_records_the_import_once(client, story):
    client.force_login(story.alice)
    token = token_of(uploaded(client, story))
    columns_posted(client, story, token, default_sign_off_body=str(story.lscb.pk))
    client.post(page(story, "plan_import_confirm"), {"file": token})
    body = client.get(page(story, "plan")).content.decode()
    assert body.count("6 actions imported from laming-plan.csv") == 2  # the banner and history


def test_the_operator_reads_imports_in_the_admin_and_cannot_change_them(client, story):
    from tests.plans.imports.helpers import import_plan
    from tests.tenants.factories import UserFactory

    record = import_plan(story, csv_bytes()).record
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    listed = client.get(reverse("admin:plans_planimport_changelist")).content.decode()
    assert "laming-plan.csv" in listed
    change = reverse("admin:plans_planimport_change", args=[record.pk])
    assert client.get(change).status_code == 200
    assert client.post(change, {"file_name": "other.csv"}).status_code == 403
    delete = reverse("admin:plans_planimport_delete", args=[record.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert PlanImport.objects.get().file_name == "laming-plan.csv"
