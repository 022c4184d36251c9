import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django_fsm import FSMField, transition
from guardian.models import GroupObjectPermissionBase, UserObjectPermissionBase

from tenants.history import DATE, NUMBER, TEXT, TIME, HistoryRecord
from tenants.models import Partner, SignOffBody
from tenants.scoping import TenantOwnedModel
from tenants.text import PARAGRAPH_MAX_LENGTH, OneLineText, ParagraphText
from workflow.engine import WorkflowModel


class Framework(models.Model):
    """A set of recommendations in themes.

    National frameworks (``tenant`` empty) are reference data every tenant reads and none may
    change; a tenant's own framework (a serious case review, an inspection) is visible only to it.
    """

    tenant = models.ForeignKey(
        "tenants.Tenant", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    title = models.CharField(max_length=300, validators=[OneLineText()])
    short_name = models.CharField(max_length=60, validators=[OneLineText()])
    published = models.DateField(null=True, blank=True)
    source = models.CharField(max_length=300, blank=True, validators=[OneLineText()])
    # An outline holds short titles in our own words until the official text is imported.
    is_outline = models.BooleanField(default=False)

    class Meta:
        ordering = ["-published", "title"]
        constraints = [
            models.UniqueConstraint(
                fields=["short_name"],
                condition=models.Q(tenant__isnull=True),
                name="framework_national_short_name_unique",
            ),
            models.UniqueConstraint(
                fields=["tenant", "short_name"], name="framework_local_short_name_unique"
            ),
        ]

    def __str__(self):
        return self.title

    @property
    def is_national(self) -> bool:
        return self.tenant_id is None


class Theme(models.Model):
    framework = models.ForeignKey(Framework, on_delete=models.CASCADE, related_name="themes")
    # A local framework's tenant, like every other row it owns; empty for a national one.
    tenant = models.ForeignKey(
        "tenants.Tenant", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    position = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=200, validators=[OneLineText()])

    class Meta:
        ordering = ["framework", "position"]
        constraints = [
            models.UniqueConstraint(fields=["framework", "position"], name="theme_position_unique")
        ]

    def __str__(self):
        return self.title


class Recommendation(models.Model):
    framework = models.ForeignKey(
        Framework, on_delete=models.CASCADE, related_name="recommendations"
    )
    tenant = models.ForeignKey(
        "tenants.Tenant", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    theme = models.ForeignKey(Theme, on_delete=models.PROTECT, related_name="recommendations")
    number = models.PositiveSmallIntegerField()
    title = models.CharField(max_length=300, validators=[OneLineText()])
    text = models.TextField(blank=True, validators=[ParagraphText()])

    class Meta:
        ordering = ["framework", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["framework", "number"], name="recommendation_number_unique"
            )
        ]

    def __str__(self):
        return f"{self.number}. {self.title}"

    def clean(self):
        if self.theme_id and self.framework_id and self.theme.framework_id != self.framework_id:
            raise ValidationError({"theme": "The theme must belong to the same framework."})


class ActionPlan(TenantOwnedModel, WorkflowModel):
    """A tenant's response to a framework, drafted, submitted and endorsed by its owning body."""

    class State(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted for endorsement"
        ENDORSED = "endorsed", "Endorsed"

    framework = models.ForeignKey(Framework, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(max_length=300, validators=[OneLineText()])
    # The body that endorses the plan: the Executive, the LSCB, the Children's Trust board.
    owner_body = models.ForeignKey(
        SignOffBody, on_delete=models.PROTECT, related_name="+", verbose_name="endorsing body"
    )
    # The body that watches delivery and is chased when actions are long overdue.
    monitoring_body = models.ForeignKey(
        SignOffBody, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # An agency's own plan belongs to that partner; a partnership plan belongs to none.
    partner = models.ForeignKey(
        Partner,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="agency",
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="The officer who answers for the plan.",
    )
    state = FSMField(default=State.DRAFT, choices=State.choices, protected=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)

    same_tenant_relations = ("owner_body", "monitoring_body", "partner")
    same_tenant_people = ("owner",)

    class Meta:
        ordering = ["-created_at"]
        permissions = [
            ("sign_off_actions", "Sign off actions in this plan"),
            ("endorse_plan", "Endorse this plan"),
        ]
        indexes = [models.Index(fields=["tenant", "state"], name="actionplan_tenant_state")]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        if (
            self.framework_id
            and not Framework.objects.filter(
                models.Q(tenant__isnull=True) | models.Q(tenant_id=self.tenant_id),
                pk=self.framework_id,
            ).exists()
        ):
            raise ValidationError({"framework": "That framework is not available here."})
        super().save(*args, **kwargs)

    @transition(field=state, source=State.DRAFT, target=State.SUBMITTED)
    def submit(self, *, by, comment=""):
        self.submitted_by = by

    @transition(field=state, source=State.SUBMITTED, target=State.ENDORSED)
    def endorse(self, *, by, comment=""):
        pass

    @transition(field=state, source=State.SUBMITTED, target=State.DRAFT)
    def send_back(self, *, by, comment=""):
        self.submitted_by = None


class Action(TenantOwnedModel, WorkflowModel):
    class State(models.TextChoices):
        PROPOSED = "proposed", "Proposed"
        AGREED = "agreed", "Agreed"
        IN_PROGRESS = "in_progress", "In progress"
        EVIDENCED = "evidenced", "Evidenced"
        SIGNED_OFF = "signed_off", "Signed off"
        WITHDRAWN = "withdrawn", "Withdrawn"

    OPEN_STATES = (State.PROPOSED, State.AGREED, State.IN_PROGRESS, State.EVIDENCED)

    # Actions and what they record are never deleted: withdrawn instead.
    plan = models.ForeignKey(ActionPlan, on_delete=models.PROTECT, related_name="actions")
    reference = models.CharField(
        max_length=20,
        help_text='As the plan numbers it, e.g. "3.2".',
        validators=[OneLineText()],
    )
    title = models.CharField(max_length=300, validators=[OneLineText()])
    description = models.TextField(
        blank=True, validators=[ParagraphText(max_length=PARAGRAPH_MAX_LENGTH)]
    )
    recommendations = models.ManyToManyField(
        Recommendation, through="ActionRecommendation", related_name="+"
    )
    lead_officer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    lead_partner = models.ForeignKey(
        Partner, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    supporting_partners = models.ManyToManyField(
        Partner, through="ActionSupportingPartner", related_name="+"
    )
    due_date = models.DateField(null=True, blank=True)
    sign_off_body = models.ForeignKey(
        SignOffBody, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    completion_statement = models.TextField(
        blank=True, validators=[ParagraphText(max_length=PARAGRAPH_MAX_LENGTH)]
    )
    # Who last wrote the completion statement: they delivered the action (four-eyes rule).
    completion_statement_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )
    state = FSMField(default=State.PROPOSED, choices=State.choices, protected=True)
    evidence_submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    # When the action came into the plan: for one imported with its history, the earliest date
    # the file gives it (``plan_import`` says which import).
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    plan_import = models.ForeignKey(
        "PlanImport",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )

    same_tenant_relations = ("plan", "lead_partner", "sign_off_body")
    same_tenant_people = ("lead_officer",)

    class Meta:
        ordering = ["plan", "reference"]
        permissions = [("deliver_action", "Deliver this action for its lead officer")]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "plan", "reference"], name="action_reference_unique_in_plan"
            )
        ]
        indexes = [
            models.Index(fields=["tenant", "plan", "state"], name="action_tenant_plan_state"),
            models.Index(fields=["tenant", "lead_officer", "state"], name="action_tenant_lead"),
            models.Index(fields=["tenant", "state", "due_date"], name="action_tenant_state_due"),
        ]

    def __str__(self):
        return f"{self.reference} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.state in self.OPEN_STATES

    @transition(field=state, source=State.PROPOSED, target=State.AGREED)
    def agree(self, *, by, comment=""):
        pass

    @transition(field=state, source=State.AGREED, target=State.IN_PROGRESS)
    def start(self, *, by, comment=""):
        pass

    @transition(field=state, source=State.IN_PROGRESS, target=State.EVIDENCED)
    def submit_evidence(self, *, by, comment=""):
        self.evidence_submitted_by = by

    @transition(field=state, source=State.EVIDENCED, target=State.SIGNED_OFF)
    def sign_off(self, *, by, comment=""):
        pass

    @transition(field=state, source=State.EVIDENCED, target=State.IN_PROGRESS)
    def send_back(self, *, by, comment=""):
        self.evidence_submitted_by = None

    @transition(field=state, source=list(OPEN_STATES), target=State.WITHDRAWN)
    def withdraw(self, *, by, comment=""):
        pass

    @transition(field=state, source=State.SIGNED_OFF, target=State.IN_PROGRESS)
    def reopen(self, *, by, comment=""):
        self.evidence_submitted_by = None


class ActionRecommendation(TenantOwnedModel):
    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="+")
    recommendation = models.ForeignKey(Recommendation, on_delete=models.PROTECT, related_name="+")

    same_tenant_relations = ("action",)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "action", "recommendation"], name="actionrecommendation_unique"
            )
        ]

    def save(self, *args, **kwargs):
        plan_framework_id = (
            ActionPlan._base_manager.filter(pk=self.action.plan_id)
            .values_list("framework_id", flat=True)
            .first()
        )
        if self.recommendation.framework_id != plan_framework_id:
            raise ValidationError(
                {"recommendation": "The recommendation must come from the plan's framework."}
            )
        super().save(*args, **kwargs)


