"""Forms for the plan and action pages. Every choice is limited to the tenant's own rows, so an id
from another organisation is "not one of the available choices", never a crash or a leak."""

import dataclasses
import datetime

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat

from plans.evidence import allowed_extensions_text, check_upload
from plans.frameworks.reading import MAX_BYTES, MAX_ROWS
from plans.models import Action, ActionPlan, Framework, Rag, Recommendation
from plans.selectors import PlanFilters, frameworks_visible
from plans.services import (
    ACTION_TEXTS,
    CHANGE_REASON,
    COMPLETION_STATEMENT,
    EVIDENCE_DESCRIPTION,
    EVIDENCE_LINK,
    PROGRESS_TEXT,
    sign_off_bodies_of_plan,
)
from plans.workflows import framework_change_refusal
from tenants.models import (
    Capability,
    Partner,
    SignOffBody,
    Tenant,
    User,
    roles_that_can,
)
from tenants.selectors import people_who_can_deliver
from tenants.text import SEARCH, TextRule

DATE_ERROR = "Enter a real date, for example 31 3 2027."


class GovukDateInput(forms.MultiWidget):
    """GOV.UK's date input: day, month and year in three boxes under one legend.

    Typed numbers, not the browser's date picker, which many people find hard to use and some
    browsers lack; the three parts become one ISO date for the field, so an impossible date such
    as 30 February reaches the field's validation and is explained there.
    """

    template_name = "django/forms/widgets/govuk_date_input.html"
    use_fieldset = True
    PARTS = (("day", "Day", 2), ("month", "Month", 2), ("year", "Year", 4))

    def __init__(self, attrs=None):
        widgets = {
            name: forms.TextInput(attrs={"inputmode": "numeric", "maxlength": width})
            for name, _label, width in self.PARTS
        }
        super().__init__(widgets, attrs)

    def decompress(self, value):
        if isinstance(value, datetime.date):
            return [value.day, value.month, value.year]
        if isinstance(value, str) and value.count("-") == 2:
            year, month, day = value.split("-")
            return [day, month, year]
        return [None, None, None]

    def value_from_datadict(self, data, files, name):
        if name in data:  # one ISO date, as an API client or an older form sends it
            return data[name]
        day, month, year = (
            (data.get(f"{name}_{part}") or "").strip() for part, _label, _width in self.PARTS
        )
        if not (day or month or year):
            return ""
        if day.isdigit() and month.isdigit() and year.isdigit():
            return f"{year}-{month}-{day}"
        return f"{year}-{month}-{day}!"  # not a date: the field says so

    def value_omitted_from_data(self, data, files, name):
        return name not in data and all(
            f"{name}_{part}" not in data for part, _label, _width in self.PARTS
        )

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        for subwidget, (part, label, width) in zip(
            context["widget"]["subwidgets"], self.PARTS, strict=True
        ):
            subwidget["label"] = label
            subwidget["width"] = width
            # Named like GOV.UK's date input, so links to the field (id_for_label) find the day.
            if attrs and attrs.get("id"):
                subwidget["attrs"]["id"] = f"{attrs['id']}_{part}"
        return context

    def id_for_label(self, id_):
        return f"{id_}_day" if id_ else id_


class WebAddressField(forms.URLField):
    """A web address, read first as one line of text so that a pasted line break or control
    character is explained by the text rules rather than called an invalid address."""

    def __init__(self, *, rule: TextRule, **kwargs):
        self.rule = dataclasses.replace(rule, missing="")  # whether one is needed is the form's
        super().__init__(**kwargs)

    def to_python(self, value):
        return super().to_python(self.rule.clean(value))


