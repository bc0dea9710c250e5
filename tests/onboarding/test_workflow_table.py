"""The application lifecycle's transition table itself, without a database: every
status is reachable from a draft, every path ends in a final status, final
statuses lead nowhere, and every (status, event) pair not in the table raises."""

from types import SimpleNamespace

import pytest

from onboarding import workflow
from onboarding.models import ApplicationStatus as S
from onboarding.models import Decision as D
from onboarding.models import Stage
from onboarding.workflow import Event

FINAL = {S.APPROVED, S.REJECTED_FINAL, S.WITHDRAWN}


def reachable_from(start):
    seen, frontier = {start}, [start]
    while frontier:
        status = frontier.pop()
        for (source, _event), target in workflow.TRANSITIONS.items():
            if source == status and target not in seen:
                seen.add(target)
                frontier.append(target)
    return seen


def test_every_status_is_reachable_from_a_draft():
    assert reachable_from(S.DRAFT) == set(S)


def test_final_statuses_lead_nowhere_and_every_other_leads_somewhere():
    sources = {source for source, _event in workflow.TRANSITIONS}
    assert sources.isdisjoint(FINAL)
    assert sources == set(S) - FINAL


def test_a_final_status_is_reachable_from_every_status():
    for status in S:
        assert reachable_from(status) & FINAL, status


@pytest.mark.parametrize("status", list(S))
@pytest.mark.parametrize("event", list(Event))
def test_every_pair_is_allowed_exactly_when_it_is_in_the_table(status, event):
    application = SimpleNamespace(status=status)
    if (status, event) in workflow.TRANSITIONS:
        assert workflow.allowed(status, event)
        assert workflow.advance(application, event) == (status, workflow.TRANSITIONS[(status, event)])
    else:
        assert not workflow.allowed(status, event)
        with pytest.raises(workflow.InvalidTransition):
            workflow.advance(application, event)
        assert application.status == status  # unchanged


def test_withdrawal_only_before_a_decision_is_final():
    withdrawable = {source for (source, event) in workflow.TRANSITIONS if event == Event.WITHDRAW}
    assert withdrawable == {S.DRAFT, S.WITH_AUTHORITY, S.CHANGES_REQUESTED, S.WITH_STATE}


@pytest.mark.parametrize("stage", list(Stage))
@pytest.mark.parametrize("decision", [d for d in D if d != D.CANCELLED])
def test_each_decision_is_an_event_of_its_stage_only(stage, decision):
    waiting = {Stage.AUTHORITY: S.WITH_AUTHORITY, Stage.STATE: S.WITH_STATE, Stage.APPEAL: S.UNDER_APPEAL}[stage]
    if (stage, decision) in workflow.STEP_EVENTS:
        assert decision in workflow.decisions_for(stage)
        event = workflow.step_event(stage, decision, waiting)
        assert workflow.allowed(waiting, event)
        # The same decision while the application waits on another stage is refused.
        for other in set(Stage) - {stage}:
            other_waiting = {Stage.AUTHORITY: S.WITH_AUTHORITY, Stage.STATE: S.WITH_STATE,
                             Stage.APPEAL: S.UNDER_APPEAL}[other]
            with pytest.raises(workflow.InvalidTransition):
                workflow.step_event(stage, decision, other_waiting)
    else:
        assert decision not in workflow.decisions_for(stage)
        with pytest.raises(workflow.InvalidTransition):
            workflow.step_event(stage, decision, waiting)


def test_decisions_that_must_say_why():
    assert workflow.REMARKS_REQUIRED == {D.RETURN, D.REJECT, D.UPHOLD}
