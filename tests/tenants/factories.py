import factory
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, hotp_value
from django.utils import timezone

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

    @factory.post_generation
    def second_factor(self, create, extracted, **kwargs):
        """The operator (a staff account) needs one for the admin; ``second_factor=True``
        gives anyone one."""
        if create and (self.is_staff if extracted is None else extracted):
            with_second_factor(self)


# Every test person's authenticator app shares this key, so a test computes their codes.
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def with_second_factor(user: User, secret: str = TOTP_SECRET) -> User:
    """``user`` with an authenticator app set up (once, however often asked)."""
    if not Authenticator.objects.filter(user_id=user.pk, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, secret)
    user.__dict__.pop("_has_second_factor", None)
    return user


def totp_code(secret: str = TOTP_SECRET, *, step: int = 0) -> str:
    """The code an authenticator app with ``secret`` shows now (``step`` periods on: each code
    works once, and the service also takes the codes either side of now)."""
    counter = int(timezone.now().timestamp()) // mfa_settings.TOTP_PERIOD + step
    return format_hotp_value(hotp_value(secret, counter))


class PartnerFactory(TenantOwnedFactory):
    class Meta:
        model = Partner

    tenant = factory.SubFactory(TenantFactory)
    name = factory.Sequence(lambda n: f"Partner agency {n}")
    kind = Partner.Kind.HEALTH


def member(tenant: Tenant, role: str, *, partner: Partner | None = None, **user_fields) -> User:
    """A new person who is a member of ``tenant`` in ``role``. Board members and tenant
    administrators have a second factor, as the service requires before they decide anything;
    ``second_factor=`` says otherwise."""
    user_fields.setdefault("second_factor", role in (Role.BOARD_MEMBER, Role.TENANT_ADMIN))
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
    """A sign-off body whose members (and chair) have a second factor, as they need to decide."""
    for person in {*members, *([chair] if chair else [])}:
        with_second_factor(person)
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
