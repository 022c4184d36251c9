"""Security headers on every answer: the Content-Security-Policy, no copy kept by browsers or
proxies, and HTTPS only once the service is served over it."""

import datetime
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from plans.models import Action, PublishedReport
from plans.reports.publishing import report_publish
from plans.services import evidence_add_file
from tests.tenants.factories import UserFactory

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"

EXPECTED_DIRECTIVES = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}


def url(name: str, story, **kwargs) -> str:
    return reverse(name, kwargs={"tenant_slug": story.tenant.slug, **kwargs})


def never_stored(response) -> bool:
    # Django's never_cache (the admin, allauth's sign-in) says more, but no-store is what counts.
    return "no-store" in (part.strip() for part in response["Cache-Control"].split(","))


def directives(response) -> dict[str, str]:
    policy = response["Content-Security-Policy"]
    parts = (part.strip().split(None, 1) for part in policy.split(";") if part.strip())
    return {name: (rest[0] if rest else "") for name, *rest in parts}


def tenant_pages(story) -> list[str]:
    return [
        url("tenant_home", story),
        url("plan", story, pk=story.plan.pk),
        url("report", story, pk=story.plan.pk),
        url("dashboard", story),
        url("settings", story),
        url("audit", story),
    ]


def account_pages() -> list[str]:
    return [
        reverse("account_change_password"),
        reverse("notification_settings"),
    ]


# -- Content-Security-Policy -----------------------------------------------------------------


def test_every_page_carries_the_strict_policy(client, story):
    client.force_login(story.erin)
    for address in [*tenant_pages(story), *account_pages(), "/admin/", "/no-such-page/"]:
        response = client.get(address)
        found = directives(response)
        for name, sources in EXPECTED_DIRECTIVES.items():
            assert found.get(name, "").startswith(sources), (address, name, found)


def test_pages_signed_out_carry_the_policy_too(client):
    for address in [reverse("account_login"), reverse("account_reset_password")]:
        response = client.get(address)
        assert response.status_code == 200
        assert directives(response)["frame-ancestors"] == "'none'"


def test_nothing_inline_is_ever_allowed(client, story):
    client.force_login(story.alice)
    policy = client.get(url("tenant_home", story))["Content-Security-Policy"]
    assert "unsafe-inline" not in policy
    assert "unsafe-eval" not in policy


def test_pages_have_no_inline_script_style_or_event_handler(client, story):
    """The policy would block them in the browser; here they are caught in the markup."""
    client.force_login(story.erin)
    story.action_in(Action.State.IN_PROGRESS)
    for address in [*tenant_pages(story), *account_pages()]:
        page = client.get(address).content.decode()
        assert "<style" not in page, address
        assert " style=" not in page, address
        assert " onclick=" not in page and " onload=" not in page, address
        for tag in page.split("<script")[1:]:
            assert " src=" in tag.split(">", 1)[0], (address, tag[:80])


def test_a_nonce_is_sent_only_for_a_page_that_uses_one(rf):
    from csp.middleware import CSPMiddleware
    from django.http import HttpResponse
    from django.template import engines

    template = engines["django"].from_string('<script nonce="{{ CSP_NONCE }}">1</script>')

    def view(request):
        return HttpResponse(template.render({"CSP_NONCE": request.csp_nonce}, request))

    request = rf.get("/")
    response = CSPMiddleware(view)(request)
    nonce = str(request.csp_nonce)
    assert f'nonce="{nonce}"' in response.content.decode()
    assert f"'nonce-{nonce}'" in directives(response)["script-src"]

    plain = CSPMiddleware(lambda request: HttpResponse("<p>no script</p>"))(rf.get("/"))
    assert "nonce-" not in plain["Content-Security-Policy"]


# -- no-store --------------------------------------------------------------------------------


def test_tenant_pages_and_account_pages_are_never_stored(client, story):
    client.force_login(story.erin)
    for address in [*tenant_pages(story), *account_pages()]:
        response = client.get(address)
        assert response.status_code == 200, address
        assert never_stored(response), address


def test_signed_out_pages_and_redirects_are_never_stored(client, story):
    assert never_stored(client.get(reverse("account_login")))
    assert never_stored(client.get(reverse("account_reset_password")))
    to_sign_in = client.get(url("tenant_home", story))
    assert to_sign_in.status_code == 302
    assert to_sign_in["Cache-Control"] == "no-store"
    client.force_login(story.erin)
    to_organisation = client.get(reverse("home"))
    assert to_organisation.status_code == 302
    assert to_organisation["Cache-Control"] == "no-store"


