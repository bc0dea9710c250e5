"""The mails to the deciders (state administrators, superadmins) of the steps a beat job
or a change of roles tells them of: one mail to each decider listing the steps told to
them in that run, not one per step (a state's queue of 2,000 coming due, or handed on
when its last administrator leaves, would be 2,000 mails to every one of them, in which
the one that matters is lost). One step is its own mail, as when it opened; several are a
list, at most DECISIONS_LISTED of a kind and the rest counted, with the link to the list
that holds them. Written in English and the decider's language (recipient_languages);
those told of the same steps in the same languages share one message.

Depends on no service: the callers (deadlines) write the messages to the outbox in their
transaction. Two queries (the deciders' accounts and their languages), whatever the
number of steps; a third when a state step handed on was sent after a correction (the
reply to the remarks its mail quotes).
"""

from collections.abc import Iterable
from datetime import datetime

from django.core.mail import EmailMultiAlternatives

from onboarding import notifications
from onboarding.approval.selectors import known_languages_of, replies_to_remarks
from onboarding.models import ApprovalStep, Stage

# Steps one mail to a decider lists of each kind (overdue, due soon; handed to them), most
# urgent first: the rest are counted, with the link to the list that holds them.
DECISIONS_LISTED = 50

# The mail that tells those who may decide a step that it waits on them, by its stage.
ASSIGNED_TEMPLATES = {Stage.STATE: "state_assigned", Stage.APPEAL: "appeal_assigned"}

Told = list[tuple[ApprovalStep, list[str]]]  # each step with the addresses told of it


def deadline_mails(*, soon: Told, overdue: Told, now: datetime) -> list[EmailMultiAlternatives]:
    """One mail to each decider of the steps the deadline sweep told them of: due ``soon``
    (reminded) and ``overdue`` (escalated to them), each most urgent first. One step is its
    own mail (step_reminder, step_escalated), several a list (decisions_due)."""
    messages = []
    for (due, late), languages, emails in _per_decider(soon, overdue):
        if len(due) + len(late) == 1:
            [step] = due or late
            template, context = ("step_reminder" if due else "step_escalated"), {
                "application": step.application, "step": step, "now": now}
        else:
            template, context = "decisions_due", {
                "soon_count": len(due), "overdue_count": len(late),
                "sections": [{"overdue": True, **_listed(late)}, {"overdue": False, **_listed(due)}]}
        messages.append(notifications.build_bilingual(to=emails, template=template, context=context,
                                                      languages=languages))
    return messages


def assigned_mails(found: Told) -> list[EmailMultiAlternatives]:
    """One mail to each decider of the open steps now told to them as if they opened (their
    administrators' roles ended, or one was appointed where nobody could decide them), most
    urgent first. One step is the mail its opening sends (ASSIGNED_TEMPLATES), several a list
    (steps_assigned)."""
    messages = []
    # A state step sent after a correction: its mail quotes the remarks and the reply, as when it opened.
    replies = replies_to_remarks(step for step, _to in found if step.stage == Stage.STATE)
    for (steps,), languages, emails in _per_decider(found):
        if len(steps) == 1:
            [step] = steps
            template, context = ASSIGNED_TEMPLATES[step.stage], {"application": step.application, "step": step,
                                                                 **replies.get(step.pk, {})}
        else:
            template, context = "steps_assigned", {"count": len(steps), "listed": _listed(steps)}
        messages.append(notifications.build_bilingual(to=emails, template=template, context=context,
                                                      languages=languages))
    return messages


def tell_deciders(*, to: Iterable[str], template: str, context: dict) -> None:
    """Send ``template`` about ``context["application"]`` to the deciders ``to`` (state
    administrators, superadmins) when a step opens for them or stops waiting on them, each
    in English and their own language (recipient_languages), not the application's: one
    message to those written to in the same languages. Two queries (the deciders' accounts
    and their languages); none when nobody is told."""
    emails = list(dict.fromkeys(to))
    if not emails:
        return
    known = known_languages_of(emails)
    shared: dict[tuple[str, str], list[str]] = {}
    for email in emails:
        languages = notifications.recipient_languages(known.get(email), [context["application"]])
        shared.setdefault(languages, []).append(email)
    for languages, told in shared.items():
        notifications.send_bilingual(to=told, template=template, context=context, languages=languages)


def _per_decider(*kinds: Told) -> Iterable[tuple[tuple[tuple[ApprovalStep, ...], ...], tuple[str, str], list[str]]]:
    """For each group of deciders told of the same steps of each of ``kinds`` (each most
    urgent first) and written to in the same languages: (the steps of each kind, the
    languages, their addresses sorted). No query when nobody is told."""
    told: dict[str, tuple[list[ApprovalStep], ...]] = {}
    for kind, steps in enumerate(kinds):
        for step, recipients in sorted(steps, key=lambda item: (item[0].due_at, item[0].pk)):
            for email in recipients:
                told.setdefault(email, tuple([] for _kind in kinds))[kind].append(step)
    if not told:
        return []
    known = known_languages_of(told)
    shared: dict[tuple, list[str]] = {}
    for email, lists in told.items():
        languages = notifications.recipient_languages(known.get(email), [step.application for steps in lists
                                                                         for step in steps])
        shared.setdefault((tuple(tuple(steps) for steps in lists), languages), []).append(email)
    return [(lists, languages, sorted(emails)) for (lists, languages), emails in shared.items()]


def _listed(steps: tuple[ApprovalStep, ...]) -> dict:
    """The steps a decider's list shows of one kind, and how many more of them are in the
    approval queue and in the appeals."""
    unlisted = steps[DECISIONS_LISTED:]
    appeals = sum(step.stage == Stage.APPEAL for step in unlisted)
    return {"steps": steps[:DECISIONS_LISTED], "more_appeals": appeals, "more_in_queue": len(unlisted) - appeals}
