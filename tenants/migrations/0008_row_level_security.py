from django.db import migrations

from tenants.row_security import row_security_apply, row_security_remove


class Migration(migrations.Migration):
    """Row-level security on every tenant-owned table, and the check that refuses a reference
    to another tenant's row (tenants/row_security.py). A later tenant-owned model is covered by
    a migration running ``row_security_apply`` again."""

    dependencies = [
        ("tenants", "0007_user_session_generation"),
        ("workflow", "0004_history_chain"),
        ("plans", "0011_history_chain"),
        ("notifications", "0008_notify_key_encrypted"),
    ]

    operations = [migrations.RunPython(row_security_apply, row_security_remove)]
