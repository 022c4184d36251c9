"""History is append-only and tamper-evident: each organisation's history rows form one hash
chain, written by the database whatever inserts them, and ``audit_verify`` names the first row
that no longer fits it."""

import importlib
import io
import itertools
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction

from plans.models import Action
from tenants.history import (
    CHAIN_COLUMNS,
    HistoryRecord,
    chain_hash,
    chain_verify,
    history_models,
)
from tenants.models import AuditEntry, HistoryChainHead
from tenants.postgresql.roles import owner_connection
from tenants.scoping import across_tenants, tenant_scope
from tenants.services import audit_record
from workflow.models import Approval, TransitionLog
from workflow.services import transition_perform

ROOT = Path(__file__).resolve().parents[2]


def verify(*args) -> tuple[bool, str]:
    out = io.StringIO()
    try:
        call_command("audit_verify", *args, stdout=out)
    except CommandError as error:
        return False, out.getvalue() + str(error)
    return True, out.getvalue()


def as_owner(*statements: tuple[str, list]) -> None:
    """SQL run as the tables' owner, as someone holding the database's own keys may: on a
    connection of its own, so the test's rows must be committed (a transactional test)."""
    with owner_connection() as owner, owner.cursor() as cursor:
        for sql, params in statements:
            cursor.execute(sql, params)


def history_of(tenant) -> list[HistoryRecord]:
    rows = [row for model in history_models() for row in model.objects.filter(tenant=tenant).all()]
    return sorted(rows, key=lambda row: row.chain_position)


def note(tenant, by, summary="A note") -> AuditEntry:
    return audit_record(
        tenant_id=tenant.pk,
        actor=by,
        subject_type=AuditEntry.Subject.ORGANISATION,
        subject_id=tenant.pk,
        subject_label=tenant.name,
        summary=summary,
        always=True,
    )


def test_every_history_row_takes_the_next_position_of_its_organisations_chain(story):
    before = HistoryChainHead.objects.get(tenant=story.tenant).position
    action = story.action_in(Action.State.SIGNED_OFF)

    rows = history_of(story.tenant)
    assert [row.chain_position for row in rows] == list(range(1, len(rows) + 1))
    assert before < len(rows)
    for previous, row in itertools.pairwise(rows):
        assert row.chain_previous == previous.chain_hash
    # The sign-off's approval and its step, in the order written, as the newest rows.
    newest = [type(row) for row in rows if getattr(row, "object_id", None) == action.pk][-2:]
    assert newest == [Approval, TransitionLog]
    head = HistoryChainHead.objects.get(tenant=story.tenant)
    assert (head.position, head.hash) == (rows[-1].chain_position, rows[-1].chain_hash)
    # Sunderland's history is a chain of its own.
    with across_tenants():
        assert HistoryChainHead.objects.get(tenant=story.other_tenant).position < head.position


def test_a_rows_hash_covers_its_position_the_previous_hash_and_its_content(story):
    entry = AuditEntry.objects.get(pk=note(story.tenant, story.erin, "Checked: é ✓").pk)
    (fields,) = AuditEntry.history_versions()
    texts = {
        "id": str(entry.pk),
        "tenant_id": str(story.tenant.pk),
        "actor_id": str(story.erin.pk),
        "actor_name": str(story.erin),
        "at": entry.at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "subject_type": "organisation",
        "subject_id": str(story.tenant.pk),
        "subject_label": story.tenant.name,
        "summary": "Checked: é ✓",
        "reason": "",
    }
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT CAST(changes AS TEXT) FROM tenants_auditentry WHERE id = %s", [entry.pk]
        )
        texts["changes"] = cursor.fetchone()[0]
    assert entry.chain_hash == chain_hash(
        fields,
        position=entry.chain_position,
        previous=entry.chain_previous,
        texts=[texts[column] for column, _kind in fields.columns],
    )


def test_rows_inserted_in_bulk_are_chained_too(story):
    action = story.action()
    TransitionLog.objects.bulk_create(
        TransitionLog(
            tenant=story.tenant,
            content_type=ContentType.objects.get_for_model(Action),
            object_id=action.pk,
            transition="agree",
            from_state="proposed",
            to_state="agreed",
            actor=story.alice,
            comment=f"Bulk {n}",
        )
        for n in range(5)
    )

    positions = TransitionLog.objects.filter(comment__startswith="Bulk ").values_list(
        "chain_position", flat=True
    )
    assert None not in positions and len(set(positions)) == 5
    assert chain_verify(tenant_id=story.tenant.pk).intact


