import factory

from tenants import services
from tenants.models import Membership, Partner, SignOffBody, Tenant, User


class TenantFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Tenant

    name = factory.Sequence(lambda n: f"Borough Council {n}")
    slug = factory.Sequence(lambda n: f"borough-{n}")
    kind = Tenant.Kind.LOCAL_AUTHORITY
    nation = Tenant.Nation.ENGLAND


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"person{n}@example.org")
    full_name = factory.Faker("name", locale="en_GB")
    password = factory.PostGenerationMethodCall("set_password", "correct horse battery")

    @factory.post_generation
    def saved(self, create, extracted, **kwargs):
        if create:
            self.save()


class PartnerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Partner

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Partner agency {n}")
    kind = Partner.Kind.HEALTH


def member(tenant: Tenant, role: str, *, partner: Partner | None = None, **user_fields) -> User:
    """A new person who is a member of ``tenant`` in ``role``."""
    user = UserFactory(**user_fields)
    services.membership_add(tenant=tenant, user=user, role=role, partner=partner)
    return user


def sign_off_body(tenant: Tenant, *, name: str, kind: str, members=(), quorum: int = 1, chair=None):
    return services.sign_off_body_create(
        tenant=tenant, name=name, kind=kind, members=list(members), quorum=quorum, chair=chair
    )


Role = Membership.Role


def agency_committee(tenant: Tenant, *, name: str, partner: Partner, members=(), chair=None):
    """A partner agency's own committee. Its agency is set on the model: no service sets it
    here."""
    body = sign_off_body(
        tenant, name=name, kind=SignOffBody.Kind.AGENCY_COMMITTEE, members=members, chair=chair
    )
    body.partner = partner
    body.save(update_fields=["partner"])
    return body
