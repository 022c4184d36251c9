"""Framework files kept between the check and the confirmation (see ``plans.spreadsheets.held``)."""

from plans.spreadsheets.held import HeldFiles

FRAMEWORK_FILES = HeldFiles(session_key="framework_imports", folder="framework-imports")
SESSION_KEY = FRAMEWORK_FILES.session_key

hold_file = FRAMEWORK_FILES.hold
held_file = FRAMEWORK_FILES.held
release_file = FRAMEWORK_FILES.release
