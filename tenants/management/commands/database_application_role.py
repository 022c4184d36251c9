"""Create the application's database role, named with its password in DATABASE_URL, and grant
it the rows of every table, now and after later migrations. Run as the owner: with
DATABASE_OWNER_URL set, after migrate."""

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from tenants.postgresql.roles import application_role_grant


class Command(BaseCommand):
    help = (
        "Create or update the application's PostgreSQL role (DATABASE_URL's user and password) "
        "and grant it what the service needs, connecting as DATABASE_OWNER_URL's role."
    )

    def handle(self, *args, **options):
        application = settings.DATABASES["default"]
        if application["ENGINE"] != "tenants.postgresql":
            raise CommandError("Only PostgreSQL has database roles; SQLite needs none.")
        if settings.DATABASE_OWNER is None:
            raise CommandError(
                "Set DATABASE_OWNER_URL to the owner's address: this command connects as the "
                "owner to create the role DATABASE_URL names."
            )
        if not application.get("PASSWORD"):
            raise CommandError("DATABASE_URL names no password for the application's role.")
        try:
            done = application_role_grant(
                role=application["USER"], password=application["PASSWORD"]
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(done)