def test_every_column_of_a_history_table_is_chained_or_is_the_chain_itself():
    """A new column must join a new version of its table's chained fields (and a migration
    that installs it); otherwise it could be changed without the chain showing it."""
    for model in history_models():
        columns = {field.column for field in model._meta.concrete_fields}
        latest = model.history_versions()[-1]
        chained = {column for column, _kind in latest.columns}
        assert columns - set(CHAIN_COLUMNS) == chained, model._meta.label


def test_a_history_row_is_never_changed_or_deleted_through_the_models(story):
    entry = note(story.tenant, story.erin)
    entry.summary = "Rewritten"
    with pytest.raises(Exception, match="History is never changed"):
        entry.save()
    with pytest.raises(Exception, match="History is never deleted"):
        entry.delete()
    assert AuditEntry.objects.get(pk=entry.pk).summary == "A note"


def test_an_organisation_with_history_cannot_be_deleted(story):
    from django.db.models import ProtectedError

    with across_tenants(), pytest.raises(ProtectedError):
        story.other_tenant.delete()


@pytest.mark.django_db(transaction=True)
def test_history_written_before_the_chain_is_chained_by_its_migration(postgres, story):
    """The migration's backfill, run again on rows whose chain columns are emptied (as the
    owner may): each organisation's rows chained in the order they were written."""
    from django.apps import apps

    chain_migration = importlib.import_module("plans.migrations.0011_history_chain")
    story.action_in(Action.State.SIGNED_OFF)
    rows = {tenant.pk: len(history_of(tenant)) for tenant in (story.tenant, story.other_tenant)}
    as_owner(
        *[
            (
                f"UPDATE {table} SET chain_position = NULL, chain_version = NULL, "
                "chain_previous = NULL, chain_hash = NULL",
                [],
            )
            for table in HISTORY_TABLES
        ],
        ("DELETE FROM tenants_historychainhead", []),
    )
    assert not chain_verify(tenant_id=story.tenant.pk).intact

    with owner_connection():
        chain_migration.chain_existing_history(apps, None)

    for tenant_id, count in rows.items():
        check = chain_verify(tenant_id=tenant_id)
        assert check.intact, check.broken
        assert check.rows == check.head_position == count
    step = TransitionLog.objects.filter(tenant=story.tenant).order_by("chain_position").last()
    assert step.transition == "sign_off"


# --- audit_verify --------------------------------------------------------------------------


def test_audit_verify_passes_on_untouched_history(story):
    story.action_in(Action.State.SIGNED_OFF)

    passed, output = verify()

    assert passed, output
    head = HistoryChainHead.objects.get(tenant=story.tenant)
    assert f"{story.tenant.slug}: intact" in output
    assert f"head {head.position}:{head.hash}" in output
    assert f"{story.other_tenant.slug}: intact" in output


@pytest.mark.django_db(transaction=True)
def test_audit_verify_names_a_row_changed_by_the_owner(postgres, story):
    story.action_in(Action.State.SIGNED_OFF)
    step = TransitionLog.objects.filter(tenant=story.tenant, transition="start").get()
    as_owner(
        ("UPDATE workflow_transitionlog SET comment = 'Started early' WHERE id = %s", [step.pk])
    )

    passed, output = verify("--tenant", story.tenant.slug)

    assert not passed
    assert (
        f"{story.tenant.slug}: BROKEN after {step.chain_position - 1} intact rows, at position "
        f"{step.chain_position}, workflow.transitionlog row {step.pk}: content changed"
    ) in output
    assert "History does not verify for 1 of 1 organisation." in output


@pytest.mark.django_db(transaction=True)
def test_audit_verify_names_the_row_after_a_deleted_one(postgres, story):
    story.action_in(Action.State.IN_PROGRESS)
    agreed = TransitionLog.objects.get(tenant=story.tenant, transition="agree")
    after = TransitionLog.objects.get(tenant=story.tenant, transition="start")
    assert after.chain_position == agreed.chain_position + 1
    as_owner(("DELETE FROM workflow_transitionlog WHERE id = %s", [agreed.pk]))

    passed, output = verify("--tenant", story.tenant.slug)

    assert not passed
    assert (
        f"at position {after.chain_position}, workflow.transitionlog row {after.pk}: row "
        f"missing: position {agreed.chain_position} is not in any history table (deleted)"
    ) in output


