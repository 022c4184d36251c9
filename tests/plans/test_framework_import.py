"""Importing a framework from CSV or XLSX: every problem listed with its row, all or nothing, an
outline updated in place without breaking the actions that answer it."""

import hashlib
import io
from io import StringIO

import pytest
from django.contrib.admin.models import ADDITION, CHANGE, LogEntry
from django.contrib.auth.models import Permission
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from django.urls import reverse
from openpyxl import Workbook

from plans.frameworks import held
from plans.frameworks.services import FrameworkImportRefused, framework_import
from plans.models import ActionRecommendation, Framework, Recommendation, Theme
from tenants.models import AuditEntry, User
from tenants.scoping import across_tenants
from tests.plans.factories import FrameworkFactory, RecommendationFactory, ThemeFactory
from tests.tenants.factories import UserFactory

HEADINGS = [
    "Theme number",
    "Theme title",
    "Recommendation number",
    "Recommendation title",
    "Full text",
]
ROWS = [
    [1, "Referrals", 1, "Acknowledge every referral", "Acknowledge each referral in writing."],
    [1, "Referrals", 2, "Feedback to referrers", "Tell referrers the outcome,\nwithin five days."],
    [2, "Supervision", 3, "Recorded supervision", ""],
]


def csv_bytes(rows=ROWS, headings=HEADINGS, *, bom=True) -> bytes:
    import csv

    out = StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headings)
    writer.writerows(rows)
    return ("\ufeff" if bom else "").encode() + out.getvalue().encode()


