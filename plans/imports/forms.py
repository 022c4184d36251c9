"""The forms of the plan import: the file, then which column holds which field. The import
service checks everything; the forms only offer the choices and say when the file is missing."""

from django import forms

from plans.imports.columns import FIELDS, FileColumn, ImportChoices
from plans.imports.services import limits_text
from tenants.models import SignOffBody

NOT_IN_FILE = "Not in the file"


class PlanFileForm(forms.Form):
    file = forms.FileField(
        label="Upload the file",
        error_messages={
            "required": "Choose the CSV file or Excel workbook to import.",
            "empty": "The file is empty.",
        },
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields[
            "file"
        ].help_text = (
            f"A CSV file (.csv, UTF-8) or an Excel workbook (.xlsx, first sheet), {limits_text()}."
        )


class ColumnsForm(forms.Form):
    """One choice of column per field, from the file's own columns, and the sign-off body of the
    actions whose row names none."""

    def __init__(
        self, *args, columns: list[FileColumn], bodies: list[SignOffBody], **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        options = [("", NOT_IN_FILE)] + [(str(c.position), c.label) for c in columns]
        for f in FIELDS:
            self.fields[f.key] = forms.TypedChoiceField(
                label=f.label if f.required else f"{f.label} (optional)",
                help_text=f.hint,
                choices=options,
                coerce=int,
                empty_value=None,
                required=False,
                error_messages={"invalid_choice": "Choose one of the file's columns."},
            )
        self.fields["default_sign_off_body"] = forms.TypedChoiceField(
            label="Sign-off body of actions whose row names none (optional)",
            help_text=(
                "Agreed actions need a sign-off body. A file exported by the service does not "
                "name them: choose the body that signs off its actions."
            ),
            choices=[("", "None: every agreed action's row names its body")]
            + [(str(body.pk), body.name) for body in bodies],
            coerce=int,
            empty_value=None,
            required=False,
            error_messages={
                "invalid_choice": "Choose a body that may sign off actions in this plan."
            },
        )

    def choices(self) -> ImportChoices:
        data = self.cleaned_data
        return ImportChoices(
            columns={f.key: data[f.key] for f in FIELDS if data.get(f.key) is not None},
            sign_off_body_id=data.get("default_sign_off_body"),
        )

    @staticmethod
    def initial_for(choices: ImportChoices) -> dict:
        return {**choices.columns, "default_sign_off_body": choices.sign_off_body_id}
