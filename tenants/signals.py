from django.dispatch import Signal

# Sent inside the transaction of the change, so receivers' writes (the outbox) commit or roll
# back with it. A receiver that raises undoes the change.

# sender=Invitation; invitation, token (the secret the link carries, never stored), recipient
# (the account of the invited address, or None for someone new, who has none until they
# accept), by. Sent when an invitation is made or sent again.
invitation_created = Signal()

# sender=Membership; membership. Asked before a person leaves the organisation or is given a
# role that cannot deliver actions. Each receiver answers with a sentence saying what in its app
# still needs them ("leads 3 open actions: give them another lead officer first"), or None.
person_commitments_asked = Signal()

# sender=Membership; membership, by. Sent inside the removal's transaction, before the
# membership is deleted: receivers take away what the person held in their app (delegations)
# and record it.
person_leaving = Signal()
