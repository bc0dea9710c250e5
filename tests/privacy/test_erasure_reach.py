"""What an erasure reaches beyond the person's own records: a record of someone else's it
would change is kept from it by a legal hold as the person's own are, and the organisation
events that list the person's address among others are redacted with the rest; and the
text of a request, a decision or a hold made only of characters drawn as nothing is no text."""

import json

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from portal.accounts.models import User
from portal.audit.models import AuditAction, AuditEvent
from portal.audit.services import audit_record, audit_verify
from portal.organisations.models import SuspensionReason
from portal.organisations.services import organisation_admin_grant, organisation_move, organisation_suspend
from portal.privacy.models import LegalHold, PrivacyRequest
from portal.privacy.requests import privacy_request_decide, privacy_request_make
from portal.privacy.retention import legal_hold_set
from tests.factories import ApplicationFactory, ApprovalStepFactory, OrganisationFactory, UserFactory
from tests.html_tree import field_error, parse
from tests.onboarding.approval_helpers import make_state_admin, make_superadmin, signed_in
from tests.portal.role_helpers import make_admin
from tests.portal.role_helpers import roles_world as roles_world_fixture
from tests.verification.helpers import GovernmentProfileFactory
from verification.models import VerificationStatus

pytestmark = pytest.mark.django_db
INVISIBLE = "\u200b\u200b"
REQUIRED = "This field is required."


def test_request_details_of_only_invisible_characters_are_refused_at_the_field():
    asha = UserFactory(email="asha@mha.gov.in")
    response = signed_in(asha).post("/privacy/my-data/", {"action": "request", "kind": "correction",
                                                          "details": INVISIBLE})
    assert response.status_code == 200 and not PrivacyRequest.objects.exists()
    assert field_error(parse(response.content.decode()), "details") == REQUIRED


def test_a_decision_reason_of_only_invisible_characters_is_refused_at_the_field():
    asha = UserFactory(email="asha@mha.gov.in")
    root = make_superadmin(email="root@sandes.nic.in")
    made = privacy_request_make(user=asha, kind="correction", details="My designation is wrong.")
    response = signed_in(root).post(f"/portal/privacy/requests/{made.pk}/", {"decision": "refuse", "reason": INVISIBLE})
    made.refresh_from_db()
    assert response.status_code == 200 and made.status == "open"
    assert field_error(parse(response.content.decode()), "reason") == REQUIRED


def test_a_hold_set_or_released_for_a_reason_of_only_invisible_characters_is_refused():
    root = make_superadmin(email="root@sandes.nic.in")
    application = ApplicationFactory()
    client = signed_in(root)
    response = client.post("/portal/privacy/holds/", {
        "target_type": "onboarding.application", "target_id": str(application.pk), "reason": INVISIBLE})
    assert response.status_code == 200 and not LegalHold.objects.exists()
    assert field_error(parse(response.content.decode()), "reason") == REQUIRED
    hold = legal_hold_set(target_type="onboarding.application", target_id=application.pk, reason="Court case",
                          actor=root)
    response = client.post(f"/portal/privacy/holds/{hold.pk}/release/", {"reason": INVISIBLE})
    hold.refresh_from_db()
    assert response.status_code == 200 and hold.released_at is None
    assert field_error(parse(response.content.decode()), "reason") == REQUIRED


def _erasure_granted(user, root):
    made = privacy_request_make(user=user, kind="erasure", details="Erase my account.")
    privacy_request_decide(request_id=made.pk, grant=True, reason="Granted.", actor=root)


