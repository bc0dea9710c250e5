"""What the application form tells whoever listens (the approval routing), without
importing it. Sent inside the service's transaction: a receiver's writes and
emails commit or roll back with it, and its exceptions reach the caller."""

from django.dispatch import Signal

# application, actor, request: submitted or resubmitted for approval.
application_submitted = Signal()
# application, actor, request, for_officer: withdrawn by its nodal officer (for_officer
# False), or on their behalf (True: their account erased; actor None, the system).
application_withdrawn = Signal()
# application: under appeal as its nodal officer's account is erased (by the system): the
# appeal could no longer be granted (overturning makes a closed account its admin), and is
# closed, the rejection upheld.
appeal_left_by_erasure = Signal()
