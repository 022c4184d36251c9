"""Django's PostgreSQL backend, telling the database which tenant the code is working for.

Row-level security (tenants/row_security.py) shows a tenant-owned row only when its tenant is
the one set for the current transaction, or when the transaction is on the cross-tenant path.
Both are set with ``set_config(..., true)``, PostgreSQL's SET LOCAL: the setting ends with the
transaction, so a connection that goes back to a pool, or is reused by the next request or
task, carries nothing over.

Before each statement the wanted setting (the active ``tenant_scope`` or ``across_tenants``) is
compared with what this transaction has already been told, and told again only when it differs:
one extra statement per transaction in the usual case. The setting is made on a cursor of its
own, not through Django's, so query counts and logs show the application's statements only.

A statement run in autocommit under a scope needs a transaction of its own, or its setting would
end before it ran. Sent as BEGIN, the setting, the statement and COMMIT, that is four round trips
for one statement: a worker recording each delivery as sent spent a quarter of its time on them.
So the setting and the statement go to the server as one message instead, which PostgreSQL runs
as one implicit transaction: one round trip. Django's cursors bind parameters on the client and
send such a message as it is; a server-side cursor or a batch (executemany) takes the long way.

``send_unanswered`` goes one step further for a write that something else may overlap: the
message is sent and the caller goes on at once, reading the answer later with ``answer_read``.
Until then the connection may not be used for anything else, so every use of it (a statement, a
cursor, a commit or rollback, a health check) reads the answer first.
"""

import select
from collections.abc import Mapping, Sequence

import psycopg
from django.db import transaction
from django.db.backends.postgresql import base
from django.db.transaction import TransactionManagementError
from psycopg import pq

from tenants.database_scope import NO_TENANT, DatabaseScope, database_scope

SETTINGS_SQL = (
    "SELECT set_config('app.tenant_id', %s, true), set_config('app.across_tenants', %s, true)"
)


def _setting_values(wanted: DatabaseScope) -> tuple[str, str]:
    tenant = "" if wanted.tenant_id is None else str(wanted.tenant_id)
    return tenant, "on" if wanted.across else ""


def _sends_as_one_message(cursor, params) -> bool:
    """Whether ``cursor`` sends a statement and its parameters as one plain message, which may
    hold several statements: a client-side binding cursor, given positional parameters."""
    return isinstance(cursor, psycopg.ClientCursor) and not isinstance(params, Mapping)


# Nothing known about this transaction's setting (after a rollback to a savepoint, which undoes
# a setting made since): the next statement sets it again, whatever it is.
UNKNOWN = object()


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._told: DatabaseScope | object = NO_TENANT
        self._unanswered = False
        self.execute_wrappers.insert(0, self._tell_scope)

    def send_unanswered(self, sql: str, params: Sequence) -> None:
        """Send one statement, outside any transaction and under the current scope, as a
        transaction of its own, without waiting for its answer: it runs in the database while
        the caller goes on. ``answer_read`` reads the answer and raises its error, if any."""
        self.answer_read()
        if self.in_atomic_block or not self.get_autocommit():
            raise TransactionManagementError("send_unanswered runs outside a transaction only.")
        self.ensure_connection()
        with self.wrap_database_errors:
            raw = self.connection
            text = psycopg.ClientCursor(raw).mogrify(
                f"{SETTINGS_SQL}; {sql}", (*_setting_values(database_scope()), *params)
            )
            pgconn = raw.pgconn
            pgconn.send_query(text.encode(raw.info.encoding))
            self._unanswered = True
            # The connection does not block: whatever did not fit the socket at once is
            # pushed as it drains.
            while pgconn.flush():
                select.select([pgconn.socket], [pgconn.socket], [])
                pgconn.consume_input()

    def answer_read(self) -> None:
        """Read the answer to ``send_unanswered``'s statement, waiting for it if need be."""
        if not self._unanswered:
            return
        self._unanswered = False
        with self.wrap_database_errors:
            raw = self.connection
            pgconn = raw.pgconn
            error = None
            while True:
                while pgconn.is_busy():
                    select.select([pgconn.socket], [], [])
                    pgconn.consume_input()
                result = pgconn.get_result()
                if result is None:
                    break
                if result.status == pq.ExecStatus.FATAL_ERROR and error is None:
                    error = psycopg.errors.error_from_result(result, encoding=raw.info.encoding)
            if error is not None:
                raise error

    def _tell_scope(self, execute, sql, params, many, context):
        self.answer_read()
        wanted = database_scope()
        if self.get_autocommit():
            if wanted == NO_TENANT:
                return execute(sql, params, many, context)
            if not many and _sends_as_one_message(context["cursor"].cursor, params):
                return self._told_with(wanted, execute, sql, params, context)
            with transaction.atomic(using=self.alias):
                self._tell(wanted)
                return execute(sql, params, many, context)
        if self._told != wanted:
            self._tell(wanted)
        return execute(sql, params, many, context)

    def _tell(self, wanted: DatabaseScope) -> None:
        # Django's own errors, as for any statement: a lost connection is an OperationalError
        # that callers can catch, and marks the connection for the health check.
        with self.wrap_database_errors, self.connection.cursor() as cursor:
            cursor.execute(SETTINGS_SQL, _setting_values(wanted))
        self._told = wanted

    def _told_with(self, wanted: DatabaseScope, execute, sql, params, context):
        """The setting and an autocommit statement in one message: one implicit transaction,
        whose setting ends with it. The cursor is left on the statement's result."""
        if params is None:
            # Given no parameters the statement was to be sent as written, percent signs and all.
            sql, params = sql.replace("%", "%%"), ()
        result = execute(
            f"{SETTINGS_SQL}; {sql}", (*_setting_values(wanted), *params), False, context
        )
        context["cursor"].cursor.nextset()
        return result

    def create_cursor(self, name=None):
        self.answer_read()
        return super().create_cursor(name)

    def is_usable(self):
        try:
            self.answer_read()
        except Exception:
            return False
        return super().is_usable()

    # A transaction's settings end with it.
    def _commit(self):
        self.answer_read()
        try:
            return super()._commit()
        finally:
            self._told = NO_TENANT

    def _rollback(self):
        self.answer_read()
        try:
            return super()._rollback()
        finally:
            self._told = NO_TENANT

    def _set_autocommit(self, autocommit):
        self.answer_read()
        try:
            return super()._set_autocommit(autocommit)
        finally:
            self._told = NO_TENANT

    def _savepoint_rollback(self, sid):
        try:
            return super()._savepoint_rollback(sid)
        finally:
            self._told = UNKNOWN

    def connect(self):
        self._told = NO_TENANT
        self._unanswered = False
        return super().connect()

    def _close(self):
        # An answer never read goes with the connection: the statement ran, or it did not.
        self._unanswered = False
        return super()._close()
