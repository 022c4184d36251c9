"""Scanning is off only in development and the demo; production with no scanner says so."""

import pytest

from plans.checks import evidence_scanner_configured
from tests.test_settings import GOOD_KEY, load_settings

PRODUCTION = {"DEBUG": "0", "SECRET_KEY": GOOD_KEY, "ALLOWED_HOSTS": "actions.example.org"}
SHOW = "import config.settings as s; print(s.EVIDENCE_SCANNING, repr(s.CLAMD_URL))"


def test_production_scans_evidence_by_default():
    result = load_settings(SHOW, **PRODUCTION, CLAMD_URL="tcp://clamav:3310")
    assert result.stdout.split() == ["True", "'tcp://clamav:3310'"], result.stderr


def test_production_refuses_to_start_with_scanning_off():
    result = load_settings(SHOW, **PRODUCTION, EVIDENCE_SCANNING="0")
    assert result.returncode != 0
    assert "EVIDENCE_SCANNING is off, which only development (DEBUG=1) allows" in result.stderr


def test_the_demo_runs_without_a_scanner_and_says_so():
    result = load_settings(SHOW, DEBUG="1", CLAMD_URL="")
    assert result.stdout.split() == ["False", "''"], result.stderr


def test_development_with_a_scanner_scans():
    result = load_settings(SHOW, DEBUG="1", CLAMD_URL="unix:///run/clamav/clamd.ctl")
    assert result.stdout.split()[0] == "True", result.stderr


def test_manage_check_fails_in_production_with_no_scanner():
    code = (
        "import os, django; os.environ['DJANGO_SETTINGS_MODULE'] = 'config.settings'; "
        "django.setup(); from django.core.management import call_command; call_command('check')"
    )
    result = load_settings(code, **PRODUCTION, CLAMD_URL="")
    assert result.returncode != 0
    assert "plans.E001" in result.stderr
    assert "every evidence upload waits in quarantine" in result.stderr


@pytest.mark.parametrize(
    ("overrides", "ids"),
    [
        ({"EVIDENCE_SCANNING": True, "CLAMD_URL": ""}, ["plans.E001"]),
        ({"EVIDENCE_SCANNING": True, "CLAMD_URL": "clamav:3310"}, ["plans.E002"]),
        ({"EVIDENCE_SCANNING": True, "CLAMD_URL": "tcp://clamav:3310"}, []),
        ({"EVIDENCE_SCANNING": False, "DEBUG": True}, ["plans.W001"]),
    ],
)
def test_the_system_check_names_a_missing_or_wrong_scanner(settings, overrides, ids):
    for name, value in overrides.items():
        setattr(settings, name, value)
    assert [message.id for message in evidence_scanner_configured(None)] == ids