def xlsx_bytes(rows=ROWS, headings=HEADINGS, *, write_only=False) -> bytes:
    workbook = Workbook(write_only=write_only)
    sheet = workbook.create_sheet("Recommendations") if write_only else workbook.active
    sheet.append(headings)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def upload(content: bytes, name: str = "review.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


def counts() -> tuple[int, int, int, int]:
    return (
        Framework.objects.count(),
        Theme.objects.count(),
        Recommendation.objects.count(),
        AuditEntry.objects.filter(subject_type=AuditEntry.Subject.FRAMEWORK).count(),
    )


def import_local(story, file, *, by=None, short_name="scr-child-h", title="SCR Child H", **kw):
    return framework_import(
        file=file,
        tenant=story.tenant,
        by=by or story.erin,
        short_name=short_name,
        title=title,
        **kw,
    )


@pytest.fixture
def operator(db) -> User:
    return UserFactory(full_name="Olive Operator", is_staff=True, is_superuser=True)


# -- good files -----------------------------------------------------------------------------


def test_a_good_csv_imports_a_local_framework_owned_by_the_tenant_throughout(story):
    report = import_local(story, upload(csv_bytes()))

    framework = report.framework
    assert report.imported and framework.tenant == story.tenant and not framework.is_outline
    assert [(t.position, t.title, t.tenant_id) for t in framework.themes.order_by("position")] == [
        (1, "Referrals", story.tenant.pk),
        (2, "Supervision", story.tenant.pk),
    ]
    recommendations = list(framework.recommendations.order_by("number"))
    assert [(r.number, r.theme.position, r.title) for r in recommendations] == [
        (1, 1, "Acknowledge every referral"),
        (2, 1, "Feedback to referrers"),
        (3, 2, "Recorded supervision"),
    ]
    assert recommendations[1].text == "Tell referrers the outcome,\nwithin five days."
    assert {r.tenant_id for r in recommendations} == {story.tenant.pk}


def test_a_csv_without_a_byte_order_mark_or_with_semicolons_reads_the_same(story):
    plain = import_local(story, upload(csv_bytes(bom=False)), dry_run=True)
    semicolons = (
        b"Theme number;Theme title;Recommendation number;Recommendation title;Full text\n"
        b'1;Referrals;1;Acknowledge every referral;"In writing; within a day."\n'
    )
    semicolon = import_local(story, upload(semicolons), dry_run=True)
    assert plain.ok and plain.recommendation_count == 3
    assert semicolon.ok and semicolon.file.rows[0].text == "In writing; within a day."


def test_headings_are_matched_whatever_their_case_and_order(story):
    headings = [
        "full text",
        "RECOMMENDATION TITLE",
        "recommendation number",
        "Theme Title",
        "theme number",
    ]
    rows = [list(reversed(row)) for row in ROWS]
    report = import_local(story, upload(csv_bytes(rows, headings)), dry_run=True)
    assert report.ok and [t.title for t in report.themes] == ["Referrals", "Supervision"]


def test_a_good_xlsx_imports_the_same_framework(story):
    rows = [list(row) for row in ROWS]
    rows[2][0] = 2.0  # a number a spreadsheet stored as a decimal
    report = import_local(story, upload(xlsx_bytes(rows), "review.xlsx"))
    assert report.imported
    assert list(
        report.framework.recommendations.order_by("number").values_list("number", "title", "text")
    ) == [(r[2], r[3], r[4]) for r in ROWS]
    assert report.framework.themes.count() == 2


def test_a_dry_run_summarises_and_changes_nothing(story):
    before = counts()
    report = import_local(story, upload(csv_bytes()), dry_run=True)
    assert report.ok and not report.imported and report.existing is None
    assert [(t.number, t.title, t.recommendations) for t in report.themes] == [
        (1, "Referrals", 2),
        (2, "Supervision", 1),
    ]
    assert report.recommendation_count == 3
    assert counts() == before


def test_a_local_import_is_recorded_in_the_audit_record_with_before_and_after(story):
    first = import_local(story, upload(csv_bytes()))
    rows = [*ROWS[:2], [2, "Supervision", 3, "Monthly recorded supervision", ""]]
    import_local(story, upload(csv_bytes(rows), "review-v2.csv"), title="SCR Child H (final)")

    entries = list(
        AuditEntry.objects.filter(
            subject_type=AuditEntry.Subject.FRAMEWORK, subject_id=first.framework.pk
        )
    )
    assert [e.actor for e in entries] == [story.erin, story.erin]
    created = {c["field"]: (c["before"], c["after"]) for c in entries[0].changes}
    assert created["recommendations"] == ("", "3")
    assert created["file"] == ("", "review.csv")
    updated = {c["field"]: (c["before"], c["after"]) for c in entries[1].changes}
    assert updated["title"] == ("SCR Child H", "SCR Child H (final)")
    assert updated["file"] == ("", "review-v2.csv")
    assert "1 changed" in entries[1].summary and "2 unchanged" in entries[1].summary


# -- bad files: every problem, nothing imported -------------------------------------------------


def _rows_with(index: int, **changes) -> list[list]:
    rows = [list(row) for row in ROWS]
    names = ["theme_number", "theme_title", "number", "title", "text"]
    for name, value in changes.items():
        rows[index][names.index(name)] = value
    return rows


BAD_CSV = [
    pytest.param(
        csv_bytes(headings=[*HEADINGS[:4], "Wording"]),
        [(1, "The column 'Wording' is not one the import knows"), (1, "no 'Full text' column")],
        id="wrong-columns",
    ),
    pytest.param(
        csv_bytes(headings=[*HEADINGS, "Theme title"]),
        [(1, "'Theme title' appears twice")],
        id="column-twice",
    ),
    pytest.param(
        csv_bytes(_rows_with(2, number=1)),
        [(4, "Recommendation 1 is also on row 2")],
        id="duplicate-numbers",
    ),
    pytest.param(
        csv_bytes(_rows_with(1, theme_title="Referral")),
        [(3, "Theme 1 is called 'Referrals' on row 2 but 'Referral' here")],
        id="theme-with-two-titles",
    ),
    pytest.param(
        csv_bytes(_rows_with(2, theme_title="Referrals")),
        [(4, "The theme title 'Referrals' is theme 1 on row 2, but theme 2 here")],
        id="title-with-two-themes",
    ),
    pytest.param(
        csv_bytes(_rows_with(0, title="  ")),
        [(2, "The recommendation title is empty")],
        id="empty-title",
    ),
    pytest.param(
        csv_bytes(_rows_with(1, theme_title="")),
        [(3, "The theme title is empty")],
        id="empty-theme-title",
    ),
    pytest.param(
        csv_bytes(_rows_with(0, number="1a", theme_number="")),
        [(2, "The theme number is missing"), (2, "recommendation number '1a' is not a whole")],
        id="non-numeric",
    ),
    pytest.param(
        csv_bytes(_rows_with(0, number=0)),
        [(2, "recommendation number 0 is not between 1 and 9,999")],
        id="number-out-of-range",
    ),
    pytest.param(
        csv_bytes(_rows_with(1, text="bad\x00byte"), bom=False),
        [(3, "full text contains a control character (U+0000)")],
        id="nul-in-text",
    ),
    pytest.param(
        csv_bytes(_rows_with(0, title="bell\x07")),
        [(2, "recommendation title contains a control character (U+0007)")],
        id="control-in-title",
    ),
    pytest.param(
        csv_bytes(_rows_with(2, title="x" * 301, text="y" * 20_001)),
        [(4, "title is 301 characters long; keep it to 300"), (4, "keep it to 20,000")],
        id="over-long",
    ),
    pytest.param(
        csv_bytes([[*ROWS[0], "stray"]]),
        [(2, "a value in column F, which has no heading")],
        id="unquoted-comma",
    ),
    pytest.param(
        "Theme number,Theme title\n1,A\n".encode("utf-16"),
        [(None, "not UTF-8 text")],
        id="not-utf8",
    ),
    pytest.param(csv_bytes([]), [(None, "no recommendations below its headings")], id="no-rows"),
    pytest.param(b"", [(None, "The file is empty")], id="empty"),
]


@pytest.mark.parametrize(("content", "expected"), BAD_CSV)
def test_a_bad_csv_gets_every_problem_with_its_row_and_imports_nothing(story, content, expected):
    before = counts()
    report = import_local(story, upload(content), dry_run=True)
    found = [(p.row, p.message) for p in report.problems]
    for row, text in expected:
        assert any(r == row and text in m for r, m in found), (row, text, found)
    with pytest.raises(FrameworkImportRefused) as refused:
        import_local(story, upload(content))
    assert [str(p) for p in refused.value.report.problems] == [str(p) for p in report.problems]
    assert counts() == before


def test_problems_on_many_rows_are_all_listed(story):
    rows = [[1, "Referrals", n, "" if n % 2 else f"Title {n}", ""] for n in range(1, 41)]
    report = import_local(story, upload(csv_bytes(rows)), dry_run=True)
    assert [p.row for p in report.problems] == list(range(2, 42, 2))


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("review.xlsx", b"PK\x03\x04" + b"\x00" * 200, "cannot be read as an Excel workbook"),
        ("review.xlsx", b"Theme number,Theme title\n", "not a genuine Excel workbook"),
        ("review.xlsx", xlsx_bytes()[:-200], "cannot be read as an Excel workbook"),
        ("review.pdf", b"%PDF-1.4\n", "Upload a CSV file (.csv) or an Excel workbook (.xlsx)"),
        ("review.xls", b"\xd0\xcf\x11\xe0", "save the spreadsheet as an Excel workbook (.xlsx)"),
        ("review", b"a,b\n", "Upload a CSV file"),
        ("review.csv", xlsx_bytes(), "is a workbook, not CSV text"),
    ],
)
def test_a_file_that_is_not_readable_csv_or_xlsx_is_refused(story, name, content, message):
    before = counts()
    report = import_local(story, upload(content, name), dry_run=True)
    assert [p.row for p in report.problems] == [None]
    assert message in report.problems[0].message
    with pytest.raises(ValidationError, match=r"file|workbook|Upload"):
        import_local(story, upload(content, name))
    assert counts() == before


