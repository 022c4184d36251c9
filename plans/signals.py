from django.dispatch import Signal

# Sent inside the transaction of the change, so receivers' writes (the outbox) commit or roll
# back with it. A receiver that raises undoes the change.

# sender=Action, action, officer (the new lead officer), by (who made the change).
lead_officer_assigned = Signal()

# sender=Action, action, delegate, by.
delegate_added = Signal()
