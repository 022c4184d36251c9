from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.dispatch import Signal

# Sent inside the transaction of the change, so receivers' writes (the outbox) commit or roll
# back with it. A receiver that raises undoes the change.

# sender=Action, action, officer (the new lead officer), by (who made the change).
lead_officer_assigned = Signal()

# sender=Action, action, delegate, by.
delegate_added = Signal()

# What an endorsing body endorsed has changed (an action added, withdrawn, adopted away):
# sender=ActionPlan, plan, entry (the AuditEntry in the plan's history), change (what changed,
# in words: "action 4.2 added"), by.
plan_varied = Signal()


# The virus scanner found something in a file uploaded as evidence, and the file was refused:
# sender=Action, action, file_name, uploaded_by, entry (the AuditEntry recording it), later (True
# when found by a later scan of a file that had waited in quarantine, so the uploader is no
# longer on the page to be told).
evidence_virus_found = Signal()

# A file that waited in quarantine was checked and found clean, and has become evidence
# (``evidence``) or, when the action could no longer take it, was not added (``refusal``, the
# reason in words): sender=Action, action, file_name, uploaded_by, evidence, refusal.
quarantined_evidence_checked = Signal()

# Set while recording what happened in the past (the demo's story; later, importing a council's
# existing plan): the rows are written as usual, but nobody is told about old news.
recording_history: ContextVar[bool] = ContextVar("recording_history", default=False)


@contextmanager
def history_recorded() -> Iterator[None]:
    token = recording_history.set(True)
    try:
        yield
    finally:
        recording_history.reset(token)
