"""Forms for a person's e-mail preference and a tenant's escalation policy. The rules between
fields (the chain's order, what a chosen channel needs) live in the models and come back
through the service, so the form and the admin cannot disagree about them."""

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from notifications import channels
from notifications.models import ChannelSettings, EscalationPolicy, NotificationPreference

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
        choices=channels.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose how e-mails are sent.",
            "invalid_choice": "Choose how e-mails are sent.",
        },
    )

    def __init__(self, *args, settings: dict[str, ChannelSettings], **kwargs):
        """``settings``: the tenant's channel settings, by channel, to say which secrets are
        stored."""
        super().__init__(*args, **kwargs)
        secrets_stored = {
            channels.field_name(row.channel, name)
            for row in settings.values()
            for name in row.secrets_stored()
        }
        # Each channel's settings, as the channel declares them: a new channel needs nothing here.
        for name, (_, setting) in channels.setting_fields().items():
            if setting.secret:
                # Write-only: never rendered back into the page, and a blank box keeps it.
                self.fields[name] = setting.rule.field(
                    label=setting.label,
                    required=False,
                    help_text=setting.stored_help_text
                    if name in secrets_stored
                    else setting.help_text,
                    widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
                )
            else:
                self.fields[name] = setting.rule.field(
                    label=setting.label, required=False, help_text=setting.help_text
                )

    def channel_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in channels.setting_fields()]

    def secret_fields(self) -> list[str]:
        return [name for name, (_, s) in channels.setting_fields().items() if s.secret]

    @classmethod
    def initial_from(cls, policy: EscalationPolicy, settings: dict[str, ChannelSettings]) -> dict:
        initial = {
            "reminder_days_before": policy.reminder_days_before,
            "overdue_days": policy.overdue_days,
            "managers_days": policy.managers_days,
            "chair_days": policy.chair_days,
            "sign_off_waiting_days": policy.sign_off_waiting_days,
            "channel": next(
                (name for name, row in settings.items() if row.chosen), channels.DEFAULT
            ),
        }
        for name, (channel, setting) in channels.setting_fields().items():
            row = settings.get(channel.name)
            if row is not None and not setting.secret:
                initial[name] = row.values.get(setting.name, "")
        return initial