def test_a_hold_on_an_application_the_person_decided_on_stops_their_erasure():
    """A state admin rejected a step of another officer's application, which is then held (a
    writ petition against the rejection): the erasure would take the admin's address, client
    address and browser off the step and redact the event of the decision. It is refused."""
    root = make_superadmin(email="root@sandes.nic.in")
    admin = make_state_admin(email="admin.mh@state.gov.in", totp=False)
    application = ApplicationFactory(nodal_officer=UserFactory(email="officer@mha.gov.in"))
    step = ApprovalStepFactory(application=application, stage="state", decision="reject", decided_at=timezone.now(),
                               decided_by=admin, decided_by_email=admin.email, ip="10.1.2.3", user_agent="Firefox")
    event = audit_record(actor=admin, action=AuditAction.STEP_DECIDED, target=application, ip="10.1.2.3",
                         new={"decision": "reject"})
    legal_hold_set(target_type="onboarding.application", target_id=application.pk,
                   reason="Writ petition 123/2026 against the rejection", actor=root)
    with pytest.raises(ValidationError, match="is under a legal hold"):
        _erasure_granted(admin, root)
    step.refresh_from_db()
    event.refresh_from_db()
    assert (step.decided_by_email, step.ip, step.user_agent) == (admin.email, "10.1.2.3", "Firefox")
    assert event.redacted_at is None and User.objects.get(pk=admin.pk).email == "admin.mh@state.gov.in"


def test_a_hold_on_a_verification_record_the_person_decided_stops_their_erasure():
    root = make_superadmin(email="root@sandes.nic.in")
    office = OrganisationFactory()
    admin = make_admin(office, email="admin@pune.mahaagri.gov.in")
    decided = GovernmentProfileFactory(organisation=office, status=VerificationStatus.REJECTED, decided_by=admin,
                                       decided_by_email=admin.email, decided_at=timezone.now())
    legal_hold_set(target_type="verification.governmentprofile", target_id=decided.pk, reason="Inquiry 9/2026",
                   actor=root)
    with pytest.raises(ValidationError, match="is under a legal hold"):
        _erasure_granted(admin, root)
    decided.refresh_from_db()
    assert decided.decided_by_email == admin.email


def test_a_hold_on_an_application_handed_over_from_the_person_stops_their_erasure():
    """Ravi's draft, handed over from Asha, still holds her answers in its Nodal officer
    section; the application is held: her erasure would empty that section. It is refused."""
    from onboarding.approval.handover import application_officer_change

    root = make_superadmin(email="root@sandes.nic.in")
    asha = UserFactory(email="asha@mha.gov.in")
    ravi = UserFactory(email="ravi@mha.gov.in")
    application = ApplicationFactory(nodal_officer=asha, status="draft", reference=None)
    application.data = {**application.data, "nodal_officer": {**application.data["nodal_officer"],
                                                              "official_email": asha.email}}
    application.save(update_fields=["data"])
    application_officer_change(application_id=application.pk, new_officer=ravi, actor=root)
    application.refresh_from_db()
    assert application.nodal_officer_id == ravi.pk
    before = dict(application.data["nodal_officer"])
    legal_hold_set(target_type="onboarding.application", target_id=application.pk, reason="Inquiry 7/2026", actor=root)
    with pytest.raises(ValidationError, match="is under a legal hold"):
        _erasure_granted(asha, root)
    application.refresh_from_db()
    assert application.data["nodal_officer"] == before


def test_an_erasure_redacts_its_organisations_events_that_list_the_person_among_the_admins_told():
    root = make_superadmin(email="root@sandes.nic.in")
    office = OrganisationFactory(name="District Agriculture Office, Pune", short_code="DAO-PUNE", state="MH")
    asha = make_admin(office, email="asha.admin@pune.mahaagri.gov.in", full_name="Asha Kulkarni")
    make_admin(office, email="second.admin@pune.mahaagri.gov.in")
    organisation_suspend(organisation_id=office.pk, reason_code=SuspensionReason.UNDER_REVIEW,
                         reason="Under review.", actor=User.objects.get(pk=root.pk))
    event = AuditEvent.objects.get(action=AuditAction.ORGANISATION_SUSPENDED)
    assert "asha.admin@pune.mahaagri.gov.in" in event.new_values["told"]
    _erasure_granted(asha, root)
    event.refresh_from_db()
    assert event.redacted_at is not None and "asha.admin" not in json.dumps(event.new_values)
    assert audit_verify() == []
    page = signed_in(root).get(f"/portal/organisations/{office.pk}/")
    assert page.status_code == 200 and b"asha.admin@pune.mahaagri.gov.in" not in page.content


roles_world = roles_world_fixture


