from dataclasses import dataclass

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import Group, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.crypto import salted_hmac

from tenants.history import JSON, NUMBER, TEXT, TIME, HistoryRecord
from tenants.scoping import TenantOwnedModel
from tenants.sealed import sealed_secret
from tenants.text import OneLineText


class Users(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email, password, **extra):
        if not email:
            raise ValueError("An e-mail address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email, password=None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email, password=None, **extra):
        extra["is_staff"] = True
        extra["is_superuser"] = True
        return self._create_user(email, password, **extra)

    def get_by_natural_key(self, email):
        return self.get(email__iexact=email)


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Signs in with an e-mail address; belongs to tenants through memberships."""

    email = models.EmailField("e-mail address", unique=True)
    full_name = models.CharField(max_length=200, validators=[OneLineText()])
    is_active = models.BooleanField(default=True)
    # Staff are the operator's people (Django admin); tenant users are never staff.
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)
    # Part of every session's check (``get_session_auth_hash``): raising it ends all of the
    # person's sessions, on every device, at their next request.
    session_generation = models.PositiveIntegerField(default=0, editable=False)

    objects = Users()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_unique_ci")]

    def __str__(self):
        return self.full_name or self.email

    @classmethod
    def from_db(cls, db, field_names, values):
        user = super().from_db(db, field_names, values)
        user._stored_is_active = user.__dict__.get("is_active")
        return user

    def save(self, *args, **kwargs):
        self.email = self.email.strip().lower()
        stored = getattr(self, "_stored_is_active", None)
        if stored is not None and stored != self.is_active:
            # Deactivated or reactivated, whoever saved it (the admin included): a session
            # from before never works again, even once the account is active again.
            self.session_generation += 1
            update_fields = kwargs.get("update_fields")
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "session_generation"}
        super().save(*args, **kwargs)
        self._stored_is_active = self.is_active

    def _get_session_auth_hash(self, secret=None):
        # Django's own hash covers the password, so a new password ends the other sessions;
        # the generation ends them for the other reasons (see ``sessions_end``). Generation 0
        # keeps Django's hash, so sessions from before it existed carry on.
        if not self.session_generation:
            return super()._get_session_auth_hash(secret=secret)
        return salted_hmac(
            "tenants.User.get_session_auth_hash",
            f"{self.password}:{self.session_generation}",
            secret=secret,
            algorithm="sha256",
        ).hexdigest()

    @property
    def is_operator(self) -> bool:
        """The service's operator: an active staff account, working in the admin. Rules that
        let the operator act in an organisation they do not belong to ask this."""
        return self.is_active and self.is_staff

    def get_full_name(self):
        return self.full_name

    def get_short_name(self):
        return self.full_name.split(" ")[0] if self.full_name else self.email


class Tenant(models.Model):
    """A local authority, children's trust or LSCB using the service."""

    class Kind(models.TextChoices):
        LOCAL_AUTHORITY = "local_authority", "Local authority"
        CHILDRENS_TRUST = "childrens_trust", "Children's trust"
        LSCB = "lscb", "Local Safeguarding Children Board"

    class Nation(models.TextChoices):
        # Bank holidays differ by nation; England and Wales share theirs.
        ENGLAND = "england", "England"
        WALES = "wales", "Wales"
        SCOTLAND = "scotland", "Scotland"
        NORTHERN_IRELAND = "northern_ireland", "Northern Ireland"

    name = models.CharField(max_length=200, unique=True, validators=[OneLineText()])
    slug = models.SlugField(max_length=60, unique=True)
    kind = models.CharField(max_length=30, choices=Kind.choices)
    nation = models.CharField(max_length=30, choices=Nation.choices, default=Nation.ENGLAND)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    # Kept here rather than with the rest of the single sign-on settings so that every tenant
    # page, which reads the tenant anyway, knows without another query (tenants.rules).
    single_sign_on_required = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Partner(TenantOwnedModel):
    """An agency inside a tenant's partnership: police, a health trust, schools, the LSCB."""

    class Kind(models.TextChoices):
        LOCAL_AUTHORITY = "local_authority", "Local authority"
        POLICE = "police", "Police"
        HEALTH = "health", "Health"
        EDUCATION = "education", "Education"
        PROBATION = "probation", "Probation"
        VOLUNTARY = "voluntary", "Voluntary and community sector"
        LSCB = "lscb", "Local Safeguarding Children Board"

    name = models.CharField(max_length=200, validators=[OneLineText()])
    kind = models.CharField(max_length=30, choices=Kind.choices)
    # The named person escalations reach at this agency.
    contact = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    same_tenant_people = ("contact",)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="partner_name_unique_in_tenant")
        ]

    def __str__(self):
        return self.name


