from allauth.account import forms as allauth_forms
from django import forms
from django.contrib.auth.forms import AdminUserCreationForm
from django.contrib.auth.forms import UserChangeForm as BaseUserChangeForm
from django.core.exceptions import ValidationError

from tenants.models import AuditEntry, User
from tenants.text import SEARCH

EMAIL_FORMAT = "Enter an e-mail address in the correct format, like name@example.org"
NEW_PASSWORD_HINT = (
    "Use at least 8 characters. Do not use a common password, only numbers, or anything like "
    "your name or e-mail address."
)


def _labels_not_placeholders(form: forms.Form) -> None:
    """Labels and hints say what to enter: no placeholders, and no autofocus that would move a
    screen reader past the page's heading. Autocomplete attributes stay."""
    for field in form.fields.values():
        field.widget.attrs.pop("placeholder", None)
        field.widget.attrs.pop("autofocus", None)


def _email(field: forms.Field) -> None:
    field.label = "E-mail address"
    field.error_messages.update(required="Enter your e-mail address", invalid=EMAIL_FORMAT)
    field.widget.attrs["spellcheck"] = "false"


def _new_password(form: forms.Form) -> None:
    form.fields["password1"].label = "New password"
    form.fields["password1"].help_text = NEW_PASSWORD_HINT
    form.fields["password1"].error_messages["required"] = "Enter a new password"
    form.fields["password2"].label = "Confirm new password"
    form.fields["password2"].error_messages["required"] = "Enter the new password again"


class SignInForm(allauth_forms.LoginForm):
    """allauth's sign-in by e-mail address, in the service's words."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _email(self.fields["login"])
        # The page links to the reset instead of a hint under the box.
        self.fields["password"].help_text = ""
        self.fields["password"].error_messages["required"] = "Enter your password"
        _labels_not_placeholders(self)


class ResetPasswordForm(allauth_forms.ResetPasswordForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _email(self.fields["email"])
        _labels_not_placeholders(self)


class ResetPasswordKeyForm(allauth_forms.ResetPasswordKeyForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _new_password(self)
        _labels_not_placeholders(self)


class ChangePasswordForm(allauth_forms.ChangePasswordForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["oldpassword"].label = "Current password"
        self.fields["oldpassword"].help_text = ""
        self.fields["oldpassword"].error_messages["required"] = "Enter your current password"
        _new_password(self)
        _labels_not_placeholders(self)


def _email_is_free(email: str, instance: User | None) -> bool:
    clash = User.objects.filter(email__iexact=email.strip())
    if instance is not None and instance.pk is not None:
        clash = clash.exclude(pk=instance.pk)
    return not clash.exists()


class UserCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "full_name")

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if not _email_is_free(email, None):
            raise ValidationError("Someone already signs in with this e-mail address.")
        return email


class UserChangeForm(BaseUserChangeForm):
    class Meta:
        model = User
        fields = "__all__"

    def clean_email(self) -> str:
        email = self.cleaned_data["email"].strip().lower()
        if not _email_is_free(email, self.instance):
            raise ValidationError("Someone already signs in with this e-mail address.")
        return email


DATE_FORMATS = ["%d/%m/%Y", "%d %m %Y", "%Y-%m-%d"]


class AuditFilterForm(forms.Form):
    """The audit page's filters, read from the address so a filtered view can be shared."""

    subject = forms.ChoiceField(
        required=False,
        label="What changed",
        choices=[("", "Anything"), *AuditEntry.Subject.choices],
        error_messages={"invalid_choice": "Choose what changed from the list."},
    )
    actor = forms.ModelChoiceField(
        queryset=User.objects.none(),
        required=False,
        label="Changed by",
        empty_label="Anyone",
        error_messages={"invalid_choice": "Choose a person from the list."},
    )
    since = forms.DateField(
        required=False,
        label="From",
        input_formats=DATE_FORMATS,
        help_text="For example, 1/10/2026",
        widget=forms.TextInput(attrs={"class": "govuk-input--width-10"}),
        error_messages={"invalid": "Enter the first date as day/month/year, like 1/10/2026."},
    )
    until = forms.DateField(
        required=False,
        label="To",
        input_formats=DATE_FORMATS,
        help_text="For example, 31/10/2026",
        widget=forms.TextInput(attrs={"class": "govuk-input--width-10"}),
        error_messages={"invalid": "Enter the last date as day/month/year, like 31/10/2026."},
    )
    q = SEARCH.field(label="Search", help_text="What changed, or its name")

    def __init__(self, *args, people, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["actor"].queryset = people

    def clean(self):
        cleaned = super().clean()
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", "The last date must be on or after the first date.")
        return cleaned
