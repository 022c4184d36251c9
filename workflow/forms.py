from django import forms

from workflow.engine import Transition


class StepForm(forms.Form):
    """The reason or comment given with a workflow step.

    The reason is checked here, on the server, so that a missing one is a form error beside the
    field; browsers' own checks are off (``novalidate`` on the form, no ``required`` attribute).
    """

    use_required_attribute = False

    comment = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 4}))

    def __init__(self, *args, transition: Transition, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["comment"]
        field.label = transition.reason_label
        field.required = transition.reason_required
        field.error_messages["required"] = transition.reason_missing