class ActionSupportingPartner(TenantOwnedModel):
    action = models.ForeignKey(Action, on_delete=models.CASCADE, related_name="+")
    partner = models.ForeignKey(Partner, on_delete=models.PROTECT, related_name="+")

    same_tenant_relations = ("action", "partner")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "action", "partner"], name="actionsupportingpartner_unique"
            )
        ]


class Rag(models.TextChoices):
    RED = "red", "Red"
    AMBER = "amber", "Amber"
    GREEN = "green", "Green"
    BLUE = "blue", "Blue (complete)"


class ProgressUpdate(TenantOwnedModel):
    action = models.ForeignKey(Action, on_delete=models.PROTECT, related_name="progress_updates")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    text = models.TextField(validators=[ParagraphText(max_length=PARAGRAPH_MAX_LENGTH)])
    # The author's own judgement, shown beside the schedule RAG the service computes.
    rag = models.CharField("RAG rating", max_length=10, choices=Rag.choices)
    # When the note was written; for one imported with its plan, the date the file gives it.
    created_at = models.DateTimeField(default=timezone.now)
    plan_import = models.ForeignKey(
        "PlanImport",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        editable=False,
    )

    same_tenant_relations = ("action",)
    same_tenant_people = ("author",)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["tenant", "action", "created_at"], name="progress_tenant_action")
        ]


