"""Someone typing another organisation's addresses gets the same "Page not found" as for an
organisation that does not exist, and sees nothing of it."""

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import tenant_url


@pytest.mark.parametrize("where", ["home", "plan", "action"])
def test_a_member_of_one_organisation_gets_page_not_found_at_anothers_address(
    page: Page, sign_in, story, where
):
    address = {
        "home": tenant_url("tenant_home", "sunderland"),
        "plan": tenant_url("plan", "sunderland", pk=story.other_plan.pk),
        "action": tenant_url("action", "sunderland", pk=story.other_action.pk),
    }[where]
    sign_in(story.bob)

    response = page.goto(address)

    assert response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    expect(page.get_by_text("CANARY")).to_have_count(0)
    expect(page.get_by_text("Sunderland")).to_have_count(0)
    # The same page, byte for byte, as for an organisation that does not use the service.
    missing = page.context.new_page().goto(address.replace("/sunderland/", "/no-such-council/"))
    assert missing.status == 404
    assert missing.body() == response.body()
