"""Django's migrate, connected as the database owner (DATABASE_OWNER_URL) when one is set: the
application's own role may not change the schema."""

from django.core.management.commands.migrate import Command as DjangoCommand

from tenants.postgresql.roles import owner_connection


class Command(DjangoCommand):
    def handle(self, *args, **options):
        with owner_connection(options["database"]):
            return super().handle(*args, **options)