class ActionForm(forms.Form):
    reference = ACTION_TEXTS["reference"].field(
        widget=forms.TextInput(attrs={"class": "govuk-input--width-10"}),
        help_text='As the plan numbers it, for example "3.2".',
    )
    title = ACTION_TEXTS["title"].field()
    description = ACTION_TEXTS["description"].field(label="Description (optional)")
    recommendations = forms.ModelMultipleChoiceField(
        queryset=Recommendation.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Recommendations this action answers",
    )
    lead_officer = forms.ModelChoiceField(
        queryset=User.objects.none(), required=False, empty_label="Not named yet"
    )
    lead_partner = forms.ModelChoiceField(
        queryset=Partner.objects.none(), required=False, empty_label="Not named yet"
    )
    supporting_partners = forms.ModelMultipleChoiceField(
        queryset=Partner.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Supporting partners (optional)",
    )
    due_date = forms.DateField(
        required=False,
        widget=GovukDateInput,
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": DATE_ERROR},
        help_text="For example, 31 3 2027",
    )
    sign_off_body = forms.ModelChoiceField(
        queryset=SignOffBody.objects.none(),
        required=False,
        label="Sign-off body",
        empty_label="Not chosen yet",
        help_text="The board or team that will sign the action off.",
    )
    reason = CHANGE_REASON.field(
        widget=forms.Textarea(attrs={"rows": 3}),
        label="Why the change",
        help_text="Needed when the due date moves later; kept in the action's history.",
    )

    def __init__(self, *args, tenant: Tenant, plan: ActionPlan, action: Action | None = None, **kw):
        super().__init__(*args, **kw)
        self.plan = plan
        self.action = action
        if action is None:
            # A new action has no history to explain.
            del self.fields["reason"]
        self.fields["recommendations"].queryset = Recommendation.objects.filter(
            framework_id=plan.framework_id
        ).order_by("number")
        self.fields["lead_officer"].queryset = people_who_can_deliver(tenant=tenant)
        partners = Partner.objects.filter(tenant=tenant).order_by("name")
        self.fields["lead_partner"].queryset = partners
        self.fields["supporting_partners"].queryset = partners
        bodies = sign_off_bodies_of_plan(plan=plan)
        self.fields["sign_off_body"].queryset = SignOffBody.objects.filter(
            tenant=tenant, pk__in=[body.pk for body in bodies]
        ).order_by("name")

    def clean_reference(self) -> str:
        reference = self.cleaned_data["reference"].strip()
        clash = Action.objects.filter(
            tenant_id=self.plan.tenant_id, plan=self.plan, reference=reference
        )
        if self.action is not None:
            clash = clash.exclude(pk=self.action.pk)
        if clash.exists():
            raise ValidationError(
                f"Another action in this plan already has the reference {reference}."
            )
        return reference

    @classmethod
    def initial_from(cls, action: Action) -> dict:
        return {
            "reference": action.reference,
            "title": action.title,
            "description": action.description,
            "recommendations": [r.pk for r in action.recommendations.all()],
            "lead_officer": action.lead_officer_id,
            "lead_partner": action.lead_partner_id,
            "supporting_partners": [p.pk for p in action.supporting_partners.all()],
            "due_date": action.due_date,
            "sign_off_body": action.sign_off_body_id,
        }


class AdoptionForm(forms.Form):
    """The reference an adopted action takes in the partnership plan; the service checks that
    no other action there has it."""

    reference = forms.CharField(
        max_length=20,
        label="Its reference in this plan",
        widget=forms.TextInput(attrs={"class": "govuk-input--width-10"}),
        help_text='As this plan numbers it, for example "5.1".',
        error_messages={
            "required": "Enter the action's reference in this plan, for example 5.1.",
            "max_length": "A reference is at most 20 characters long.",
        },
    )


class ProgressForm(forms.Form):
    text = PROGRESS_TEXT.field(label="What has happened since the last update")
    rag = forms.ChoiceField(
        label="Your RAG rating",
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose red, amber or green.",
            "invalid_choice": "Choose red, amber or green.",
        },
        choices=[
            (Rag.RED, "Red: will not be delivered on time without help"),
            (Rag.AMBER, "Amber: at risk, but recoverable"),
            (Rag.GREEN, "Green: on track"),
        ],
    )


