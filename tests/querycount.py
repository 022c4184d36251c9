from django.db import connection
from django.test import Client


def queries_for(client: Client, url: str) -> int:
    """How many SQL statements answering ``url`` runs.

    Counted with an execute wrapper: Django clears its own query log whenever a request starts,
    which would make a count taken from the log depend on what ran before.
    """
    executed = []

    def count(execute, sql, params, many, context):
        executed.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(executed)
