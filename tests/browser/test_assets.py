"""The live server gives the browser the service's stylesheet and scripts, and they work."""

from playwright.sync_api import Page, expect

from tests.browser.conftest import sign_in_with_form


def test_stylesheet_and_scripts_load_and_style_the_sign_in_page(page: Page, story):
    with page.expect_response(lambda r: r.url.endswith("/govuk/app.min.css")) as stylesheet:
        page.goto("/accounts/login/")
    assert stylesheet.value.status == 200

    heading = page.get_by_role("heading", name="Sign in")
    expect(heading).to_have_css("font-family", "arial, sans-serif")
    # GOV.UK Frontend's green button: the stylesheet is applied, not merely fetched.
    expect(page.get_by_role("button", name="Sign in")).to_have_css(
        "background-color", "rgb(15, 122, 82)"
    )
    # GOV.UK Frontend's script ran: it marks the body once it knows it is supported.
    expect(page.locator("body")).to_have_class(
        "govuk-template__body js-enabled govuk-frontend-supported"
    )


def test_a_person_signs_in_with_the_form_and_reaches_their_home_page(page: Page, story):
    sign_in_with_form(page, story.bob.email, "correct horse battery")

    expect(page).to_have_url("/t/central-bedfordshire/")
    expect(page.get_by_role("heading", level=1)).to_have_text("What needs you now")
    expect(page.get_by_role("heading", name="Your actions")).to_be_visible()


def test_a_javascript_error_on_a_page_is_recorded_against_the_test(page: Page, story):
    page.goto("/accounts/login/")
    with page.expect_event("pageerror"):
        page.evaluate("() => { setTimeout(() => { throw new Error('broken script'); }); }")
    with page.expect_console_message():
        page.evaluate("() => console.error('logged failure')")
    with page.expect_response("**/missing.css"):
        page.evaluate("() => fetch('/static/govuk/missing.css')")

    errors = "\n".join(page.problems.errors)
    assert "broken script" in errors
    assert "logged failure" in errors
    assert "404 for" in errors and "missing.css" in errors
    # Seen and checked here: the fixture would otherwise fail this test for them.
    page.problems.errors.clear()


def test_pages_carry_the_content_security_policy(page: Page, story):
    response = page.goto("/accounts/login/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "style-src 'self'" in policy
    assert "unsafe-inline" not in policy


def test_anything_the_policy_refuses_is_recorded_against_the_test(page: Page, story):
    page.goto("/accounts/login/")
    # What an injected tag or attribute would try: each is refused, and each refusal is seen.
    page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.injected = true";
            document.body.append(script);
            document.body.insertAdjacentHTML("beforeend", '<p style="color: red">styled</p>');
        }"""
    )
    expect(page.locator("p", has_text="styled")).not_to_have_css("color", "rgb(255, 0, 0)")
    assert page.evaluate("() => window.injected") is None
    page.wait_for_function("() => true")  # a round trip, so the browser's reports have arrived

    errors = "\n".join(page.problems.errors)
    assert "script-src-elem refused inline" in errors
    assert "style-src-attr refused inline" in errors
    page.problems.errors.clear()
