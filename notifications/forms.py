"""Forms for a person's e-mail preference and a tenant's escalation policy. The rules between
fields (the chain's order, what Notify needs) live in the model and come back through the
service, so the form and the admin cannot disagree about them."""

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from notifications.models import EscalationPolicy, NotificationPreference
from notifications.services import NOTIFY_API_KEY, NOTIFY_TEMPLATE_ID

DAYS_ERROR = "Give a number of working days from 1 to 250."


def days_field(label: str, help_text: str) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        help_text=help_text,
        # The model's own bounds, said once here so a bad number gets one message, not two.
        validators=[MinValueValidator(1, DAYS_ERROR), MaxValueValidator(250, DAYS_ERROR)],
        error_messages={"required": DAYS_ERROR, "invalid": DAYS_ERROR},
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )


class NotificationPreferenceForm(forms.Form):
    events = forms.ChoiceField(
        label="How do you want to hear about things that happen to your actions?",
        choices=NotificationPreference.Events.choices,
        widget=forms.RadioSelect,
        help_text="For example an action returned to you, or evidence waiting for your sign-off.",
        error_messages={
            "required": "Choose straight away or in one e-mail each morning.",
            "invalid_choice": "Choose straight away or in one e-mail each morning.",
        },
    )


class EscalationPolicyForm(forms.Form):
    reminder_days_before = days_field(
        "Reminder to the lead officer",
        "Working days before the due date.",
    )
    overdue_days = days_field(
        "Tell the lead officer and the lead partner's contact",
        "Working days after the due date.",
    )
    managers_days = days_field(
        "Tell the body monitoring the plan and the lead partner's committee",
        "Working days after the due date. More than for the lead officer.",
    )
    chair_days = days_field(
        "Tell the chairs of the sign-off body and the monitoring body",
        "Working days after the due date. More than for the monitoring body.",
    )
    sign_off_waiting_days = days_field(
        "Remind the sign-off body of evidence waiting for sign-off",
        "Working days after the evidence was submitted.",
    )
    channel = forms.ChoiceField(
        label="Send e-mails by",
        choices=EscalationPolicy.Channel.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose how e-mails are sent.",
            "invalid_choice": "Choose how e-mails are sent.",
        },
    )
    # Write-only: never rendered back into the page, and a blank box keeps the stored key.
    notify_api_key = NOTIFY_API_KEY.field(
        label="GOV.UK Notify API key",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    notify_template_id = NOTIFY_TEMPLATE_ID.field(
        label="GOV.UK Notify e-mail template ID",
        help_text=(
            "Only needed to send through GOV.UK Notify. The template's subject is ((subject)) "
            "and its message ((body))."
        ),
    )

    def __init__(self, *args, key_stored: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["notify_api_key"].help_text = (
            "A key is stored. Leave this blank to keep it, or enter a new key to replace it."
            if key_stored
            else "Only needed to send through GOV.UK Notify. Use a live key of your own service."
        )

    @classmethod
    def initial_from(cls, policy: EscalationPolicy) -> dict:
        return {
            "reminder_days_before": policy.reminder_days_before,
            "overdue_days": policy.overdue_days,
            "managers_days": policy.managers_days,
            "chair_days": policy.chair_days,
            "sign_off_waiting_days": policy.sign_off_waiting_days,
            "channel": policy.channel,
            "notify_template_id": policy.notify_template_id,
        }
