from django.db import migrations

from tenants.row_security import row_security_apply, row_security_remove


class Migration(migrations.Migration):
    """Row-level security on every tenant-owned table, and the check that refuses a reference
    to another tenant's row (tenants/row_security.py). A later tenant-owned model is covered by
    a migration running ``row_security_apply`` again."""

    dependencies = [
        ("tenants", "0003_text_rules"),
        ("workflow", "0003_transition_recorded_at"),
        ("plans", "0008_published_report"),
        ("notifications", "0006_framework_files_schedule"),
    ]

    operations = [migrations.RunPython(row_security_apply, row_security_remove)]
