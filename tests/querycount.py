from django.db import connection
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
