from contextlib import contextmanager

from django.db import connection, connections
from django.test import Client

# Transaction control a test's own transaction turns into savepoints: a page that reads in one
# transaction (tenants.scoping.reads_in_one_transaction) sends BEGIN and COMMIT in production,
# which no count sees, and SAVEPOINT and RELEASE inside a test.
TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


def queries_for(client: Client, url: str) -> int:
    """How many SQL statements answering ``url`` runs, transaction control aside.

    Counted with an execute wrapper: Django clears its own query log whenever a request starts,
    which would make a count taken from the log depend on what ran before.
    """
    executed = []

    def count(execute, sql, params, many, context):
        if not sql.startswith(TRANSACTION_CONTROL):
            executed.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(executed)


@contextmanager
def statements_sent(using: str = "default"):
    """Every statement sent to the database inside the block, as a list of their texts.

    On PostgreSQL they are counted at the driver, so what Django's execute wrappers never see
    counts too: a COPY, and the tenant setting the backend sends on a cursor of its own. On
    other databases, through an execute wrapper.
    """
    sent: list[str] = []
    wrapper = connections[using]
    if wrapper.vendor != "postgresql":

        def count(execute, sql, params, many, context):
            sent.append(sql)
            return execute(sql, params, many, context)

        with wrapper.execute_wrapper(count):
            yield sent
        return

    wrapper.ensure_connection()
    driver = wrapper.connection
    plain = driver.cursor_factory

    class Counted(plain):
        def execute(self, query, *args, **kwargs):
            sent.append(str(query))
            return super().execute(query, *args, **kwargs)

        def executemany(self, query, *args, **kwargs):
            sent.append(str(query))
            return super().executemany(query, *args, **kwargs)

        def copy(self, statement, *args, **kwargs):
            sent.append(str(statement))
            return super().copy(statement, *args, **kwargs)

    driver.cursor_factory = Counted
    try:
        yield sent
    finally:
        driver.cursor_factory = plain
