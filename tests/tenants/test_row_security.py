"""Row-level security: the database keeps each tenant's rows to itself, whatever the code asks.

These tests run, like every other, as the application's role, which owns nothing
(tests/conftest.py); they speak SQL to the database directly wherever the point is that the
application's own scoping is not what stops them.
"""

import pytest
from django.apps import apps
from django.db import IntegrityError, ProgrammingError, connection, transaction
from django.db.transaction import TransactionManagementError
from django_scopes import scopes_disabled

from plans.models import Action, ActionPlan, Framework
from tenants.models import Partner
from tenants.postgresql.roles import application_role_grant, owner_connection
from tenants.row_security import NATIONAL_POLICY, POLICY, tenant_owned_models
from tenants.scoping import across_tenants, tenant_scope
from tests.conftest import APPLICATION_ROLE_PASSWORD, build_story
from tests.querycount import statements_sent


def rows(sql: str, params=()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def scalar(sql: str, params=()):
    return rows(sql, params)[0][0]


@pytest.fixture
def two_tenants(postgres):
    """The story's two organisations, with no tenant active in the test."""
    return build_story()


def test_every_tenant_owned_table_has_an_enabled_and_forced_policy(postgres):
    owned = tenant_owned_models(apps.get_models())
    assert len(owned) > 20
    tables = [model._meta.db_table for model in owned]
    found = {
        name: (enabled, forced)
        for name, enabled, forced in rows(
            "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
            "WHERE relname = ANY(%s) AND relkind = 'r'",
            [tables],
        )
    }
    policies = {
        (table, policy) for table, policy in rows("SELECT tablename, policyname FROM pg_policies")
    }
    missing = [
        table
        for table in tables
        if found.get(table) != (True, True) or (table, POLICY) not in policies
    ]
    assert missing == []
    nullable = {m._meta.db_table for m in owned if m._meta.get_field("tenant").null}
    assert nullable >= {"plans_framework", "plans_theme", "plans_recommendation"}
    assert {t for t, p in policies if p == NATIONAL_POLICY} == nullable


def test_the_application_role_owns_nothing_and_cannot_pass_the_policies(postgres):
    superuser, bypass = rows(
        "SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user"
    )[0]
    assert (superuser, bypass) == (False, False)
    owned = scalar(
        "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = 'public' AND pg_get_userbyid(c.relowner) = current_user"
    )
    assert owned == 0
    with pytest.raises(ProgrammingError), transaction.atomic():
        rows("ALTER TABLE plans_action DISABLE ROW LEVEL SECURITY")


@pytest.mark.django_db(transaction=True)
def test_the_application_role_may_make_temporary_tables_where_public_may_not(postgres):
    """The escalation sweep streams its rows into a temporary table."""
    role, database = rows("SELECT current_user, current_database()")[0]
    with owner_connection(), connection.cursor() as cursor:
        cursor.execute(f'REVOKE TEMPORARY ON DATABASE "{database}" FROM PUBLIC')
    try:
        application_role_grant(role=role, password=APPLICATION_ROLE_PASSWORD)
        assert scalar("SELECT has_database_privilege(current_database(), 'TEMPORARY')")
    finally:
        with owner_connection(), connection.cursor() as cursor:
            cursor.execute(f'GRANT TEMPORARY ON DATABASE "{database}" TO PUBLIC')


def test_with_no_tenant_set_raw_sql_returns_no_tenants_rows(two_tenants):
    for model in tenant_owned_models(apps.get_models()):
        table = model._meta.db_table
        assert scalar(f'SELECT count(*) FROM "{table}" WHERE tenant_id IS NOT NULL') == 0, table
    # National reference data is everyone's.
    assert scalar("SELECT count(*) FROM plans_framework WHERE tenant_id IS NULL") == 1
    with across_tenants():
        assert scalar("SELECT count(*) FROM plans_action") == 1


def test_with_one_tenant_set_another_tenants_rows_are_invisible(two_tenants):
    story = two_tenants
    with tenant_scope(story.tenant):
        titles = {title for (title,) in rows("SELECT title FROM plans_actionplan")}
        assert titles == {"Laming action plan"}
        assert (
            scalar("SELECT count(*) FROM plans_action WHERE id = %s", [story.other_action.pk]) == 0
        )
        assert (
            scalar(
                "SELECT count(*) FROM tenants_membership WHERE tenant_id = %s",
                [story.other_tenant.pk],
            )
            == 0
        )
    with tenant_scope(story.other_tenant):
        titles = {title for (title,) in rows("SELECT title FROM plans_actionplan")}
        assert titles == {"CANARY Sunderland Laming plan"}


def test_with_one_tenant_set_another_tenants_rows_cannot_be_written(two_tenants):
    story = two_tenants
    with tenant_scope(story.tenant):
        with pytest.raises(ProgrammingError, match="row-level security"), transaction.atomic():
            rows(
                "INSERT INTO tenants_partner (tenant_id, name, kind, contact_id) "
                "VALUES (%s, 'Planted agency', 'police', NULL)",
                [story.other_tenant.pk],
            )
        changed = rows(
            "UPDATE plans_action SET title = 'Overwritten' WHERE id = %s RETURNING id",
            [story.other_action.pk],
        )
        assert changed == []
        deleted = rows(
            "DELETE FROM tenants_partner WHERE tenant_id = %s RETURNING id", [story.other_tenant.pk]
        )
        assert deleted == []
        # Nor can one of its own rows be handed to the other tenant.
        with pytest.raises(ProgrammingError, match="row-level security"), transaction.atomic():
            rows(
                "UPDATE tenants_partner SET tenant_id = %s WHERE id = %s",
                [story.other_tenant.pk, story.police.pk],
            )
    with tenant_scope(story.other_tenant):
        assert Action.objects.get(pk=story.other_action.pk).title == "CANARY Sunderland action"
        assert not Partner.objects.filter(name="Planted agency").exists()
        assert Partner.objects.count() == 1


def test_national_frameworks_are_read_by_everyone_and_written_only_across_tenants(two_tenants):
    story = two_tenants
    with tenant_scope(story.tenant):
        assert scalar("SELECT count(*) FROM plans_framework") == 1
        assert (
            rows(
                "UPDATE plans_framework SET title = 'Renamed' WHERE id = %s RETURNING id",
                [story.framework.pk],
            )
            == []
        )
        with pytest.raises(ProgrammingError, match="row-level security"), transaction.atomic():
            rows(
                "INSERT INTO plans_framework (tenant_id, title, short_name, source, is_outline) "
                "VALUES (NULL, 'Planted', 'planted', '', false)"
            )
    with across_tenants():
        Framework.objects.filter(pk=story.framework.pk).update(title="Renamed by the operator")
    assert Framework.objects.get(pk=story.framework.pk).title == "Renamed by the operator"


def test_a_reference_to_another_tenants_row_is_refused_by_the_database(two_tenants):
    story = two_tenants
    with tenant_scope(story.tenant):
        action = story.action()
    # Even on the cross-tenant path, where the policies let every row through.
    with across_tenants():
        with pytest.raises(IntegrityError, match="another organisation"), transaction.atomic():
            rows(
                "INSERT INTO plans_actionsupportingpartner (tenant_id, action_id, partner_id) "
                "SELECT %s, %s, id FROM tenants_partner WHERE tenant_id = %s",
                [story.tenant.pk, action.pk, story.other_tenant.pk],
            )
        with pytest.raises(IntegrityError, match="another organisation"), transaction.atomic():
            rows(
                "UPDATE plans_action SET plan_id = %s WHERE id = %s",
                [story.other_plan.pk, action.pk],
            )
        with pytest.raises(IntegrityError, match="another organisation"), transaction.atomic():
            ActionPlan.objects.filter(pk=story.plan.pk).update(
                owner_body=story.other_plan.owner_body
            )
        # A tenant's plan answering a national framework is fine.
        assert rows(
            "UPDATE plans_actionplan SET framework_id = %s WHERE id = %s RETURNING id",
            [story.framework.pk, story.plan.pk],
        ) == [(story.plan.pk,)]
    with tenant_scope(story.tenant):
        assert Action.objects.get(pk=action.pk).plan_id == story.plan.pk
        assert not action.supporting_partners.exists()


def test_a_query_with_django_scopes_switched_off_still_sees_one_tenants_rows(two_tenants):
    story = two_tenants
    with tenant_scope(story.tenant), scopes_disabled():
        assert {a.title for a in Action.objects.all()} == set()
        assert set(ActionPlan.objects.values_list("title", flat=True)) == {"Laming action plan"}
        assert not ActionPlan.objects.filter(pk=story.other_plan.pk).exists()
    with scopes_disabled():
        assert ActionPlan.objects.count() == 0


def test_a_rollback_to_a_savepoint_does_not_leave_the_wrong_tenant_set(two_tenants):
    story = two_tenants
    with tenant_scope(story.tenant):
        assert ActionPlan.objects.count() == 1
        try:
            with transaction.atomic(), tenant_scope(story.other_tenant):
                assert ActionPlan.objects.get().title == "CANARY Sunderland Laming plan"
                raise RuntimeError("undone")
        except RuntimeError:
            pass
        # The rollback undid the other tenant's setting; the next statement sets it again.
        with tenant_scope(story.other_tenant):
            assert ActionPlan.objects.get().title == "CANARY Sunderland Laming plan"
        assert ActionPlan.objects.get().title == "Laming action plan"


@pytest.mark.django_db(transaction=True)
def test_the_tenant_setting_ends_with_its_transaction_on_a_reused_connection(postgres):
    story = build_story()
    with tenant_scope(story.tenant):
        with transaction.atomic():
            backend = scalar("SELECT pg_backend_pid()")
            assert scalar("SELECT current_setting('app.tenant_id', true)") == str(story.tenant.pk)
            assert scalar("SELECT count(*) FROM plans_actionplan") == 1
        # A statement in autocommit under a scope gets a transaction of its own, and its setting.
        assert scalar("SELECT count(*) FROM plans_actionplan") == 1
    with across_tenants(), transaction.atomic():
        assert scalar("SELECT current_setting('app.across_tenants', true)") == "on"
    assert scalar("SELECT pg_backend_pid()") == backend
    assert scalar("SELECT current_setting('app.tenant_id', true)") in ("", None)
    assert scalar("SELECT current_setting('app.across_tenants', true)") in ("", None)
    assert scalar("SELECT count(*) FROM plans_actionplan") == 0
    with transaction.atomic():
        assert scalar("SELECT count(*) FROM plans_actionplan") == 0


# -- a statement outside a transaction: the setting and the statement in one message -----------


@pytest.mark.django_db(transaction=True)
def test_a_statement_outside_a_transaction_takes_its_setting_in_the_same_message(postgres):
    story = build_story()
    with statements_sent() as sent, tenant_scope(story.tenant):
        titles = list(ActionPlan.objects.values_list("title", flat=True))
    assert titles == ["Laming action plan"]
    # One message, BEGIN and COMMIT included (implicitly): no separate round trip for each.
    assert len(sent) == 1
    assert sent[0].startswith("SELECT set_config('app.tenant_id', %s, true)")
    # Its setting ended with it, on the same connection.
    assert scalar("SELECT current_setting('app.tenant_id', true)") in ("", None)
    assert scalar("SELECT count(*) FROM plans_actionplan") == 0


@pytest.mark.django_db(transaction=True)
def test_a_write_outside_a_transaction_under_a_scope_reaches_only_its_tenants_rows(postgres):
    story = build_story()
    with tenant_scope(story.tenant):
        changed = ActionPlan.objects.all().update(title="Renamed")
        # Even one that names the other tenant's row.
        with connection.cursor() as cursor:
            cursor.execute(
                "UPDATE plans_actionplan SET title = 'Taken' WHERE id = %s", [story.other_plan.pk]
            )
            assert cursor.rowcount == 0
    assert changed == 1
    with across_tenants():
        assert dict(ActionPlan.objects.values_list("pk", "title")) == {
            story.plan.pk: "Renamed",
            story.other_plan.pk: "CANARY Sunderland Laming plan",
        }


@pytest.mark.django_db(transaction=True)
def test_a_failing_statement_outside_a_transaction_changes_nothing_and_leaves_the_connection_usable(
    postgres,
):
    story = build_story()
    with tenant_scope(story.tenant):
        # Moving its rows to another tenant: refused by the policy.
        with pytest.raises(ProgrammingError):
            ActionPlan.objects.all().update(tenant_id=story.other_tenant.pk)
        assert ActionPlan.objects.get().title == "Laming action plan"
    assert scalar("SELECT current_setting('app.tenant_id', true)") in ("", None)
    with across_tenants():
        assert ActionPlan.objects.filter(tenant=story.tenant).count() == 1


@pytest.mark.django_db(transaction=True)
def test_raw_sql_outside_a_transaction_under_a_scope_keeps_its_percent_signs_and_named_parameters(
    postgres,
):
    story = build_story()
    with tenant_scope(story.tenant), connection.cursor() as cursor:
        cursor.execute("SELECT '100%', count(*) FROM plans_actionplan")
        assert cursor.fetchall() == [("100%", 1)]
        cursor.execute(
            "SELECT count(*) FROM plans_actionplan WHERE title LIKE %(title)s",
            {"title": "Laming%"},
        )
        assert cursor.fetchall() == [(1,)]


# -- a write sent without waiting for its answer ----------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_write_sent_unanswered_runs_under_its_scope_and_is_read_before_the_next_statement(
    postgres,
):
    story = build_story()
    with tenant_scope(story.tenant):
        connection.send_unanswered(
            "UPDATE plans_actionplan SET title = %s WHERE id IN (%s, %s)",
            ["Renamed", story.plan.pk, story.other_plan.pk],
        )
        # The next statement reads the answer first, so it sees the write.
        assert ActionPlan.objects.get().title == "Renamed"
    with across_tenants():
        assert ActionPlan.objects.get(pk=story.other_plan.pk).title == (
            "CANARY Sunderland Laming plan"
        )
    assert scalar("SELECT current_setting('app.tenant_id', true)") in ("", None)


@pytest.mark.django_db(transaction=True)
def test_a_write_sent_unanswered_that_fails_raises_when_read_and_changes_nothing(postgres):
    story = build_story()
    with tenant_scope(story.tenant):
        connection.send_unanswered(
            "UPDATE plans_actionplan SET tenant_id = %s", [story.other_tenant.pk]
        )
        with pytest.raises(ProgrammingError, match="row-level security"):
            connection.answer_read()
        # The connection goes on, and nothing moved.
        assert ActionPlan.objects.get().title == "Laming action plan"


def test_a_write_is_not_sent_unanswered_inside_a_transaction(two_tenants):
    with tenant_scope(two_tenants.tenant), pytest.raises(TransactionManagementError):
        connection.send_unanswered("UPDATE plans_actionplan SET title = %s", ["Renamed"])
    with tenant_scope(two_tenants.tenant):
        assert scalar("SELECT title FROM plans_actionplan") == "Laming action plan"
