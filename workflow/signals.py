from django.dispatch import Signal

# Sent inside the transaction that changed state, after the log row is written:
# sender=model class, obj=the locked object, log=the TransitionLog row, actor=the user.
# A receiver that raises rolls the state change back.
transition_recorded = Signal()

# Sent after the transaction that changed state has committed:
# sender=model class, obj=the object, log=the TransitionLog row, actor=the user.
transition_committed = Signal()

# Sent after commit when an approval was recorded but the quorum is not yet met:
# sender=model class, obj, approval, approvals (count so far), quorum.
approval_committed = Signal()