@pytest.mark.django_db(transaction=True)
def test_audit_verify_notices_the_newest_row_deleted(postgres, story):
    entry = note(story.tenant, story.erin)
    as_owner(("DELETE FROM tenants_auditentry WHERE id = %s", [entry.pk]))

    passed, output = verify("--tenant", story.tenant.slug)

    assert not passed
    head = HistoryChainHead.objects.get(tenant=story.tenant).position
    assert f"row missing: the head is at {head}, and position {head} is gone" in output


@pytest.mark.django_db(transaction=True)
def test_audit_verify_notices_the_head_moved_back(postgres, story):
    first = AuditEntry.objects.get(pk=note(story.tenant, story.erin).pk)
    note(story.tenant, story.erin, "Second")
    as_owner(
        (
            "UPDATE tenants_historychainhead SET position = %s, hash = %s WHERE tenant_id = %s",
            [first.chain_position, first.chain_hash, story.tenant.pk],
        )
    )

    passed, output = verify("--tenant", story.tenant.slug)

    assert not passed
    assert (
        f"link broken: the head is at {first.chain_position} but tenants.auditentry has a row "
        f"at position {first.chain_position + 1} (the head was moved back)"
    ) in output


@pytest.mark.django_db(transaction=True)
def test_audit_verify_names_a_row_whose_link_was_rewritten(postgres, story):
    first, second = note(story.tenant, story.erin), note(story.tenant, story.erin, "Second")
    second = AuditEntry.objects.get(pk=second.pk)
    # Content and hash made to agree again: the next row's link shows it.
    as_owner(
        (
            "UPDATE tenants_auditentry SET summary = 'Rewritten', chain_hash = %s WHERE id = %s",
            ["0" * 64, first.pk],
        )
    )

    passed, output = verify("--tenant", story.tenant.slug)

    assert not passed
    assert f"tenants.auditentry row {first.pk}: content changed" in output
    as_owner(
        (
            "UPDATE tenants_auditentry SET summary = 'A note', chain_hash = %s WHERE id = %s",
            [second.chain_previous, first.pk],
        ),
        (
            "UPDATE tenants_auditentry SET chain_previous = %s WHERE id = %s",
            ["f" * 64, second.pk],
        ),
    )
    passed, output = verify("--tenant", story.tenant.slug)
    assert not passed
    assert f"tenants.auditentry row {second.pk}: link broken" in output


def test_audit_verify_checks_a_head_printed_on_a_report(story):
    note(story.tenant, story.erin)
    head = HistoryChainHead.objects.get(tenant=story.tenant)
    note(story.tenant, story.erin, "Later")

    passed, output = verify("--tenant", story.tenant.slug, "--head", str(head))
    assert passed, output
    assert f"head {head} is in the chain" in output

    wrong = f"{head.position}:{'a' * 64}"
    passed, output = verify("--tenant", story.tenant.slug, "--head", wrong)
    assert not passed
    assert f"head {wrong} is NOT in the chain; at position {head.position} there is" in output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--tenant", "nowhere"], 'There is no organisation with the slug "nowhere".'),
        (["--head", "3:abc"], "--head needs --tenant"),
        (["--tenant", "x", "--head", "3:abc"], '"3:abc" is not a head: write it as printed'),
        (["--tenant", "x", "--head", "three:" + "a" * 64], "is not a head"),
    ],
)
def test_audit_verify_explains_what_it_was_given_wrong(story, args, message):
    passed, output = verify(*args)
    assert not passed
    assert message in output


# --- The database refuses changes to history ---------------------------------------------


