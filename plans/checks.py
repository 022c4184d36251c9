"""System checks of the plans app: evidence is never accepted unscanned in production."""

from django.conf import settings
from django.core.checks import Error, Warning, register

from plans.scanning import scanner_address


@register()
def evidence_scanner_configured(app_configs, **kwargs):
    # Settings refuse EVIDENCE_SCANNING off in production; what is left is a scanner that is
    # wanted but not (or wrongly) named, which would leave every upload waiting in quarantine.
    if not settings.EVIDENCE_SCANNING:
        if settings.DEBUG:
            return [
                Warning(
                    "Evidence uploads are not scanned for viruses (development only).",
                    hint="Set CLAMD_URL to a clamd's address to scan them.",
                    id="plans.W001",
                )
            ]
        return []
    if not settings.CLAMD_URL:
        return [
            Error(
                "No virus scanner is configured, so every evidence upload waits in quarantine.",
                hint="Set CLAMD_URL to clamd's address: tcp://clamav:3310 or "
                "unix:///run/clamav/clamd.ctl.",
                id="plans.E001",
            )
        ]
    try:
        scanner_address(settings.CLAMD_URL)
    except ValueError as error:
        return [Error(f"CLAMD_URL is not a scanner's address: {error}", id="plans.E002")]
    return []