def test_the_admin_is_never_stored_either(client, db):
    client.force_login(UserFactory(full_name="Olive Operator", is_staff=True, is_superuser=True))
    response = client.get("/admin/")
    assert never_stored(response)
    assert directives(response)["script-src"].startswith("'self'")


def test_every_download_is_never_stored(client, story):
    action = story.action_in(Action.State.IN_PROGRESS)
    evidence = evidence_add_file(
        action=action,
        by=story.bob,
        upload=SimpleUploadedFile("minutes.pdf", PDF, content_type="application/pdf"),
        description="Minutes",
    )
    today = timezone.localdate()
    published = report_publish(
        plan=story.plan,
        by=story.alice,
        meeting="LSCB board",
        meeting_date=today + datetime.timedelta(days=7),
        as_of=today,
        format=PublishedReport.Format.CSV,
        today=today,
    )
    client.force_login(story.victor)
    downloads = [
        url("evidence_download", story, pk=action.pk, evidence_pk=evidence.pk),
        url("report_download", story, pk=story.plan.pk, fmt="csv"),
        url("published_report", story, pk=story.plan.pk, published_pk=published.pk),
        url("dashboard_workbook", story),
    ]
    for address in downloads:
        response = client.get(address)
        assert response.status_code == 200, address
        assert response["Content-Disposition"].startswith("attachment"), address
        assert never_stored(response), address
        assert response["X-Content-Type-Options"] == "nosniff", address


# -- HTTPS -----------------------------------------------------------------------------------

PRODUCTION_HTTPS = {
    "SECURE_SSL_REDIRECT": True,
    "SECURE_HSTS_SECONDS": 31536000,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
    "SECURE_HSTS_PRELOAD": True,
    "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"),
}


@pytest.mark.django_db
def test_plain_http_is_redirected_to_https_in_production():
    with override_settings(**PRODUCTION_HTTPS):
        response = Client().get(reverse("account_login"), headers={"x-forwarded-proto": "http"})
    assert response.status_code == 301
    assert response["Location"] == "https://testserver" + reverse("account_login")


@pytest.mark.django_db
def test_https_answers_tell_browsers_to_use_nothing_else_for_a_year():
    with override_settings(**PRODUCTION_HTTPS):
        response = Client().get(reverse("account_login"), headers={"x-forwarded-proto": "https"})
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


# -- reports of what the policy refused ------------------------------------------------------

CHROMIUM_REPORT = {
    "csp-report": {
        "document-uri": "https://actions.example.org/t/luton/",
        "referrer": "",
        "violated-directive": "script-src-elem",
        "effective-directive": "script-src-elem",
        "original-policy": "default-src 'self'",
        "disposition": "enforce",
        "blocked-uri": "inline",
        "line-number": 12,
        "source-file": "https://actions.example.org/t/luton/",
        "status-code": 200,
        "script-sample": "",
    }
}


def test_every_policy_names_where_browsers_report_refusals(client):
    response = client.get(reverse("account_login"))
    assert directives(response)["report-uri"] == reverse("policy_report")


def test_a_browsers_report_is_logged_for_the_operator(client, caplog):
    response = client.post(
        reverse("policy_report"),
        data=json.dumps(CHROMIUM_REPORT),
        content_type="application/csp-report",
    )
    assert response.status_code == 204
    [record] = [record for record in caplog.records if record.name == "csp"]
    assert record.levelname == "WARNING"
    assert "'script-src-elem'" in record.getMessage()
    assert "'https://actions.example.org/t/luton/'" in record.getMessage()
    assert "line 12" in record.getMessage()


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not json",
        b"[]",
        b'{"something": "else"}',
        json.dumps({"csp-report": {"line-number": "twelve"}}).encode(),
        json.dumps({"csp-report": {"blocked-uri": "x" * 20_000}}).encode(),
    ],
)
def test_anything_but_a_report_is_refused_and_logs_nothing(client, caplog, body):
    response = client.post(
        reverse("policy_report"), data=body, content_type="application/csp-report"
    )
    assert response.status_code == 400
    assert "small JSON document" in response.content.decode()
    assert not [record for record in caplog.records if record.name == "csp"]


def test_a_report_line_cannot_forge_another_log_line(client, caplog):
    forged = {"csp-report": {**CHROMIUM_REPORT["csp-report"], "blocked-uri": "x\nERROR forged"}}
    client.post(
        reverse("policy_report"), data=json.dumps(forged), content_type="application/csp-report"
    )
    [record] = [record for record in caplog.records if record.name == "csp"]
    assert "\n" not in record.getMessage()


def test_the_report_address_takes_only_posts(client):
    assert client.get(reverse("policy_report")).status_code == 405
