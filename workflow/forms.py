from django import forms

from workflow.engine import Transition


class StepForm(forms.Form):
    """The reason or comment given with a workflow step.

    The reason is checked here, on the server, by the rule the transition service applies, so
    that a missing or unusable one is a form error beside the field; browsers' own checks are
    off (``novalidate`` on the form, no ``required`` attribute).
    """

    use_required_attribute = False

    def __init__(self, *args, transition: Transition, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["comment"] = transition.reason_rule.field(
            label=transition.reason_label, widget=forms.Textarea(attrs={"rows": 4})
        )