def test_xlsx_problems_name_their_rows_too(story):
    content = xlsx_bytes(_rows_with(1, number="two"))
    report = import_local(story, upload(content, "review.xlsx"), dry_run=True)
    assert [(p.row, p.message) for p in report.problems] == [
        (3, "The recommendation number 'two' is not a whole number.")
    ]


@pytest.mark.parametrize("kind", ["csv", "xlsx"])
def test_twenty_thousand_rows_are_refused_with_a_message(story, kind):
    rows = [
        [1 + n // 1000, f"Theme {1 + n // 1000}", n + 1, f"Title {n + 1}", ""]
        for n in range(20_000)
    ]
    content = csv_bytes(rows) if kind == "csv" else xlsx_bytes(rows, write_only=True)
    before = counts()
    report = import_local(story, upload(content, f"huge.{kind}"), dry_run=True)
    assert [str(p) for p in report.problems] == [
        "The file has more than 2,000 rows; a framework can have at most 2,000 "
        "recommendations. Check that this is the right file."
    ]
    with pytest.raises(FrameworkImportRefused):
        import_local(story, upload(content, f"huge.{kind}"))
    assert counts() == before


class Unreadable(io.BytesIO):
    def read(self, *args):
        raise AssertionError("a file over the limit must not be read")


def test_a_thirty_megabyte_file_is_refused_before_it_is_read(story):
    before = counts()
    huge = SimpleUploadedFile("review.csv", b"")
    huge.file, huge.size = Unreadable(), 30 * 1024 * 1024
    report = import_local(story, huge, dry_run=True)
    assert [str(p) for p in report.problems] == [
        "The file is 30.0\xa0MB; a framework file can be at most 5.0\xa0MB."
    ]
    with pytest.raises(FrameworkImportRefused):
        import_local(story, huge)
    assert counts() == before


def test_a_workbook_that_unpacks_to_too_much_is_refused(story, monkeypatch):
    from plans.frameworks import reading

    monkeypatch.setattr(reading, "MAX_UNPACKED_BYTES", 1000)
    report = import_local(story, upload(xlsx_bytes(), "review.xlsx"), dry_run=True)
    assert "unpacks to" in report.problems[0].message


@pytest.mark.parametrize(
    ("short_name", "title", "message"),
    [
        ("", "A title", "Enter a short name"),
        ("has spaces", "A title", "letters, numbers and hyphens"),
        ("laming-2009", "A title", "A national framework is already called laming-2009"),
        ("fine", " ", "Enter the framework's title"),
    ],
)
def test_the_framework_details_are_checked_too(story, short_name, title, message):
    before = counts()
    with pytest.raises(FrameworkImportRefused, match=message) as refused:
        import_local(story, upload(csv_bytes()), short_name=short_name, title=title)
    assert refused.value.report.problems[0].field in ("short_name", "title")
    assert counts() == before


# -- who may import -------------------------------------------------------------------------


@pytest.mark.parametrize("person", ["alice", "bob", "victor", "charlie"])
def test_only_a_tenant_administrator_imports_a_local_framework(story, person):
    before = counts()
    with pytest.raises(PermissionDenied, match="Only a tenant administrator"):
        import_local(story, upload(csv_bytes()), by=getattr(story, person), dry_run=True)
    with pytest.raises(PermissionDenied):
        import_local(story, upload(csv_bytes()), by=getattr(story, person))
    assert counts() == before


def test_only_the_operator_imports_a_national_framework(story):
    before = counts()
    with pytest.raises(PermissionDenied, match="service's operator"):
        framework_import(
            file=upload(csv_bytes()), tenant=None, by=story.erin, short_name="n", title="N"
        )
    assert counts() == before


def test_staff_need_the_framework_permissions_for_a_national_import(db):
    staff = UserFactory(is_staff=True)
    with pytest.raises(PermissionDenied):
        framework_import(file=upload(csv_bytes()), tenant=None, by=staff, short_name="n", title="N")
    staff.user_permissions.add(
        *Permission.objects.filter(codename__in=["add_framework", "change_framework"])
    )
    staff = User.objects.get(pk=staff.pk)
    report = framework_import(
        file=upload(csv_bytes()), tenant=None, by=staff, short_name="n", title="N"
    )
    assert report.imported and report.framework.tenant is None


# -- importing over a framework already stored ----------------------------------------------


@pytest.fixture
def outline(story):
    """The story's outline framework with a second theme and recommendations 2 and 3, of which
    only 1 is answered by an action."""
    theme2 = ThemeFactory(framework=story.framework, position=2, title="Support for children")
    for number in (2, 3):
        RecommendationFactory(framework=story.framework, theme=theme2, number=number)
    story.action_in("agreed")  # answers recommendation 1
    return story.framework


OFFICIAL = [
    [1, "Leadership", 1, "Official title one", "Official text one."],
    [2, "Children", 2, "Official title two", "Official text two."],
    [2, "Children", 3, "Official title three", "Official text three."],
]


def import_national(by, rows, **kw):
    return framework_import(
        file=upload(csv_bytes(rows), "laming-official.csv"),
        tenant=None,
        by=by,
        short_name="laming-2009",
        title="The Protection of Children in England: A Progress Report",
        **kw,
    )


def test_importing_over_an_outline_updates_it_in_place_and_keeps_the_actions_links(
    story, outline, operator
):
    kept = {r.number: r.pk for r in Recommendation.objects.filter(framework=outline)}
    moved = [[2, "Children", 1, "Official title one", "Official text one."], *OFFICIAL[1:]]
    moved.append([3, "Legal", 4, "Official title four", ""])

    dry = import_national(operator, moved, dry_run=True)
    assert dry.ok and dry.existing == outline
    assert [c.number for c in dry.changes.changed] == [1, 2, 3]
    assert dry.changes.changed[0].what == ("title", "full text", "theme")
    assert dry.changes.added == [4] and dry.changes.removed == []
    assert dry.changes.themes_added == [3] and dry.changes.themes_renamed == [2]
    assert dry.changes.themes_removed == [1]

    report = import_national(operator, moved)

    outline.refresh_from_db()
    assert report.framework == outline and not outline.is_outline
    assert outline.title == "The Protection of Children in England: A Progress Report"
    stored = {r.number: r for r in Recommendation.objects.filter(framework=outline)}
    assert {n: stored[n].pk for n in kept} == kept
    assert stored[1].title == "Official title one" and stored[1].theme.position == 2
    assert stored[4].tenant_id is None and stored[4].theme.title == "Legal"
    assert ActionRecommendation.objects.filter(recommendation_id=kept[1]).count() == 1
    entry = LogEntry.objects.get()
    assert entry.user == operator and entry.action_flag == CHANGE
    assert entry.object_id == str(outline.pk) and "laming-official.csv" in entry.change_message


def test_an_import_may_remove_a_recommendation_no_action_answers(story, outline, operator):
    import_national(operator, OFFICIAL[:2])
    assert list(
        Recommendation.objects.filter(framework=outline).values_list("number", flat=True)
    ) == [1, 2]
    assert set(Theme.objects.filter(framework=outline).values_list("position", flat=True)) == {
        1,
        2,
    }


def test_an_import_that_leaves_out_a_recommendation_an_action_answers_is_refused(
    story, outline, operator
):
    before = counts()
    titles = list(Recommendation.objects.order_by("pk").values_list("title", flat=True))
    dry = import_national(operator, OFFICIAL[1:], dry_run=True)
    assert [str(p) for p in dry.problems] == [
        f"Recommendation 1 ('{story.recommendation.title}') cannot be removed: an action "
        f"answers it (1.1 in 'Laming action plan', Central Bedfordshire Council). Keep it in "
        "the file; its wording and theme can change."
    ]
    with pytest.raises(FrameworkImportRefused, match="Recommendation 1"):
        import_national(operator, OFFICIAL[1:])
    outline.refresh_from_db()
    assert outline.is_outline
    assert list(Recommendation.objects.order_by("pk").values_list("title", flat=True)) == titles
    assert counts() == before and not LogEntry.objects.exists()


def test_an_action_linked_after_the_check_still_stops_the_removal(
    story, outline, operator, monkeypatch
):
    """The database keeps the rule too: were the check to miss a link made a moment before the
    import writes, removing the recommendation is refused and nothing is imported."""
    from plans.frameworks import services as import_services

    monkeypatch.setattr(import_services, "recommendation_removal_refusals", lambda removed: [])
    before = counts()
    with pytest.raises(FrameworkImportRefused, match="changed while it was being imported"):
        import_national(operator, OFFICIAL[1:])
    outline.refresh_from_db()
    assert outline.is_outline and counts() == before
    assert Recommendation.objects.filter(pk=story.recommendation.pk).exists()


def test_a_new_national_framework_is_recorded_in_the_admin_log(operator):
    report = framework_import(
        file=upload(csv_bytes()), tenant=None, by=operator, short_name="new-one", title="New"
    )
    entry = LogEntry.objects.get()
    assert entry.action_flag == ADDITION and entry.user == operator
    assert entry.object_id == str(report.framework.pk)
    assert {t.tenant_id for t in Theme.objects.filter(framework=report.framework)} == {None}


def test_a_tenant_cannot_import_over_another_tenants_framework(story):
    with across_tenants():
        theirs = FrameworkFactory(tenant=story.other_tenant, short_name="scr-child-h")
    report = import_local(story, upload(csv_bytes()))
    assert report.framework != theirs and report.existing is None
    assert report.framework.tenant == story.tenant
    assert theirs.recommendations.count() == 0


# -- the tenant administrator's pages -------------------------------------------------------


def page(story, name, **kwargs):
    return reverse(name, kwargs={"tenant_slug": story.tenant.slug, **kwargs})


def test_the_settings_page_links_to_frameworks(client, story):
    client.force_login(story.erin)
    response = client.get(reverse("settings", kwargs={"tenant_slug": story.tenant.slug}))
    assert page(story, "frameworks") in response.content.decode()


def test_the_list_shows_the_tenants_own_and_the_national_frameworks_only(client, story):
    own = FrameworkFactory(tenant=story.tenant, title="Our own review", is_outline=False)
    with across_tenants():
        FrameworkFactory(tenant=story.other_tenant, title="CANARY their review")
    client.force_login(story.erin)
    response = client.get(page(story, "frameworks"))
    body = response.content.decode()
    assert response.status_code == 200
    assert "Our own review" in body and story.framework.title in body and "CANARY" not in body
    assert page(story, "framework", pk=own.pk) in body


def test_upload_shows_a_preview_and_confirming_imports(client, story):
    client.force_login(story.erin)
    before = counts()
    response = client.post(
        page(story, "framework_import"),
        {"title": "SCR Child H", "short_name": "scr-child-h", "file": upload(csv_bytes())},
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "Check the framework before importing" in body
    assert "2 themes, 3 recommendations" in body and "Supervision" in body
    assert counts() == before
    token = response.context["token"]
    stored = client.session[held.SESSION_KEY][token]["path"]
    assert stored.startswith(f"framework-imports/{story.tenant.pk}/{story.erin.pk}/")

    response = client.post(page(story, "framework_import_confirm"), {"token": token})

    framework = Framework.objects.get(tenant=story.tenant, short_name="scr-child-h")
    assert response.status_code == 302
    assert response["Location"] == page(story, "framework", pk=framework.pk)
    assert framework.recommendations.count() == 3
    assert not default_storage.exists(stored)
    assert token not in client.session[held.SESSION_KEY]
    detail = client.get(response["Location"]).content.decode()
    assert "Feedback to referrers" in detail and "within five days." in detail
    again = client.post(page(story, "framework_import_confirm"), {"token": token})
    assert again.status_code == 302 and again["Location"] == page(story, "framework_import")
    assert Framework.objects.filter(short_name="scr-child-h").count() == 1


def test_a_bad_upload_lists_every_problem_and_imports_nothing(client, story):
    client.force_login(story.erin)
    before = counts()
    content = csv_bytes([*ROWS, [2, "Supervision", 3, "", ""]])
    response = client.post(
        page(story, "framework_import"),
        {"title": "SCR Child H", "short_name": "scr-child-h", "file": upload(content)},
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert "There is a problem" in body and "The file has 2 problems" in body
    assert "Recommendation 3 is also on row 4." in body
    assert "The recommendation title is empty." in body
    assert counts() == before
    assert held.SESSION_KEY not in client.session


def test_a_six_megabyte_upload_is_refused_with_a_message(client, story):
    # Larger bodies than any form takes are refused before they are read (tests/test_bad_input.py).
    client.force_login(story.erin)
    before = counts()
    big = csv_bytes() + b"x" * (6 * 1024 * 1024)
    response = client.post(
        page(story, "framework_import"),
        {"title": "SCR Child H", "short_name": "scr-child-h", "file": upload(big)},
    )
    assert response.status_code == 400
    assert "a framework file can be at most 5.0" in response.content.decode()
    assert counts() == before


def test_missing_details_are_shown_beside_their_fields(client, story):
    client.force_login(story.erin)
    response = client.post(page(story, "framework_import"), {"title": "", "short_name": "a b"})
    body = response.content.decode()
    assert response.status_code == 400
    assert "Enter the framework&#x27;s title." in body
    assert "Choose the CSV file or Excel workbook to import." in body


def test_a_check_that_no_longer_holds_at_confirmation_is_shown_and_imports_nothing(client, story):
    client.force_login(story.erin)
    response = client.post(
        page(story, "framework_import"),
        {"title": "Outline again", "short_name": "mine", "file": upload(csv_bytes())},
    )
    token = response.context["token"]
    # Meanwhile the operator creates a national framework with that short name.
    FrameworkFactory(short_name="mine")
    before = counts()
    response = client.post(page(story, "framework_import_confirm"), {"token": token})
    assert response.status_code == 400
    assert "A national framework is already called mine" in response.content.decode()
    assert counts() == before


def test_a_token_held_for_another_tenant_is_not_accepted(client, story):
    client.force_login(story.erin)
    session = client.session
    path = default_storage.save("framework-imports/x/y/z", ContentFile(csv_bytes()))
    session[held.SESSION_KEY] = {
        "t": {
            "tenant": story.other_tenant.pk,
            "path": path,
            "name": "r.csv",
            "sha256": hashlib.sha256(csv_bytes()).hexdigest(),
            "details": {"title": "T", "short_name": "t"},
            "at": 9e12,
        }
    }
    session.save()
    before = counts()
    response = client.post(page(story, "framework_import_confirm"), {"token": "t"})
    assert response.status_code == 302 and counts() == before


@pytest.mark.parametrize("person", ["alice", "victor"])
def test_the_pages_are_refused_to_anyone_but_a_tenant_administrator(client, story, person):
    client.force_login(getattr(story, person))
    before = counts()
    assert client.get(page(story, "frameworks")).status_code == 403
    assert client.get(page(story, "framework_import")).status_code == 403
    response = client.post(
        page(story, "framework_import"),
        {"title": "T", "short_name": "t", "file": upload(csv_bytes())},
    )
    assert response.status_code == 403
    assert client.post(page(story, "framework_import_confirm"), {"token": "x"}).status_code == 403
    assert client.get(page(story, "framework", pk=story.framework.pk)).status_code == 403
    assert counts() == before


def test_another_tenants_framework_is_the_same_404_as_a_missing_one(client, story):
    with across_tenants():
        theirs = FrameworkFactory(tenant=story.other_tenant, title="CANARY")
    client.force_login(story.erin)
    foreign = client.get(page(story, "framework", pk=theirs.pk))
    missing = client.get(page(story, "framework", pk=987_654_321))
    assert foreign.status_code == missing.status_code == 404
    assert foreign.content == missing.content


def test_the_national_framework_page_shows_its_outline(client, story):
    client.force_login(story.erin)
    body = client.get(page(story, "framework", pk=story.framework.pk)).content.decode()
    assert "This is an outline" in body and story.recommendation.title in body
    assert "Import a new version" not in body


# -- the operator's management command --------------------------------------------------------


def write(tmp_path, rows, name="laming.csv") -> str:
    path = tmp_path / name
    path.write_bytes(csv_bytes(rows) if name.endswith(".csv") else xlsx_bytes(rows))
    return str(path)


def test_the_command_dry_run_prints_the_summary_and_changes_nothing(
    story, outline, operator, tmp_path
):
    before = counts()
    out = StringIO()
    call_command(
        "import_framework",
        write(tmp_path, OFFICIAL, "laming.xlsx"),
        "--short-name=laming-2009",
        "--title=Laming",
        f"--by={operator.email.upper()}",
        "--dry-run",
        stdout=out,
    )
    text = out.getvalue()
    assert "Would update laming-2009: Recommendations: 3 changed." in text
    assert "2. Children (2)" in text and "Dry run: nothing has been imported." in text
    assert counts() == before
    outline.refresh_from_db()
    assert outline.is_outline


def test_the_command_imports_and_records_who(story, outline, operator, tmp_path):
    out = StringIO()
    call_command(
        "import_framework",
        write(tmp_path, OFFICIAL),
        "--short-name=laming-2009",
        "--title=Laming",
        "--published=2009-03-12",
        f"--by={operator.email}",
        stdout=out,
    )
    outline.refresh_from_db()
    assert "Updated laming-2009" in out.getvalue()
    assert not outline.is_outline and outline.title == "Laming"
    assert LogEntry.objects.get().user == operator


def test_the_command_lists_problems_and_imports_nothing(story, outline, operator, tmp_path):
    before = counts()
    err = StringIO()
    with pytest.raises(CommandError, match="2 problem"):
        call_command(
            "import_framework",
            write(tmp_path, [*OFFICIAL[1:], [2, "Children", 3, "", ""]]),
            "--short-name=laming-2009",
            "--title=Laming",
            f"--by={operator.email}",
            stderr=err,
        )
    assert "Row 4: Recommendation 3 is also on row 3." in err.getvalue()
    assert counts() == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--by=erin"], "No account"),
        (["--by={erin}"], "service's operator"),
        (["--by={operator}", "--published=12/03/2009"], "YYYY-MM-DD"),
    ],
)
def test_the_command_refuses_bad_arguments(story, operator, tmp_path, args, message):
    args = [a.format(erin=story.erin.email, operator=operator.email) for a in args]
    before = counts()
    with pytest.raises(CommandError, match=message):
        call_command(
            "import_framework",
            write(tmp_path, OFFICIAL),
            "--short-name=laming-2009",
            "--title=Laming",
            *args,
        )
    assert counts() == before


# -- the operator's admin ---------------------------------------------------------------------


def test_the_admin_imports_a_national_framework_after_a_check(client, story, outline, operator):
    client.force_login(operator)
    changelist = client.get(reverse("admin:plans_framework_changelist")).content.decode()
    assert reverse("admin:plans_framework_import") in changelist
    before = counts()
    response = client.post(
        reverse("admin:plans_framework_import"),
        {
            "title": "Laming",
            "short_name": "laming-2009",
            "published": "2009-03-12",
            "file": upload(xlsx_bytes(OFFICIAL), "official.xlsx"),
        },
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "no problems found" in body and "Recommendations: 3 changed" in body
    assert counts() == before

    response = client.post(
        reverse("admin:plans_framework_import"), {"token": response.context["token"]}
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("admin:plans_framework_change", args=[outline.pk])
    outline.refresh_from_db()
    assert not outline.is_outline and str(outline.published) == "2009-03-12"
    entry = LogEntry.objects.get(action_flag=CHANGE)
    assert entry.user == operator and "official.xlsx" in entry.change_message


def test_the_admin_lists_problems_and_imports_nothing(client, story, outline, operator):
    client.force_login(operator)
    before = counts()
    response = client.post(
        reverse("admin:plans_framework_import"),
        {
            "title": "Laming",
            "short_name": "laming-2009",
            "file": upload(csv_bytes(OFFICIAL[1:]), "official.csv"),
        },
    )
    assert response.status_code == 400
    assert "Recommendation 1 (" in response.content.decode()
    assert counts() == before and not LogEntry.objects.exists()


def test_the_admin_import_needs_the_framework_permissions(client, db):
    staff = UserFactory(is_staff=True)
    client.force_login(staff)
    assert client.get(reverse("admin:plans_framework_import")).status_code == 403
