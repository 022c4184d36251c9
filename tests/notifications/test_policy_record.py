"""Changes to a tenant's escalation settings are recorded like any other change, and the GOV.UK
Notify key never appears in the record."""

from notifications.services import escalation_policy_update
from tenants.models import AuditEntry


def test_changing_the_escalation_settings_records_before_and_after(story):
    escalation_policy_update(tenant=story.tenant, by=story.erin, managers_days=15)

    [entry] = AuditEntry.objects.filter(subject_type=AuditEntry.Subject.ESCALATION_POLICY)
    assert entry.actor == story.erin
    assert [(row.label, row.before, row.after) for row in entry.rows] == [
        (
            "Body monitoring the plan and the lead agency's committee, working days overdue",
            "10",
            "15",
        )
    ]


def test_saving_the_same_settings_records_nothing(story):
    escalation_policy_update(tenant=story.tenant, by=story.erin, managers_days=10)
    assert not AuditEntry.objects.filter(subject_type=AuditEntry.Subject.ESCALATION_POLICY)


def test_a_new_notify_key_is_recorded_as_changed_without_the_key(story):
    escalation_policy_update(
        tenant=story.tenant,
        by=story.erin,
        channel="notify",
        notify_template_id="f33517ff-2a88-4f6e-b855-c550268ce08a",
        notify_api_key="council-" + "secretkeyvalue" * 4,
    )
    [entry] = AuditEntry.objects.filter(subject_type=AuditEntry.Subject.ESCALATION_POLICY)
    rows = {row.label: (row.before, row.after) for row in entry.rows}
    assert rows["Send e-mails by"] == (
        "E-mail from this service",
        "GOV.UK Notify (your own service)",
    )
    assert rows["GOV.UK Notify API key"][1].startswith("a key with fingerprint ")
    assert "secretkeyvalue" not in str(entry.changes)
