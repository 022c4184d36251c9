import datetime

from django import forms

from plans.forms import DATE_ERROR, GovukDateInput
from plans.models import PublishedReport
from plans.reports.publishing import MEETING, report_dates_refusal


class ReportDatesForm(forms.Form):
    """The report's date and, optionally, an earlier date to compare it with."""

    as_of = forms.DateField(
        label="Progress as of",
        help_text="For example, 1 10 2009. The report shows the plan as it stood at the end of "
        "that day.",
        widget=GovukDateInput,
        error_messages={"invalid": DATE_ERROR, "required": "Enter the report's date."},
    )
    since = forms.DateField(
        label="Show what changed since (optional)",
        help_text="An earlier date, such as the last meeting's.",
        required=False,
        widget=GovukDateInput,
        error_messages={"invalid": DATE_ERROR},
    )

    def __init__(self, *args, today: datetime.date, with_since: bool = True, **kwargs):
        self.today = today
        super().__init__(*args, **kwargs)
        if not with_since:
            del self.fields["since"]

    def clean(self):
        cleaned = super().clean()
        as_of, since = cleaned.get("as_of"), cleaned.get("since")
        if as_of is not None:
            for name, problem in report_dates_refusal(
                as_of=as_of, since=since, today=self.today
            ).items():
                self.add_error(name, problem)
        return cleaned

    def dates(self) -> tuple[datetime.date, datetime.date | None]:
        """The dates asked for, or today alone when the form was not filled in or is wrong."""
        if self.is_bound and self.is_valid():
            return self.cleaned_data["as_of"], self.cleaned_data.get("since")
        return self.today, None


class PublishForm(forms.Form):
    meeting = MEETING.field(
        label="Meeting",
        help_text='The meeting the report is tabled at, for example "LSCB board".',
    )
    meeting_date = forms.DateField(
        label="Date of the meeting",
        widget=GovukDateInput,
        error_messages={"invalid": DATE_ERROR, "required": "Enter the date of the meeting."},
    )
    format = forms.ChoiceField(
        label="Format",
        choices=PublishedReport.Format.choices,
        initial=PublishedReport.Format.PDF,
        widget=forms.RadioSelect,
    )
