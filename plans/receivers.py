"""What plans record about workflow steps taken on their actions. Receivers run inside the
transaction of the step, so what they write commits or rolls back with it."""

from django.dispatch import receiver

from plans.models import Action, ActionPlan
from plans.services import plan_variation_record
from workflow.signals import transition_recorded


@receiver(transition_recorded, sender=Action, dispatch_uid="plans.withdrawal_varies_plan")
def withdrawal_varies_endorsed_plan(sender, obj: Action, log, actor, **kwargs):
    """An action withdrawn from an endorsed plan changes what its endorsing body endorsed."""
    if log.transition != "withdraw":
        return
    plan = ActionPlan.objects.get(pk=obj.plan_id, tenant_id=obj.tenant_id)
    if plan.state != ActionPlan.State.ENDORSED:
        return
    plan_variation_record(
        plan=plan, by=actor, change=f"action {obj.reference} withdrawn", reason=log.comment
    )
