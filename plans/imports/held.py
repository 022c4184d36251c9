"""Plan files kept between the check and the confirmation (see ``plans.spreadsheets.held``)."""

from plans.spreadsheets.held import HeldFiles

PLAN_FILES = HeldFiles(session_key="plan_imports", folder="plan-imports")
