"""The operator's Django admin runs under the same Content-Security-Policy as every page: each
model's list, add and change pages, the framework import, a workflow step asking for its reason
and django-celery-beat's schedules, with nothing refused (the ``page`` fixture fails the test on
any violation)."""

from django.contrib import admin
from django.urls import reverse
from django_celery_beat.models import CrontabSchedule
from playwright.sync_api import Page, expect

from plans.models import Action
from tenants.scoping import across_tenants
from tests.tenants.factories import UserFactory


def admin_pages() -> list[str]:
    """Every admin page of every registered model: its list, its add page, and the change page
    of its first row where it has one."""
    pages = [reverse("admin:index")]
    with across_tenants():
        for model in admin.site._registry:
            name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
            pages.append(reverse(f"{name}_changelist"))
            pages.append(reverse(f"{name}_add"))
            first = model._default_manager.order_by("pk").first()
            if first is not None:
                pages.append(reverse(f"{name}_change", args=[first.pk]))
    pages.append(reverse("admin:plans_framework_import"))
    return pages


def test_every_admin_page_runs_under_the_policy(page: Page, sign_in, story):
    story.action_in(Action.State.IN_PROGRESS, "1.1", title="Audit of referrals")
    story.action_in(Action.State.SIGNED_OFF, "1.2")
    daily = CrontabSchedule.objects.create(minute="0", hour="7", timezone="Europe/London")
    sign_in(UserFactory(full_name="Olive Operator", is_staff=True, is_superuser=True))

    visited = []
    for address in admin_pages():
        response = page.goto(address)
        # A read-only model's add page answers 403; it is still a page the policy covers.
        assert response.status in (200, 403), (address, response.status)
        page.wait_for_load_state("load")
        # The admin's date and time shortcuts add their icons once the page has loaded; leaving
        # before those have arrived would cancel them and look like a broken page.
        page.wait_for_function("Array.from(document.images).every((image) => image.complete)")
        visited.append(address)
    assert len(visited) > 20

    # An admin action that needs a reason asks for it on a page of its own.
    page.goto(reverse("admin:plans_action_changelist"))
    page.get_by_role("row", name="Audit of referrals").get_by_role("checkbox").check()
    page.get_by_label("Action:").select_option(label="Workflow: withdraw")
    page.get_by_role("button", name="Go").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("give a reason")

    # django-celery-beat's periodic task form still says a chosen schedule in words, from a
    # static script instead of its inline one.
    page.goto(reverse("admin:django_celery_beat_periodictask_add"))
    page.locator("#id_crontab").select_option(str(daily.pk))
    expect(page.locator(".field-crontab .help")).to_contain_text(
        f"Translation: {daily.human_readable}"
    )