def evidence_upload_path(instance: "Evidence", filename: str) -> str:
    # Stored under a random name; the person's file name is kept only as data.
    return f"evidence/{instance.tenant_id}/{instance.sha256[:2]}/{instance.storage_key}"


class Evidence(TenantOwnedModel):
    action = models.ForeignKey(Action, on_delete=models.PROTECT, related_name="evidence")
    description = models.CharField(max_length=500, validators=[OneLineText()])
    file = models.FileField(upload_to=evidence_upload_path, blank=True, max_length=300)
    link = models.URLField(blank=True, max_length=1000, validators=[OneLineText()])
    original_name = models.CharField(max_length=200, blank=True, validators=[OneLineText()])
    storage_key = models.CharField(max_length=64, blank=True, editable=False)
    sha256 = models.CharField(max_length=64, blank=True)
    size = models.PositiveBigIntegerField(null=True, blank=True)
    content_type = models.CharField(max_length=100, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    same_tenant_relations = ("action",)
    same_tenant_people = ("uploaded_by",)

    class Meta:
        ordering = ["uploaded_at", "pk"]
        verbose_name_plural = "evidence"
        constraints = [
            models.CheckConstraint(
                condition=(models.Q(file="") & ~models.Q(link=""))
                | (~models.Q(file="") & models.Q(link="")),
                name="evidence_is_file_or_link",
            )
        ]
        indexes = [models.Index(fields=["tenant", "action"], name="evidence_tenant_action")]

    def __str__(self):
        return self.description


class QuarantinedEvidence(TenantOwnedModel):
    """A file uploaded as evidence that the virus scanner has not yet checked, because it was down
    or slow. Kept apart from evidence (in QUARANTINE_ROOT, never offered for download, never
    counted towards submitting the action) until a later scan accepts it as evidence or refuses
    it; either way this row and its file then go."""

    action = models.ForeignKey(Action, on_delete=models.PROTECT, related_name="evidence_waiting")
    description = models.CharField(max_length=500, validators=[OneLineText()])
    original_name = models.CharField(max_length=200, validators=[OneLineText()])
    storage_key = models.CharField(max_length=64, editable=False)
    sha256 = models.CharField(max_length=64)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=100)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)
    # Scans tried since the upload, the last one's time and why it did not check the file.
    attempts = models.PositiveIntegerField(default=0)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    last_problem = models.CharField(max_length=300, blank=True)

    same_tenant_relations = ("action",)
    same_tenant_people = ("uploaded_by",)

    class Meta:
        ordering = ["uploaded_at", "pk"]
        verbose_name = "evidence waiting for a virus check"
        verbose_name_plural = "evidence waiting for a virus check"
        indexes = [models.Index(fields=["tenant", "action"], name="quarantine_tenant_action")]

    def __str__(self):
        return self.original_name


