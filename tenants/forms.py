from allauth.account import forms as allauth_forms
from allauth.mfa.base import forms as mfa_base_forms
from allauth.mfa.totp import forms as mfa_totp_forms
from allauth.mfa.webauthn import forms as mfa_webauthn_forms
from django import forms
from django.contrib.auth.forms import AdminUserCreationForm
from django.contrib.auth.forms import UserChangeForm as BaseUserChangeForm
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError

from tenants.models import (
    AuditEntry,
    Capability,
    Membership,
    Partner,
    SignOffBody,
    SignOffBodyMember,
    Tenant,
    User,
    roles_that_can,
)
from tenants.rules import password_sign_in_refusal
from tenants.services import OWN_NAME, PARTNER_NAME, PERSON_NAME
from tenants.services.single_sign_on import CLIENT_ID, CLIENT_SECRET, DIRECTORY, DOMAINS
from tenants.text import SEARCH

EMAIL_FORMAT = "Enter an e-mail address in the correct format, like name@example.org"
NEW_PASSWORD_HINT = (
    "Use at least 8 characters. Do not use a common password, only numbers, or anything like "
    "your name or e-mail address."
)


def add_service_errors(form: forms.Form, error: ValidationError) -> None:
    """Show a service's ValidationError next to the fields it names, or above the form."""
    if hasattr(error, "error_dict"):
        for name, errors in error.error_dict.items():
            field = name if name in form.fields else NON_FIELD_ERRORS
            form.add_error(None, ValidationError({field: errors}))
    else:
        form.add_error(None, error.messages)


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

    def clean(self):
        cleaned = super().clean()
        if self.user is not None:
            refusal = password_sign_in_refusal(user=self.user)
            if refusal is not None:
                raise forms.ValidationError(refusal.message)
        return cleaned


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


# -- the tenant administrator's settings -------------------------------------------------------


def _deliverers(tenant: Tenant):
    # One filter() call, so tenant and role are tested on the same membership row.
    return User.objects.filter(
        memberships__tenant=tenant,
        memberships__role__in=roles_that_can(Capability.DELIVER),
        is_active=True,
    ).order_by("full_name")


QUORUM_HINT = (
    "How many members must approve before a sign-off takes effect. Nobody approves what they "
    "delivered themselves, so a quorum above 1 needs at least one member more than the quorum."
)