class EvidenceForm(forms.Form):
    description = EVIDENCE_DESCRIPTION.field(label="What the evidence shows")
    file = forms.FileField(required=False, label="Upload a file")
    link = WebAddressField(
        rule=EVIDENCE_LINK,
        required=False,
        assume_scheme="https",
        label="Or give a web address for it",
        help_text="For example a page on the council's intranet.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[
            "file"
        ].help_text = (
            f"{allowed_extensions_text()}; at most {filesizeformat(settings.EVIDENCE_MAX_BYTES)}."
        )

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload:
            # The same policy the service enforces, checked here so the message sits by the field.
            check_upload(upload)
        return upload

    def clean(self):
        cleaned = super().clean()
        has_file, has_link = bool(cleaned.get("file")), bool(cleaned.get("link"))
        if has_file and has_link:
            raise ValidationError("Give either a file or a web address, not both.")
        if not has_file and not has_link and not self.has_error("link"):
            self.add_error("file", "Choose a file to upload, or give a web address.")
        return cleaned


class CompletionForm(forms.Form):
    text = COMPLETION_STATEMENT.field(
        label="Completion statement",
        help_text="What was done, and how it is now part of everyday practice.",
        widget=forms.Textarea(attrs={"rows": 5}),
    )


class DelegateForm(forms.Form):
    user = forms.ModelChoiceField(
        queryset=User.objects.none(),
        label="Person to add",
        empty_label="Choose a person",
        error_messages={
            "required": "Choose a person to add.",
            "invalid_choice": "Select a valid choice: someone in this organisation who can "
            "deliver actions.",
        },
    )

    def __init__(self, *args, tenant: Tenant, exclude_ids: tuple[int | None, ...] = (), **kw):
        super().__init__(*args, **kw)
        self.fields["user"].queryset = (
            User.objects.filter(
                memberships__tenant=tenant,
                memberships__role__in=roles_that_can(Capability.DELIVER),
                is_active=True,
            )
            .exclude(pk__in=[pk for pk in exclude_ids if pk is not None])
            .order_by("full_name")
        )