class ActionAdoption(TenantOwnedModel):
    """An action taken over by a partnership plan from an agency's plan, without re-keying: the
    action moves with its history, and both plans show where it came from and went."""

    action = models.ForeignKey(Action, on_delete=models.PROTECT, related_name="adoptions")
    from_plan = models.ForeignKey(ActionPlan, on_delete=models.PROTECT, related_name="+")
    to_plan = models.ForeignKey(ActionPlan, on_delete=models.PROTECT, related_name="+")
    from_reference = models.CharField(max_length=20)
    to_reference = models.CharField(max_length=20)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    same_tenant_relations = ("action", "from_plan", "to_plan")

    class Meta:
        ordering = ["at", "pk"]
        indexes = [
            models.Index(fields=["tenant", "from_plan"], name="adoption_tenant_from"),
            models.Index(fields=["tenant", "to_plan"], name="adoption_tenant_to"),
            models.Index(fields=["tenant", "action"], name="adoption_tenant_action"),
        ]

    def __str__(self):
        return f"{self.from_reference} adopted as {self.to_reference}"


class PlanImport(TenantOwnedModel):
    """An existing action plan brought in from a spreadsheet, with its actions' past steps and
    progress. The history it wrote is marked as recorded later, by ``by`` on ``at``, from this
    file (its name and SHA-256), and keeps the dates the file gives."""

    plan = models.ForeignKey(ActionPlan, on_delete=models.PROTECT, related_name="imports")
    file_name = models.CharField(max_length=200)
    sha256 = models.CharField("SHA-256", max_length=64)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)
    actions = models.PositiveIntegerField(default=0)
    steps = models.PositiveIntegerField(default=0)
    progress_updates = models.PositiveIntegerField(default=0)

    same_tenant_relations = ("plan",)
    same_tenant_people = ("by",)

    class Meta:
        ordering = ["at", "pk"]
        indexes = [models.Index(fields=["tenant", "plan", "at"], name="planimport_tenant_plan")]

    def __str__(self):
        return self.file_name


# Guardian's permission tables, one per model with a real foreign key (a join, not a generic
# lookup by text id) and the tenant, like every tenant-owned table.
def published_report_path(instance: "PublishedReport", filename: str) -> str:
    # A random name: the file is found through its row, never by guessing a path.
    return f"published/{instance.tenant_id}/{instance.storage_key}"


