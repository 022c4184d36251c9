"""The operator's way to start an organisation on the service: create the tenant and invite its
first tenant administrator, who then invites everyone else from the People page."""

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from tenants import services
from tenants.models import Membership, Tenant, User
from tenants.rules import second_factor_refusal
from tenants.scoping import tenant_scope


class Command(BaseCommand):
    help = (
        "Create an organisation and e-mail an invitation to its first tenant administrator. "
        "The invitation is sent in the name of an operator: an existing active staff account "
        "(made with createsuperuser), named by --operator-email."
    )

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="The organisation's name.")
        parser.add_argument("--slug", required=True, help="Its address: /t/<slug>/.")
        parser.add_argument("--kind", required=True, choices=Tenant.Kind.values)
        parser.add_argument("--nation", default=Tenant.Nation.ENGLAND, choices=Tenant.Nation.values)
        parser.add_argument("--admin-email", required=True)
        parser.add_argument("--admin-name", required=True)
        parser.add_argument(
            "--operator-email",
            required=True,
            help="The staff account the invitation is sent by (recorded as who invited them).",
        )

    def handle(self, *args, **options):
        operator = User.objects.filter(
            email__iexact=options["operator_email"].strip(), is_staff=True, is_active=True
        ).first()
        if operator is None:
            raise CommandError(
                f"No active staff account signs in with {options['operator_email']}. Make one "
                "with 'manage.py createsuperuser' first."
            )
        if second_factor_refusal(user=operator, what="invite an administrator") is not None:
            raise CommandError(
                f"{operator.email} has no second factor, which the operator needs to set up an "
                "organisation: sign in to the service with it and set one up under 'Second "
                "factor' first."
            )
        try:
            with transaction.atomic():
                tenant = services.tenant_create(
                    name=options["name"].strip(),
                    slug=options["slug"].strip(),
                    kind=options["kind"],
                    nation=options["nation"],
                )
                with tenant_scope(tenant):
                    invitation = services.invitation_create(
                        tenant=tenant,
                        by=operator,
                        email=options["admin_email"],
                        full_name=options["admin_name"],
                        role=Membership.Role.TENANT_ADMIN,
                    )
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        self.stdout.write(
            f"Created {tenant.name} at /t/{tenant.slug}/ and invited {invitation.email} as its "
            f"tenant administrator; the link works until {invitation.expires_at:%d %B %Y %H:%M}."
        )
