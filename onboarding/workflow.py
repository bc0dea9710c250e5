"""The application lifecycle (DESIGN §4) as one state machine.

Every change of an application's status goes through ``advance``; a transition
that is not in the table raises ``InvalidTransition``.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _

from onboarding.models import ApplicationStatus as S
from onboarding.models import Decision as D
from onboarding.models import Stage


class Event(models.TextChoices):
    SUBMIT = "submit", _("Submit")
    RESUBMIT = "resubmit", _("Resubmit after correction")
    AUTHORITY_APPROVE = "authority_approve", _("Approved by the competent authority")
    AUTHORITY_RETURN = "authority_return", _("Returned by the competent authority")
    AUTHORITY_REJECT = "authority_reject", _("Rejected by the competent authority")
    STATE_APPROVE = "state_approve", _("Approved by the state administrators")
    STATE_RETURN = "state_return", _("Returned by the state administrators")
    STATE_REJECT = "state_reject", _("Rejected by the state administrators")
    APPEAL = "appeal", _("Appealed")
    APPEAL_OVERTURN = "appeal_overturn", _("Rejection overturned on appeal")
    APPEAL_UPHOLD = "appeal_uphold", _("Rejection upheld on appeal")
    APPEAL_LAPSED = "appeal_lapsed", _("Appeal period ended without an appeal")
    WITHDRAW = "withdraw", _("Withdrawn by the nodal officer")


TRANSITIONS = {
    (S.DRAFT, Event.SUBMIT): S.WITH_AUTHORITY,
    (S.CHANGES_REQUESTED, Event.RESUBMIT): S.WITH_AUTHORITY,
    (S.WITH_AUTHORITY, Event.AUTHORITY_APPROVE): S.WITH_STATE,
    (S.WITH_AUTHORITY, Event.AUTHORITY_RETURN): S.CHANGES_REQUESTED,
    (S.WITH_AUTHORITY, Event.AUTHORITY_REJECT): S.REJECTED,
    (S.WITH_STATE, Event.STATE_APPROVE): S.APPROVED,
    (S.WITH_STATE, Event.STATE_RETURN): S.CHANGES_REQUESTED,
    (S.WITH_STATE, Event.STATE_REJECT): S.REJECTED,
    (S.REJECTED, Event.APPEAL): S.UNDER_APPEAL,
    (S.UNDER_APPEAL, Event.APPEAL_OVERTURN): S.APPROVED,
    (S.UNDER_APPEAL, Event.APPEAL_UPHOLD): S.REJECTED_FINAL,
    (S.REJECTED, Event.APPEAL_LAPSED): S.REJECTED_FINAL,
}
WITHDRAWABLE = (S.DRAFT, S.WITH_AUTHORITY, S.CHANGES_REQUESTED, S.WITH_STATE)
for _status in WITHDRAWABLE:
    TRANSITIONS[(_status, Event.WITHDRAW)] = S.WITHDRAWN


class InvalidTransition(Exception):
    def __init__(self, status, event):
        self.status, self.event = status, event
        super().__init__(f"{event} is not allowed from {status}")


# Which decision on which stage's step is which event. A decision that is not
# here (an authority "overturning", a superadmin "approving" an appeal) raises.
STEP_EVENTS = {
    (Stage.AUTHORITY, D.APPROVE): Event.AUTHORITY_APPROVE,
    (Stage.AUTHORITY, D.RETURN): Event.AUTHORITY_RETURN,
    (Stage.AUTHORITY, D.REJECT): Event.AUTHORITY_REJECT,
    (Stage.STATE, D.APPROVE): Event.STATE_APPROVE,
    (Stage.STATE, D.RETURN): Event.STATE_RETURN,
    (Stage.STATE, D.REJECT): Event.STATE_REJECT,
    (Stage.APPEAL, D.OVERTURN): Event.APPEAL_OVERTURN,
    (Stage.APPEAL, D.UPHOLD): Event.APPEAL_UPHOLD,
}
# Decisions that must say why.
REMARKS_REQUIRED = {D.RETURN, D.REJECT, D.UPHOLD}


def decisions_for(stage, *, may_return=True):
    """The decisions a step of ``stage`` offers; without a return for correction when
    ``may_return`` is False (``returns_left``)."""
    return [decision for (s, decision) in STEP_EVENTS if s == stage and (may_return or decision != D.RETURN)]


def returns_left(returns_made, returns_max):
    """How many more times an application returned for correction ``returns_made`` times
    (by its competent authority and the state administrators together) may be returned:
    ``returns_max`` in all (the approval timings' ``returns_max``, which superadmins set), so
    that it is not handed back and forth without end. With none left it is approved or
    rejected; its officer may appeal a rejection."""
    return max(returns_max - returns_made, 0)


def step_event(stage, decision, status):
    """The event a decision on a step of ``stage`` causes; raises InvalidTransition
    when that decision does not exist for the stage or the application is not
    waiting on that stage."""
    try:
        event = STEP_EVENTS[(stage, decision)]
    except KeyError:
        raise InvalidTransition(status, f"{stage}:{decision}") from None
    next_status(status, event)
    return event


def allowed(status, event):
    return (status, event) in TRANSITIONS


def next_status(status, event):
    try:
        return TRANSITIONS[(status, event)]
    except KeyError:
        raise InvalidTransition(status, event) from None


def advance(application, event):
    """Set the application's new status for ``event`` (the caller saves it, holding the row lock)."""
    old = application.status
    application.status = next_status(old, event)
    return old, application.status