class PublishedReport(HistoryRecord):
    """A report as tabled at a meeting, kept byte for byte so the committee's record can be
    reproduced: the file, its SHA-256, who published it and when.

    Published files are never changed or deleted through the service: there is no page or
    service that does, the admin shows them read-only, and ``save`` refuses a change to a row
    that exists.
    """

    class Format(models.TextChoices):
        # As plans.reports.formats.FORMATS labels them.
        PDF = "pdf", "PDF"
        DOCX = "docx", "Document (DOCX)"
        XLSX = "xlsx", "Spreadsheet (XLSX)"
        CSV = "csv", "Spreadsheet (CSV)"

    plan = models.ForeignKey(ActionPlan, on_delete=models.PROTECT, related_name="+")
    meeting = models.CharField(max_length=200, validators=[OneLineText()])
    meeting_date = models.DateField()
    as_of = models.DateField()
    since = models.DateField(null=True, blank=True)
    format = models.CharField(max_length=10, choices=Format.choices)
    file = models.FileField(upload_to=published_report_path, max_length=300)
    file_name = models.CharField(max_length=200)
    storage_key = models.CharField(max_length=64, editable=False)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    published_at = models.DateTimeField(default=timezone.now)

    same_tenant_relations = ("plan",)
    same_tenant_people = ("published_by",)

    history_fields = {
        1: (
            ("id", NUMBER),
            ("tenant_id", NUMBER),
            ("plan_id", NUMBER),
            ("meeting", TEXT),
            ("meeting_date", DATE),
            ("as_of", DATE),
            ("since", DATE),
            ("format", TEXT),
            ("file", TEXT),
            ("file_name", TEXT),
            ("storage_key", TEXT),
            ("content_type", TEXT),
            ("size", NUMBER),
            ("sha256", TEXT),
            ("published_by_id", NUMBER),
            ("published_at", TIME),
        )
    }

    class Meta:
        ordering = ["-published_at", "-pk"]
        indexes = [
            models.Index(fields=["tenant", "plan", "published_at"], name="published_tenant_plan")
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant", "chain_position"], name="published_tenant_chain_position"
            )
        ]

    def __str__(self):
        return f"{self.meeting} ({self.get_format_display()})"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValidationError("A published report is never changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("A published report is never deleted.")


class ActionPlanUserObjectPermission(TenantOwnedModel, UserObjectPermissionBase):
    content_object = models.ForeignKey(ActionPlan, on_delete=models.CASCADE)

    class Meta(UserObjectPermissionBase.Meta):
        unique_together = ["tenant", "user", "permission", "content_object"]


class ActionPlanGroupObjectPermission(TenantOwnedModel, GroupObjectPermissionBase):
    content_object = models.ForeignKey(ActionPlan, on_delete=models.CASCADE)

    class Meta(GroupObjectPermissionBase.Meta):
        unique_together = ["tenant", "group", "permission", "content_object"]


class ActionUserObjectPermission(TenantOwnedModel, UserObjectPermissionBase):
    content_object = models.ForeignKey(Action, on_delete=models.CASCADE)

    same_tenant_people = ("user",)

    class Meta(UserObjectPermissionBase.Meta):
        unique_together = ["tenant", "user", "permission", "content_object"]


class ActionGroupObjectPermission(TenantOwnedModel, GroupObjectPermissionBase):
    content_object = models.ForeignKey(Action, on_delete=models.CASCADE)

    class Meta(GroupObjectPermissionBase.Meta):
        unique_together = ["tenant", "group", "permission", "content_object"]


def schedule_rag(action: Action, *, today: datetime.date) -> str | None:
    """The RAG the schedule gives an action on ``today`` (see README, "Schedule RAG")."""
    return rag_for(state=action.state, due_date=action.due_date, today=today)


def rag_for(*, state: str, due_date: datetime.date | None, today: datetime.date) -> str | None:
    """The schedule RAG of an action in ``state`` due on ``due_date``, on ``today``.

    Withdrawn: none. Signed off: blue. Evidenced: green (delivered, awaiting sign-off).
    Past its due date: red. No due date yet, or due within RAG_DUE_SOON_DAYS: amber.
    Otherwise green. Lists of thousands of actions call this on plain values, not models.
    """
    if state == Action.State.WITHDRAWN:
        return None
    if state == Action.State.SIGNED_OFF:
        return Rag.BLUE
    if state == Action.State.EVIDENCED:
        return Rag.GREEN
    if due_date is None:
        return Rag.AMBER
    if due_date < today:
        return Rag.RED
    if (due_date - today).days <= settings.RAG_DUE_SOON_DAYS:
        return Rag.AMBER
    return Rag.GREEN