class SignOffBodyForm(forms.Form):
    """A sign-off body's name, kind and agency; and, once it has members, its chair and quorum
    (on a new body, members are chosen in the same form)."""

    name = forms.CharField(max_length=200, error_messages={"required": "Enter the body's name."})
    kind = forms.ChoiceField(
        choices=SignOffBody.Kind.choices,
        widget=forms.RadioSelect,
        error_messages={
            "required": "Choose what kind of body this is.",
            "invalid_choice": "Choose what kind of body this is.",
        },
    )
    partner = forms.ModelChoiceField(
        queryset=Partner.objects.none(),
        required=False,
        label="Agency",
        empty_label="None",
        help_text="For an agency committee only: the partner agency whose committee it is.",
        error_messages={"invalid_choice": "Choose an agency from the list."},
    )
    members = forms.ModelMultipleChoiceField(
        queryset=User.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label="Members",
        help_text="Read-only viewers cannot sit on a sign-off body.",
        error_messages={"invalid_choice": "Choose members from the list."},
    )
    chair = forms.ModelChoiceField(
        queryset=User.objects.none(),
        required=False,
        empty_label="No chair",
        help_text="A member of the body. The chair is told when actions are long overdue.",
        error_messages={"invalid_choice": "Choose the chair from the body's members."},
    )
    quorum = forms.IntegerField(
        min_value=1,
        max_value=99,
        initial=1,
        help_text=QUORUM_HINT,
        widget=forms.TextInput(attrs={"class": "govuk-input--width-2", "inputmode": "numeric"}),
        error_messages={
            "required": "Enter the quorum, a whole number such as 1 or 2.",
            "invalid": "Enter the quorum as a whole number, such as 1 or 2.",
            "min_value": "The quorum must be at least 1.",
            "max_value": "The quorum must be 99 or fewer.",
        },
    )

    def __init__(self, *args, tenant: Tenant, body: SignOffBody | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.body = body
        self.fields["partner"].queryset = Partner.objects.filter(tenant=tenant).order_by("name")
        if body is None:
            self.fields["members"].queryset = _deliverers(tenant)
            self.fields["chair"].queryset = _deliverers(tenant)
            self.fields[
                "chair"
            ].help_text = (
                "One of the members chosen above. The chair is told when actions are long overdue."
            )
        else:
            del self.fields["members"]
            self.fields["chair"].queryset = User.objects.filter(
                pk__in=SignOffBodyMember.objects.filter(tenant=tenant, body=body).values("user_id")
            ).order_by("full_name")

    @classmethod
    def initial_from(cls, body: SignOffBody) -> dict:
        return {
            "name": body.name,
            "kind": body.kind,
            "partner": body.partner_id,
            "chair": body.chair_id,
            "quorum": body.quorum,
        }


class SignOffBodyMemberForm(forms.Form):
    user = forms.ModelChoiceField(
        queryset=User.objects.none(),
        label="Person to add",
        empty_label="Choose a person",
        error_messages={
            "required": "Choose a person to add.",
            "invalid_choice": "Choose someone in this organisation who is not yet a member and "
            "is not a read-only viewer.",
        },
    )

    def __init__(self, *args, tenant: Tenant, body: SignOffBody, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["user"].queryset = _deliverers(tenant).exclude(
            pk__in=SignOffBodyMember.objects.filter(tenant=tenant, body=body).values("user_id")
        )


class OrganisationForm(forms.Form):
    nation = forms.ChoiceField(
        choices=Tenant.Nation.choices,
        widget=forms.RadioSelect,
        label="Nation",
        help_text="Escalations count working days, which skip weekends and this nation's bank "
        "holidays.",
        error_messages={
            "required": "Choose England, Wales, Scotland or Northern Ireland.",
            "invalid_choice": "Choose England, Wales, Scotland or Northern Ireland.",
        },
    )


# -- the tenant administrator's people and partner agency pages ---------------------------------

ROLE_HINT = (
    "Officers lead and deliver actions; managers also agree and chase them; board members sit on "
    "sign-off bodies; read-only viewers see plans; tenant administrators also manage settings."
)


def _role_field() -> forms.ChoiceField:
    return forms.ChoiceField(
        label="Role",
        choices=Membership.Role.choices,
        widget=forms.RadioSelect,
        help_text=ROLE_HINT,
        error_messages={
            "required": "Choose the role they will have.",
            "invalid_choice": "Choose the role they will have.",
        },
    )


def _partner_field(tenant) -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        label="Partner agency they work for",
        queryset=Partner.objects.filter(tenant=tenant).order_by("name"),
        required=False,
        empty_label="None: they work for the organisation itself",
        error_messages={"invalid_choice": "Choose a partner agency from the list."},
    )


class InvitationForm(forms.Form):
    full_name = PERSON_NAME.field(
        label="Full name",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    email = forms.EmailField(
        label="E-mail address",
        help_text="The invitation is sent here. They sign in with this address.",
        error_messages={"required": "Enter the person's e-mail address.", "invalid": EMAIL_FORMAT},
        widget=forms.EmailInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"] = _role_field()
        self.fields["partner"] = _partner_field(tenant)
        self.fields["partner"].help_text = (
            "Escalations about that agency's actions reach its named contact. If the agency has "
            "no named contact, this person becomes it when they accept."
        )


class PersonForm(forms.Form):
    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"] = _role_field()
        self.fields["partner"] = _partner_field(tenant)


class PartnerForm(forms.Form):
    name = PARTNER_NAME.field(label="Name")
    kind = forms.ChoiceField(
        label="Kind of agency",
        choices=[("", "Choose the kind of agency"), *Partner.Kind.choices],
        error_messages={
            "required": "Choose the kind of agency.",
            "invalid_choice": "Choose the kind of agency.",
        },
    )
    contact_name = PERSON_NAME.field(
        label="Full name",
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    contact_email = forms.EmailField(
        label="E-mail address",
        required=False,
        error_messages={"invalid": EMAIL_FORMAT},
        widget=forms.EmailInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args, tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contact"] = forms.ModelChoiceField(
            label="Named contact",
            help_text="The person escalations about this agency's overdue actions reach.",
            queryset=User.objects.filter(memberships__tenant=tenant).order_by("full_name"),
            required=False,
            empty_label="No named contact",
            error_messages={"invalid_choice": "Choose a named contact from the list."},
        )
        # The contact list comes before the boxes for inviting someone new.
        self.order_fields(["name", "kind", "contact", "contact_name", "contact_email"])

    def clean(self):
        data = super().clean()
        name, email = data.get("contact_name", ""), data.get("contact_email", "")
        if self.has_error("contact_email"):
            return data
        if name or email:
            if data.get("contact"):
                self.add_error(
                    "contact",
                    "Choose a named contact from the list or invite someone new, not both.",
                )
            if not name:
                self.add_error("contact_name", "Enter the full name of the contact to invite.")
            if not email:
                self.add_error(
                    "contact_email", "Enter the e-mail address of the contact to invite."
                )
        return data

    @property
    def invite_contact(self) -> tuple[str, str] | None:
        name, email = self.cleaned_data.get("contact_name"), self.cleaned_data.get("contact_email")
        return (name, email) if name and email else None


class AcceptInvitationForm(forms.Form):
    """A new person's name and first password, checked by Django's password validators in the
    service."""

    full_name = OWN_NAME.field(
        label="Full name",
        help_text="As colleagues will see it.",
        widget=forms.TextInput(attrs={"autocomplete": "name"}),
    )
    password1 = forms.CharField(
        label="Password",
        help_text=NEW_PASSWORD_HINT,
        strip=False,
        error_messages={"required": "Enter a password."},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label="Confirm password",
        strip=False,
        error_messages={"required": "Enter the password again."},
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        data = super().clean()
        one, two = data.get("password1"), data.get("password2")
        if one and two and one != two:
            self.add_error("password2", "The two passwords are not the same. Enter them again.")
        return data


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


# -- a second factor (allauth.mfa) -----------------------------------------------------------

CODE_MISSING = "Enter the code from your authenticator app, or a recovery code"


def _code(field: forms.Field, *, label: str, hint: str = "", missing: str = CODE_MISSING) -> None:
    field.label = label
    field.help_text = hint
    field.error_messages["required"] = missing
    field.widget.attrs.update(
        {"class": "govuk-input--width-10", "spellcheck": "false", "autocomplete": "one-time-code"}
    )


class ConfirmPasswordForm(allauth_forms.ReauthenticateForm):
    """The password again, before a change to how someone signs in."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["password"].help_text = ""
        self.fields["password"].error_messages["required"] = "Enter your password"
        _labels_not_placeholders(self)


class _CodeOrRecoveryCode:
    """A code from the authenticator app, or a recovery code, labelled for the service."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _code(
            self.fields["code"],
            label="Code",
            hint="The 6-digit code your authenticator app shows now, or one of your recovery "
            "codes.",
        )
        _labels_not_placeholders(self)


class SecondFactorForm(_CodeOrRecoveryCode, mfa_base_forms.AuthenticateForm):
    """The second step of signing in, once a second factor is set up."""


class SecondFactorAgainForm(_CodeOrRecoveryCode, mfa_base_forms.ReauthenticateForm):
    """Confirming who you are with the second factor before changing it."""


class AuthenticatorAppForm(mfa_totp_forms.ActivateTOTPForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        _code(
            self.fields["code"],
            label="Code from the app",
            hint="The 6-digit code the app shows for this service now.",
            missing="Enter the 6-digit code the app shows",
        )
        _labels_not_placeholders(self)


class SecurityKeyForm(mfa_webauthn_forms.AddWebAuthnForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].label = "Name of the key"
        self.fields[
            "name"
        ].help_text = "To tell your keys apart, for example: work laptop, or blue key."
        if "passwordless" in self.fields:
            self.fields["passwordless"].label = "Use it as a passkey, to sign in with it alone"
            self.fields["passwordless"].help_text = (
                "The key then checks that it is you, by a PIN, fingerprint or face, so you can "
                "sign in without your password."
            )
        _labels_not_placeholders(self)


class SecurityKeyNameForm(mfa_webauthn_forms.EditWebAuthnForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["name"].label = "Name of the key"
        self.fields["name"].error_messages["required"] = "Enter a name for the key"
        _labels_not_placeholders(self)


class SingleSignOnForm(forms.Form):
    """A tenant's single sign-on settings. The service checks them all, asking the provider."""

    directory = DIRECTORY.field(
        label="Directory (tenant) ID or discovery URL",
        help_text="For Microsoft Entra ID, the Directory (tenant) ID from the app registration's "
        "overview. For another OpenID Connect provider, its discovery URL.",
    )
    client_id = CLIENT_ID.field(label="Client (application) ID")
    # Write-only: never rendered back into the page, and a blank box keeps the stored secret.
    client_secret = CLIENT_SECRET.field(
        label="Client secret",
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
    )
    email_domains = DOMAINS.field(
        label="E-mail domains",
        help_text="The domains of the addresses your people sign in with, separated by spaces, "
        "like luton.gov.uk. Only addresses in them can sign in this way.",
    )
    required = forms.ChoiceField(
        label="Must members sign in this way?",
        choices=[
            ("no", "No: they may also sign in with a password"),
            ("yes", "Yes: a password does not open this organisation's pages"),
        ],
        widget=forms.RadioSelect,
        initial="no",
        error_messages={
            "required": "Choose whether members must sign in this way.",
            "invalid_choice": "Choose whether members must sign in this way.",
        },
    )

    def __init__(self, *args, secret_stored: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["client_secret"].help_text = (
            "A secret is stored. Leave this blank to keep it, or enter a new one to replace it."
            if secret_stored
            else "The value of a client secret made under Certificates & secrets."
        )


class SingleSignOnFindForm(forms.Form):
    email = forms.EmailField(
        label="Your work e-mail address",
        error_messages={"required": "Enter your work e-mail address", "invalid": EMAIL_FORMAT},
    )