class Membership(TenantOwnedModel):
    """A person's role in one tenant. One person may hold memberships in several tenants."""

    class Role(models.TextChoices):
        OFFICER = "officer", "Officer"
        MANAGER = "manager", "Manager"
        BOARD_MEMBER = "board_member", "Board member"
        TENANT_ADMIN = "tenant_admin", "Tenant administrator"
        VIEWER = "viewer", "Read-only viewer"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=Role.choices)
    partner = models.ForeignKey(
        Partner, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    same_tenant_relations = ("partner",)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="membership_unique_in_tenant")
        ]
        # User first: serves "which tenants is this person in?" at sign-in, the one read that
        # starts from a person rather than a tenant.
        indexes = [models.Index(fields=["user", "tenant"], name="membership_user_tenant")]

    def __str__(self):
        return f"{self.user} ({self.get_role_display()})"

    def can(self, capability: "Capability") -> bool:
        return capability in CAPABILITIES[self.role]

    @property
    def can_manage(self) -> bool:
        return self.can(Capability.MANAGE_ACTIONS)


class Capability(models.TextChoices):
    """What a role allows in a tenant. Rules about one action or plan (is this person its lead
    officer, does this manager work for the plan's agency) are in ``plans.workflows`` and build
    on these."""

    READ = "read", "Read plans and actions"
    # Lead an action, be a delegate, sit on a sign-off body.
    DELIVER = "deliver", "Deliver actions and sit on sign-off bodies"
    # Add, change, agree and withdraw actions; submit plans for endorsement.
    MANAGE_ACTIONS = "manage_actions", "Manage actions"
    # People, partners, sign-off bodies, plans' settings, local frameworks, escalations.
    ADMINISTER = "administer", "Administer the organisation"


_R, _C = Membership.Role, Capability
# The one table of what each role may do; everything that asks about a role asks this.
CAPABILITIES: dict[str, frozenset[str]] = {
    _R.VIEWER: frozenset({_C.READ}),
    _R.OFFICER: frozenset({_C.READ, _C.DELIVER}),
    _R.BOARD_MEMBER: frozenset({_C.READ, _C.DELIVER}),
    _R.MANAGER: frozenset({_C.READ, _C.DELIVER, _C.MANAGE_ACTIONS}),
    _R.TENANT_ADMIN: frozenset({_C.READ, _C.DELIVER, _C.MANAGE_ACTIONS, _C.ADMINISTER}),
}


def roles_that_can(capability: str) -> list[str]:
    return [role for role in Membership.Role if capability in CAPABILITIES[role]]


class SignOffBody(TenantOwnedModel):
    """A board or team that signs off actions or endorses plans: the LSCB board, a management
    team, a Children's Trust board, the Executive."""

    class Kind(models.TextChoices):
        LSCB_BOARD = "lscb_board", "LSCB board"
        MANAGEMENT_TEAM = "management_team", "Management team"
        CHILDRENS_TRUST_BOARD = "childrens_trust_board", "Children's Trust board"
        EXECUTIVE = "executive", "Executive"
        TASK_AND_FINISH_GROUP = "task_and_finish_group", "Task-and-finish group"
        # One partner agency's own committee (a health trust's safeguarding committee): chased
        # about that agency's overdue actions.
        AGENCY_COMMITTEE = "agency_committee", "Agency committee"

    name = models.CharField(max_length=200, validators=[OneLineText()])
    kind = models.CharField(max_length=30, choices=Kind.choices)
    chair = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # How many distinct members must approve before a sign-off takes effect.
    quorum = models.PositiveSmallIntegerField(default=1)
    # The agency an agency committee belongs to.
    partner = models.ForeignKey(
        Partner, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The body's members as a permission group: object permissions on plans are granted to it.
    group = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="sign_off_bodies")
    members = models.ManyToManyField(User, through="SignOffBodyMember", related_name="+")

    same_tenant_relations = ("partner",)
    same_tenant_people = ("chair",)

    class Meta:
        ordering = ["name"]
        verbose_name = "sign-off body"
        verbose_name_plural = "sign-off bodies"
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="signoffbody_name_unique"),
            models.UniqueConstraint(fields=["tenant", "group"], name="signoffbody_group_unique"),
            models.CheckConstraint(condition=models.Q(quorum__gte=1), name="signoffbody_quorum_1"),
        ]

    def __str__(self):
        return self.name


class SignOffBodyMember(TenantOwnedModel):
    body = models.ForeignKey(SignOffBody, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="+")

    same_tenant_relations = ("body",)
    same_tenant_people = ("user",)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "body", "user"], name="signoffbodymember_unique"
            )
        ]


class Invitation(TenantOwnedModel):
    """An offer of a role in a tenant, sent by e-mail as a one-time link.

    Only a hash of the link's token is stored, so the table alone cannot be used to accept
    one. The link names the invitation by id; the token is checked against the hash.
    """

    email = models.EmailField("e-mail address")
    full_name = models.CharField(max_length=200, validators=[OneLineText()])
    role = models.CharField(max_length=20, choices=Membership.Role.choices)
    partner = models.ForeignKey(
        Partner, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    token_hash = models.CharField(max_length=64, editable=False)
    invited_by = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    cancelled_at = models.DateTimeField(null=True, blank=True)

    same_tenant_relations = ("partner",)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "email"], name="invitation_tenant_email")]

    def __str__(self):
        return f"{self.full_name} <{self.email}>"

    @property
    def is_pending(self) -> bool:
        return (
            self.accepted_at is None
            and self.cancelled_at is None
            and self.expires_at > timezone.now()
        )