@pytest.fixture
def application_role(postgres):
    """The role the tests connect as, as the service does: the application's, which owns
    nothing."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT current_user, pg_get_userbyid(relowner) FROM pg_class "
            "WHERE relname = 'workflow_transitionlog'"
        )
        role, owner = cursor.fetchone()
    assert role != owner
    return role


def as_role(role: str, sql: str, params=()) -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f'SET LOCAL ROLE "{role}"')
        cursor.execute(sql, params)


HISTORY_TABLES = [
    "workflow_transitionlog",
    "workflow_approval",
    "tenants_auditentry",
    "plans_publishedreport",
]


@pytest.fixture
def every_kind_of_history(story):
    from tests.plans.reports.test_publishing import publish

    story.lscb_needs_two()
    action = story.action_in(Action.State.EVIDENCED)
    transition_perform(obj=action, name="sign_off", user=story.carol)
    publish(story)
    return story


@pytest.mark.parametrize("table", HISTORY_TABLES)
def test_the_application_role_cannot_update_or_delete_history(
    application_role, every_kind_of_history, table
):
    story = every_kind_of_history
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT max(id) FROM {table} WHERE tenant_id = %s", [story.tenant.pk])
        row_id = cursor.fetchone()[0]
    assert row_id is not None

    with pytest.raises(DatabaseError, match="History is append-only: UPDATE"):
        as_role(
            application_role, f"UPDATE {table} SET tenant_id = tenant_id WHERE id = %s", [row_id]
        )
    with pytest.raises(DatabaseError, match="History is append-only: DELETE"):
        as_role(application_role, f"DELETE FROM {table} WHERE id = %s", [row_id])

    assert chain_verify(tenant_id=story.tenant.pk).intact


def test_the_application_role_writes_history_and_the_chain_follows(application_role, story):
    with connection.cursor() as cursor:
        cursor.execute(f'SET ROLE "{application_role}"')
        try:
            note(story.tenant, story.erin, "Written by the application")
        finally:
            cursor.execute("RESET ROLE")
    entry = AuditEntry.objects.get(summary="Written by the application")
    head = HistoryChainHead.objects.get(tenant=story.tenant)
    assert (entry.chain_position, entry.chain_hash) == (head.position, head.hash)
    assert chain_verify(tenant_id=story.tenant.pk).intact


def test_the_application_role_cannot_move_the_head(application_role, story):
    for sql in [
        "UPDATE tenants_historychainhead SET position = 1 WHERE tenant_id = %s",
        "DELETE FROM tenants_historychainhead WHERE tenant_id = %s",
    ]:
        with pytest.raises(DatabaseError, match="head moves only when history is written"):
            as_role(application_role, sql, [story.tenant.pk])
    assert chain_verify(tenant_id=story.tenant.pk).intact


# --- Concurrency -------------------------------------------------------------------------

WRITERS = 2
ROWS_EACH = 40


@pytest.mark.django_db(transaction=True)
def test_two_connections_writing_one_organisations_history_never_fork_it(postgres, story):
    """Each thread has its own connection and writes rows as fast as it can, each row in its
    own transaction, both released together: every position is taken once."""
    barrier = threading.Barrier(WRITERS)
    failures = []

    def write(index):
        try:
            with tenant_scope(story.tenant):
                barrier.wait(timeout=10)
                for n in range(ROWS_EACH):
                    with transaction.atomic():
                        note(story.tenant, story.erin, f"Writer {index} row {n}")
        except Exception as error:  # reported below, in the test's thread
            failures.append(error)
        finally:
            connection.close()

    start = HistoryChainHead.objects.get(tenant=story.tenant).position
    threads = [threading.Thread(target=write, args=(i,)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert not failures
    written = AuditEntry.objects.filter(summary__startswith="Writer ")
    positions = sorted(written.values_list("chain_position", flat=True))
    assert positions == list(range(start + 1, start + WRITERS * ROWS_EACH + 1))
    # Both writers' rows are interleaved in the one chain, not two chains side by side.
    writers = [row.summary.split()[1] for row in written.order_by("chain_position")]
    assert len(set(writers)) == WRITERS
    check = chain_verify(tenant_id=story.tenant.pk)
    assert check.intact, check.broken
    assert check.head_position == start + WRITERS * ROWS_EACH


# --- The demo on SQLite --------------------------------------------------------------------


def test_the_demo_on_sqlite_chains_its_history(tmp_path):
    """The zero-service demo: migrations, the demo's story and audit_verify on SQLite."""
    env = {
        **os.environ,
        "DEBUG": "1",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "MEDIA_ROOT": str(tmp_path / "media"),
    }
    env.pop("REDIS_URL", None)

    def run(*args):
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )

    for step in (["migrate", "-v0"], ["seed_demo"]):
        done = run(*step)
        assert done.returncode == 0, done.stderr
    verified = run("audit_verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "central-bedfordshire: intact" in verified.stdout
    assert "sunderland: intact" in verified.stdout

    import sqlite3

    with sqlite3.connect(tmp_path / "demo.sqlite3") as database:
        database.execute(
            "UPDATE workflow_transitionlog SET comment = 'Changed' WHERE id = "
            "(SELECT min(id) FROM workflow_transitionlog)"
        )
    tampered = run("audit_verify")
    assert tampered.returncode == 1
    assert "content changed" in tampered.stdout