def test_an_erasure_redacts_the_move_that_ended_the_persons_admin_role(roles_world):
    """A move lists the admins whose role it ended, by address: a personal value of the
    event (so its redaction keeps the chain whole), found and redacted by their erasure."""
    world = roles_world
    office, parent, member = world["office"], world["parent"], world["member"]
    ka_parent = OrganisationFactory(name="Agriculture Department, Karnataka", short_code="AGRI-KA", state="KA")
    make_admin(ka_parent, email="admin@raitamitra.karnataka.gov.in")
    root = User.objects.get(pk=world["superadmin"].pk)
    organisation_admin_grant(organisation_id=parent.pk, user_id=member.pk, actor=root)
    organisation_move(organisation_id=office.pk, state="KA", parent_id=ka_parent.pk,
                      reason="Merged into the Karnataka department by order 12/2026.", actor=root)
    moved = AuditEvent.objects.get(action=AuditAction.ORGANISATION_MOVED)
    address = member.email
    assert address in json.dumps(moved.new_values) and "admin_roles_ended" in moved.personal_keys
    _erasure_granted(User.objects.get(pk=member.pk), root)
    moved.refresh_from_db()
    assert moved.redacted_at is not None and address not in json.dumps(moved.new_values)
    assert audit_verify() == []


def test_the_records_of_others_the_hold_check_reads_are_only_those_held():
    """An administrator may have decided thousands of verifications and steps: the hold
    check of their erasure names those of others only when a hold names them, not every one
    (each would be a condition of the hold's query)."""
    from portal.privacy.requests import person_hold_targets

    root = make_superadmin(email="root@sandes.nic.in")
    office = OrganisationFactory()
    admin = make_admin(office, email="admin@pune.mahaagri.gov.in")
    decided = [GovernmentProfileFactory(organisation=office, status=VerificationStatus.VERIFIED, decided_by=admin,
                                        decided_at=timezone.now()) for _ in range(3)]
    steps = [ApprovalStepFactory(decided_by=admin, decision="approve", decided_at=timezone.now()) for _ in range(3)]
    own = {("verification.governmentprofile", pk) for pk in admin.government_profiles.values_list("pk", flat=True)}
    assert set(person_hold_targets(admin.pk)) == own
    legal_hold_set(target_type="verification.governmentprofile", target_id=decided[1].pk, reason="Inquiry", actor=root)
    legal_hold_set(target_type="onboarding.application", target_id=steps[2].application_id, reason="Writ", actor=root)
    assert set(person_hold_targets(admin.pk)) == own | {("verification.governmentprofile", decided[1].pk),
                                                        ("onboarding.application", steps[2].application_id)}


@pytest.mark.parametrize("told", ["admin above", "superadmin"])
def test_an_erasure_redacts_the_events_of_an_office_below_that_list_the_person_among_those_told(told):
    """An office with no admin of its own is suspended: the admins of the department above
    it (or, with none, every superadmin) are told, and listed on the office's event, which
    its admins and the superadmins read. The erasure read only the events of the
    organisations the person was a member of, leaving their address on the office's."""
    from portal.privacy.requests import person_erase

    root = make_superadmin(email="root@sandes.nic.in")
    department = OrganisationFactory(name="Agriculture Department, Maharashtra", short_code="AGRI-MH", state="MH")
    if told == "admin above":
        person = make_admin(department, email="asha.admin@mahaagri.gov.in")
        make_admin(department, email="second.admin@mahaagri.gov.in")
    else:
        person = make_superadmin(email="asha.admin@sandes.nic.in")
    office = OrganisationFactory(name="District Agriculture Office, Pune", short_code="DAO-PUNE", state="MH",
                                 parent=department if told == "admin above" else None)
    organisation_suspend(organisation_id=office.pk, reason_code=SuspensionReason.UNDER_REVIEW, reason="Under review.",
                         actor=User.objects.get(pk=root.pk))
    event = AuditEvent.objects.get(action=AuditAction.ORGANISATION_SUSPENDED)
    assert event.target_id == str(office.pk) and person.email in event.new_values["told"]
    person_erase(user_id=person.pk, actor=root)
    event.refresh_from_db()
    assert person.email not in json.dumps(event.new_values)
    assert audit_verify() == []