class AuditEntry(HistoryRecord):
    """One change that is not a workflow step, with what each changed field read before and
    after: an action's details, a person's role, a body's quorum, a plan's settings, an import.

    Written by the service that made the change, in its transaction, and only when something
    really changed. Texts are kept as people read them at the time (a name, a date), so the
    record still says what they saw after a partner is renamed or a person leaves.
    """

    class Subject(models.TextChoices):
        ACTION = "action", "Action"
        PLAN = "plan", "Plan"
        PERSON = "person", "Person"
        INVITATION = "invitation", "Invitation"
        PARTNER = "partner", "Partner agency"
        SIGN_OFF_BODY = "sign_off_body", "Sign-off body"
        FRAMEWORK = "framework", "Framework"
        ORGANISATION = "organisation", "Organisation"
        ESCALATION_POLICY = "escalation_policy", "Escalation policy"
        # A file refused as evidence (a virus found) or not added after its virus check; the
        # subject's id is the action's, and the action's own timeline leaves it out.
        EVIDENCE_FILE = "evidence_file", "Evidence file"
        SINGLE_SIGN_ON = "single_sign_on", "Single sign-on"

    actor = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The actor's name as it read then; empty for the service itself.
    actor_name = models.CharField(max_length=200, blank=True)
    at = models.DateTimeField(default=timezone.now)
    subject_type = models.CharField(max_length=30, choices=Subject.choices)
    subject_id = models.PositiveBigIntegerField(null=True, blank=True)
    subject_label = models.CharField(max_length=300)
    summary = models.CharField(max_length=300)
    # [{"field": name, "label": label, "before": text, "after": text, "long": bool}, ...]
    changes = models.JSONField(default=list, blank=True)
    reason = models.TextField(blank=True)

    history_fields = {
        1: (
            ("id", NUMBER),
            ("tenant_id", NUMBER),
            ("actor_id", NUMBER),
            ("actor_name", TEXT),
            ("at", TIME),
            ("subject_type", TEXT),
            ("subject_id", NUMBER),
            ("subject_label", TEXT),
            ("summary", TEXT),
            ("changes", JSON),
            ("reason", TEXT),
        )
    }

    class Meta:
        ordering = ["at", "pk"]
        verbose_name_plural = "audit entries"
        indexes = [
            models.Index(
                fields=["tenant", "subject_type", "subject_id", "at"], name="audit_tenant_subject"
            ),
            models.Index(fields=["tenant", "at"], name="audit_tenant_at"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "chain_position"], name="audit_tenant_chain_position"
            )
        ]

    def __str__(self):
        return self.summary

    @property
    def rows(self) -> list["FieldChange"]:
        return [
            FieldChange(c["label"], c["before"], c["after"], bool(c.get("long")))
            for c in self.changes
        ]


class HistoryChainHead(TenantOwnedModel):
    """Where an organisation's history chain has got to: its last row's position and hash.

    Moved only by the database as a history row is inserted (``tenants.history``); its row is
    locked while a transaction writes history, so the chain never forks.
    """

    position = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="historychainhead_one_per_tenant")
        ]

    def __str__(self):
        return f"{self.position}:{self.hash}"


@dataclass(frozen=True)
class FieldChange:
    label: str
    before: str
    after: str
    long: bool = False


class SingleSignOn(TenantOwnedModel):
    """A tenant's own sign-in service (OpenID Connect: Microsoft Entra ID above all), through
    which its members sign in with their work accounts. The tenant's ``single_sign_on_required``
    stops its members using a password for its pages (``tenants.rules``)."""

    # The provider's discovery document: its issuer and endpoints.
    discovery_url = models.URLField("discovery URL", max_length=500)
    client_id = models.CharField("client ID", max_length=200)
    # Encrypted at rest (tenants.sealed): read and set it as ``client_secret``.
    client_secret_sealed = models.TextField(blank=True, editable=False)
    # Lower-case domains, one per line: only addresses in them may sign in this way.
    email_domains = models.TextField("e-mail domains")
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    sealed_columns = ("client_secret_sealed",)
    client_secret = sealed_secret("client_secret_sealed", "The client secret the provider issued.")

    class Meta:
        verbose_name = "single sign-on"
        verbose_name_plural = "single sign-on"
        constraints = [
            models.UniqueConstraint(fields=["tenant"], name="singlesignon_one_per_tenant")
        ]

    def __str__(self):
        return f"Single sign-on of {self.tenant}"

    @property
    def domains(self) -> list[str]:
        return self.email_domains.split()

    @property
    def provider_id(self) -> str:
        """The name allauth knows this tenant's provider by, which is in its callback address."""
        return provider_id_of(self.tenant.slug)


def provider_id_of(slug: str) -> str:
    return f"sso-{slug}"


def slug_of_provider(provider_id: str) -> str | None:
    return provider_id.removeprefix("sso-") if provider_id.startswith("sso-") else None
