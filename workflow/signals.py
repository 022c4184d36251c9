from django.dispatch import Signal

# Sent after the transaction that changed state has committed:
# sender=model class, obj=the object, log=the TransitionLog row, actor=the user.
transition_committed = Signal()

# Sent after commit when an approval was recorded but the quorum is not yet met:
# sender=model class, obj, approval, approvals (count so far), quorum.
approval_committed = Signal()
