import factory

from tenants import services
from tenants.models import Membership, Partner, SignOffBody, Tenant, User
from tenants.scoping import tenant_scope


class TenantOwnedFactory(factory.django.DjangoModelFactory):
    """A tenant's row, written in that tenant's scope as the service writes it, so row-level
    security accepts it whichever scope the test is in."""

    class Meta:
        abstract = True

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        with tenant_scope(kwargs["tenant"]):
            return super()._create(model_class, *args, **kwargs)


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


class PartnerFactory(TenantOwnedFactory):
    class Meta:
        model = Partner

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Partner agency {n}")
    kind = Partner.Kind.HEALTH


def member(tenant: Tenant, role: str, *, partner: Partner | None = None, **user_fields) -> User:
    """A new person who is a member of ``tenant`` in ``role``."""
    user = UserFactory(**user_fields)
    with tenant_scope(tenant):
        services.membership_add(tenant=tenant, user=user, role=role, partner=partner)
    return user


def sign_off_body(
    tenant: Tenant,
    *,
    name: str,
    kind: str,
    members=(),
    quorum: int = 1,
    chair=None,
    partner: Partner | None = None,
):
    with tenant_scope(tenant):
        return services.sign_off_body_create(
            tenant=tenant,
            name=name,
            kind=kind,
            partner=partner,
            members=list(members),
            quorum=quorum,
            chair=chair,
        )


Role = Membership.Role


def agency_committee(tenant: Tenant, *, name: str, partner: Partner, members=(), chair=None):
    """A partner agency's own committee."""
    return sign_off_body(
        tenant,
        name=name,
        kind=SignOffBody.Kind.AGENCY_COMMITTEE,
        partner=partner,
        members=members,
        chair=chair,
    )
