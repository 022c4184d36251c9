from django import forms
from django.contrib.auth.forms import AdminUserCreationForm, AuthenticationForm
from django.contrib.auth.forms import UserChangeForm as BaseUserChangeForm
from django.core.exceptions import ValidationError

from tenants.models import User


class EmailAuthenticationForm(AuthenticationForm):
    """Django's sign-in form, asking for the e-mail address people sign in with."""

    username = forms.EmailField(
        label="E-mail address",
        max_length=254,
        widget=forms.EmailInput(
            attrs={"autocomplete": "email", "autofocus": True, "spellcheck": "false"}
        ),
    )
    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Enter a correct e-mail address and password.",
    }


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
