"""``report_file``: the one entry point pages and tasks call for a report in any format."""

import datetime
import io
import os
import subprocess
import sys
from dataclasses import replace

import openpyxl
import pytest
from django.conf import settings

from plans.reports.formats import FORMATS, ReportFormatError, filename, report_file
from plans.reports.formats.pdf import PdfUnavailable
from plans.reports.report import Counts
from tests.plans.reports.factories import agency_report, committee_report

NAME = "laming-action-plan-2009-to-2010-progress-as-of-2009-10-01"


@pytest.mark.parametrize(
    ("fmt", "content_type", "starts"),
    [
        ("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", b"PK"),
        (
            "docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            b"PK",
        ),
        ("csv", "text/csv; charset=utf-8", b"\xef\xbb\xbfTheme,"),
    ],
)
def test_each_format_comes_with_its_content_type_and_a_dated_file_name(fmt, content_type, starts):
    made = report_file(committee_report(), fmt)
    assert made.content_type == content_type
    assert made.filename == f"{NAME}.{fmt}"
    assert made.content.startswith(starts)


def test_a_pdf_comes_as_a_pdf():
    made = report_file(committee_report(), "pdf")
    assert (made.content_type, made.filename) == ("application/pdf", f"{NAME}.pdf")
    assert made.content.startswith(b"%PDF-")


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_a_plan_with_no_actions_yet_still_makes_a_file(fmt):
    report = replace(
        committee_report(with_changes=False), themes=[], counts=Counts(), signed_off_over_time=[]
    )
    assert report_file(report, fmt).content


def test_an_unknown_format_is_refused_naming_the_formats_there_are():
    with pytest.raises(ReportFormatError) as refused:
        report_file(committee_report(), "odt")
    assert str(refused.value) == (
        'There is no report format "odt". Choose one of: xlsx, csv, docx, pdf.'
    )


def test_several_plans_go_in_one_workbook_named_after_the_organisation():
    made = report_file([committee_report(), agency_report()], "xlsx")
    assert made.filename == (
        "central-bedfordshire-council-action-plans-progress-as-of-2009-10-01.xlsx"
    )
    workbook = openpyxl.load_workbook(io.BytesIO(made.content))
    assert len(workbook.sheetnames) == 3


@pytest.mark.parametrize("fmt", ["csv", "docx", "pdf"])
def test_several_plans_in_a_format_that_carries_one_are_refused(fmt):
    with pytest.raises(ReportFormatError) as refused:
        report_file([committee_report(), agency_report()], fmt)
    assert str(refused.value) == (
        f"A {fmt.upper()} file carries one plan. For several plans in one file, choose xlsx."
    )


def test_a_list_of_one_plan_is_the_same_as_the_plan():
    assert report_file([committee_report()], "csv") == report_file(committee_report(), "csv")


def test_no_plans_at_all_is_refused():
    with pytest.raises(ReportFormatError, match="There is no plan to report on"):
        report_file([], "xlsx")


def test_plans_of_two_organisations_never_share_a_file():
    other = replace(agency_report(), tenant_name="Sunderland Children's Trust")
    with pytest.raises(ReportFormatError, match="plans of one organisation only"):
        report_file([committee_report(), other], "xlsx")


def test_plans_on_two_dates_never_share_a_file():
    later = replace(agency_report(), as_of=datetime.date(2009, 11, 1))
    with pytest.raises(ReportFormatError, match="as of one date only"):
        report_file([committee_report(), later], "xlsx")


def test_a_title_with_nothing_to_slug_still_gets_a_file_name():
    report = replace(committee_report(), plan_title="«»")
    assert filename([report], "csv") == "action-plan-progress-as-of-2009-10-01.csv"


def test_file_names_stay_short_for_long_titles():
    report = replace(committee_report(), plan_title="Plan " * 60)
    name = filename([report], "pdf")
    assert len(name) <= 80 + len("-progress-as-of-2009-10-01.pdf")
    assert not name.startswith("-")
    assert "--" not in name


def test_every_format_is_offered_with_a_label():
    assert {name: each.label for name, each in FORMATS.items()} == {
        "xlsx": "Spreadsheet (XLSX)",
        "csv": "Spreadsheet (CSV)",
        "docx": "Document (DOCX)",
        "pdf": "PDF",
    }


def test_without_weasyprint_a_pdf_is_refused_with_the_reason(monkeypatch):
    # A module set to None in sys.modules cannot be imported: as on a server without it.
    monkeypatch.setitem(sys.modules, "weasyprint", None)
    with pytest.raises(PdfUnavailable) as refused:
        report_file(committee_report(), "pdf")
    assert str(refused.value).startswith(
        "PDF reports cannot be made on this server: WeasyPrint and the Pango library it draws "
        "with must be installed"
    )
    assert report_file(committee_report(), "docx").content.startswith(b"PK")


def test_the_service_starts_and_makes_other_formats_without_loading_weasyprint():
    code = (
        "import sys, django; django.setup(); "
        "import plans.reports.formats.pdf, plans.urls; "
        "from plans.reports.formats import report_file; "
        "from tests.plans.reports.factories import committee_report; "
        "[report_file(committee_report(), f) for f in ('xlsx', 'csv', 'docx')]; "
        "print('weasyprint' in sys.modules)"
    )
    finished = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.test_settings"},
        cwd=settings.BASE_DIR,
    )
    assert finished.stdout.strip() == "False"