class PlanFilterForm(forms.Form):
    """The plan page's filters, read from the address so a filtered view can be shared."""

    q = SEARCH.field(label="Search", help_text="Reference, title or description")
    state = forms.ChoiceField(
        required=False,
        choices=[("", "Any state"), *Action.State.choices],
        error_messages={"invalid_choice": "Choose a state from the list."},
    )
    rag = forms.ChoiceField(
        required=False,
        label="Schedule RAG",
        choices=[("", "Any"), *Rag.choices],
        error_messages={"invalid_choice": "Choose red, amber, green or blue."},
    )
    partner = forms.ModelChoiceField(
        queryset=Partner.objects.none(),
        required=False,
        label="Lead partner",
        empty_label="Any partner",
        error_messages={"invalid_choice": "Choose a partner from the list."},
    )
    officer = forms.ModelChoiceField(
        queryset=User.objects.none(),
        required=False,
        label="Lead officer",
        empty_label="Anyone",
        error_messages={"invalid_choice": "Choose a lead officer from the list."},
    )
    overdue = forms.ChoiceField(
        required=False,
        label="Overdue",
        choices=[("", "Overdue or not"), ("1", "Only overdue actions")],
        error_messages={"invalid_choice": "Choose whether to show only overdue actions."},
    )

    def __init__(self, *args, tenant: Tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["partner"].queryset = Partner.objects.filter(tenant=tenant).order_by("name")
        self.fields["officer"].queryset = people_who_can_deliver(tenant=tenant)

    def filters(self) -> PlanFilters:
        """The filters that are valid; a field with an error narrows nothing."""
        data = self.cleaned_data if self.is_bound else {}
        partner, officer = data.get("partner"), data.get("officer")
        return PlanFilters(
            state=data.get("state") or "",
            rag=data.get("rag") or "",
            lead_partner_id=partner.pk if partner else None,
            lead_officer_id=officer.pk if officer else None,
            overdue=data.get("overdue") == "1",
            text=(data.get("q") or "").strip(),
        )


class PlanForm(forms.Form):
    """A plan's settings, for a new plan and an existing one. The framework is left out once
    the plan has actions, which answer its recommendations."""

    title = forms.CharField(max_length=300, error_messages={"required": "Enter the plan's title."})
    framework = forms.ModelChoiceField(
        queryset=Framework.objects.none(),
        empty_label="Choose a framework",
        label="Framework it responds to",
        help_text="A national framework, or one of this organisation's own.",
        error_messages={
            "required": "Choose the framework the plan responds to.",
            "invalid_choice": "Choose a framework from the list.",
        },
    )
    owner_body = forms.ModelChoiceField(
        queryset=SignOffBody.objects.none(),
        empty_label="Choose a body",
        label="Endorsing body",
        help_text="The board that endorses the plan once it is submitted.",
        error_messages={
            "required": "Choose the body that endorses the plan.",
            "invalid_choice": "Choose a body from the list.",
        },
    )
    monitoring_body = forms.ModelChoiceField(
        queryset=SignOffBody.objects.none(),
        required=False,
        empty_label="None",
        label="Monitoring body (optional)",
        help_text="The board that watches delivery.",
        error_messages={"invalid_choice": "Choose a body from the list."},
    )
    partner = forms.ModelChoiceField(
        queryset=Partner.objects.none(),
        required=False,
        empty_label="None: a partnership plan",
        label="Agency",
        help_text="The partner agency whose own plan this is.",
        error_messages={"invalid_choice": "Choose an agency from the list."},
    )
    owner = forms.ModelChoiceField(
        queryset=User.objects.none(),
        required=False,
        empty_label="Not named yet",
        label="Answered for by",
        help_text="The officer who answers for the plan.",
        error_messages={"invalid_choice": "Choose a person from the list."},
    )
    sign_off_bodies = forms.ModelMultipleChoiceField(
        queryset=SignOffBody.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Bodies that may sign off its actions",
        help_text="Each action names one of these as its sign-off body.",
        error_messages={"invalid_choice": "Choose bodies from the list."},
    )

    def __init__(self, *args, tenant: Tenant, plan: ActionPlan | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.plan = plan
        bodies = SignOffBody.objects.filter(tenant=tenant).order_by("name")
        self.fields["framework"].queryset = frameworks_visible(tenant=tenant).order_by("title")
        self.fields["owner_body"].queryset = bodies
        self.fields["monitoring_body"].queryset = bodies
        self.fields["sign_off_bodies"].queryset = bodies
        self.fields["partner"].queryset = Partner.objects.filter(tenant=tenant).order_by("name")
        self.fields["owner"].queryset = people_who_can_deliver(tenant=tenant)
        if plan is not None and framework_change_refusal(plan) is not None:
            del self.fields["framework"]

    @classmethod
    def initial_from(cls, plan: ActionPlan) -> dict:
        return {
            "title": plan.title,
            "framework": plan.framework_id,
            "owner_body": plan.owner_body_id,
            "monitoring_body": plan.monitoring_body_id,
            "partner": plan.partner_id,
            "owner": plan.owner_id,
            "sign_off_bodies": [body.pk for body in sign_off_bodies_of_plan(plan=plan)],
        }


class FrameworkImportForm(forms.Form):
    """The details of a framework and its file. The import service checks them all; the form
    only says when something is missing."""

    title = forms.CharField(
        label="Title",
        help_text="For example: Serious case review of Child H: recommendations.",
        error_messages={"required": "Enter the framework's title."},
    )
    short_name = forms.CharField(
        label="Short name",
        help_text=(
            "Letters, numbers and hyphens, for example scr-child-h-2010. Importing a file with "
            "the short name of one of your frameworks updates that framework."
        ),
        error_messages={"required": "Enter a short name for the framework."},
    )
    file = forms.FileField(
        label="Upload the file",
        error_messages={
            "required": "Choose the CSV file or Excel workbook to import.",
            "empty": "The file is empty.",
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["file"].help_text = (
            f"A CSV file (.csv, UTF-8) or an Excel workbook (.xlsx), at most "
            f"{filesizeformat(MAX_BYTES)} and {MAX_ROWS:,} recommendations."
        )
