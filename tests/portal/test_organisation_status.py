"""Suspending and reactivating an organisation, by service: who may (portal.permissions,
asked again under the organisation's lock), which changes are refused and why, the
reason and the note, the audit rows, and the mail to its admins (or, with none, to whoever
acts for it), one each, in their language. And through its pages: its status page with
its history, the confirmation pages (what a suspension does, who is told, the reason and
the note refused at their fields with what was typed kept), who reaches them (404 without
jurisdiction over it), the links to them, and their exact query counts."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from portal import permissions
from portal.accounts.models import User
from portal.audit.models import AuditAction, AuditEvent
from portal.audit.services import audit_verify
from portal.mail.models import OutboxMessage
from portal.organisations.models import (
    Membership,
    Organisation,
    OrganisationDomain,
    OrganisationStatus,
    PlatformRoleGrant,
    ReactivationReason,
    SuspensionReason,
)
from portal.organisations.services import (
    OrganisationNotActive,
    OrganisationStatusUnchanged,
    organisation_activate,
    organisation_admin_grant,
    organisation_move,
    organisation_reactivate,
    organisation_suspend,
)
from portal.organisations.status_selectors import move_effect, move_shown, status_change_told
from portal.shown import ChangedMeanwhile, shown_digest
from tests.factories import OrganisationFactory, UserFactory
from tests.html_tree import field_error, field_value, html_problems, parse, printed_controls, printed_text
from tests.onboarding.approval_helpers import make_superadmin, messages_to
from tests.portal.role_helpers import client_of, make_admin, make_member
from tests.verification.helpers import GovernmentProfileFactory
from verification.models import GovernmentProfile, VerificationStatus

pytestmark = pytest.mark.django_db

NOTE = "Letters went out under the department's name from an address it does not use.\nपुनरावलोकन सुरू आहे."
ACTORS = ["superadmin", "state_admin_mh", "state_admin_ka", "auditor", "admin_office", "admin_parent", "admin_other",
          "member", "public"]


@pytest.fixture
def world(roles_world):
    return roles_world


def fresh(user):
    """The user as their next request sees them (no roles cached on the object)."""
    return User.objects.get(pk=user.pk)


def suspend(world, where="office", who="superadmin", reason_code=SuspensionReason.UNDER_REVIEW, reason=NOTE):
    return organisation_suspend(organisation_id=world[where].pk, reason_code=reason_code, reason=reason,
                                actor=fresh(world[who]))


def reactivate(world, where="office", who="superadmin", reason_code=ReactivationReason.REVIEW_COMPLETED,
               reason="Checked with the department: the address is theirs."):
    return organisation_reactivate(organisation_id=world[where].pk, reason_code=reason_code, reason=reason,
                                   actor=fresh(world[who]))


def status_of(organisation):
    return Organisation.objects.get(pk=organisation.pk).status


def events(*actions):
    return list(AuditEvent.objects.filter(action__in=actions).order_by("id"))


def speaks(user, language):
    """The person last asked to be verified in ``language``: the core's mail tells them in it."""
    GovernmentProfileFactory(user=user, organisation=OrganisationFactory(state="MH"), request_language=language,
                             status=VerificationStatus.VERIFIED)


# Suspending and reactivating --------------------------------------------------------------------

def test_a_superadmin_suspends_an_organisation_and_reactivates_it(world):
    office = world["office"]
    suspended = suspend(world, reason_code=SuspensionReason.MISUSE)
    assert suspended.status == status_of(office) == OrganisationStatus.SUSPENDED
    [event] = events(AuditAction.ORGANISATION_SUSPENDED)
    assert (event.actor_id, event.target_type, event.target_id) == (world["superadmin"].pk, "organisations.organisation",
                                                                    str(office.pk))
    assert event.old_values == {"status": "active"}
    assert event.new_values == {"status": "suspended", "reason_code": "misuse", "reason": NOTE,
                                "told": ["admin@pune.mahaagri.gov.in"]}
    assert {"reason", "told"} <= set(event.personal_keys)  # the note and the addresses are erasable
    # Its admins act for nothing now, neither for it nor below it; the admins above it still do.
    assert not permissions.may_administer(fresh(world["admin_office"]), office)
    assert permissions.may_administer(fresh(world["admin_parent"]), office)

    reactivated = reactivate(world)
    assert reactivated.status == status_of(office) == OrganisationStatus.ACTIVE
    [event] = events(AuditAction.ORGANISATION_REACTIVATED)
    assert event.old_values == {"status": "suspended"}
    assert event.new_values == {"status": "active", "reason_code": "review_completed",
                                "reason": "Checked with the department: the address is theirs.",
                                "told": ["admin@pune.mahaagri.gov.in"]}
    assert permissions.may_administer(fresh(world["admin_office"]), office)
    assert Organisation.objects.get(pk=office.pk).activated_at == office.activated_at  # onboarded when it was
    assert audit_verify() == []


def test_suspending_an_organisation_leaves_the_offices_below_it_active_and_its_admins_acting_for_none(world):
    parent, office = world["parent"], world["office"]
    suspend(world, where="parent")
    assert status_of(office) == OrganisationStatus.ACTIVE
    admin = fresh(world["admin_parent"])
    assert not permissions.may_administer(admin, office) and not permissions.may_administer(admin, parent)
    assert permissions.may_administer(fresh(world["admin_office"]), office)
    reactivate(world, where="parent")
    assert permissions.may_administer(fresh(world["admin_parent"]), office)


# Who may ------------------------------------------------------------------------------------------

MAY = {"superadmin": ("office", "other"), "state_admin_mh": ("office",), "state_admin_ka": ("other",)}


@pytest.mark.parametrize("who", ACTORS)
@pytest.mark.parametrize("where", ["office", "other"])
def test_who_may_suspend_and_reactivate_which_organisation(world, who, where):
    """The service asks portal.permissions again: a superadmin any organisation, a state
    administrator those of their state; the organisation's own admins, those above it, an
    auditor, a member, anyone else none. A refusal changes nothing and tells nobody."""
    organisation = world[where]
    if where in MAY.get(who, ()):
        suspend(world, where=where, who=who)
        assert status_of(organisation) == OrganisationStatus.SUSPENDED
        reactivate(world, where=where, who=who)
        assert status_of(organisation) == OrganisationStatus.ACTIVE
        assert len(events(AuditAction.ORGANISATION_SUSPENDED, AuditAction.ORGANISATION_REACTIVATED)) == 2
        return
    with pytest.raises(PermissionDenied):
        suspend(world, where=where, who=who)
    assert status_of(organisation) == OrganisationStatus.ACTIVE
    Organisation.objects.filter(pk=organisation.pk).update(status=OrganisationStatus.SUSPENDED)
    with pytest.raises(PermissionDenied):
        reactivate(world, where=where, who=who)
    assert status_of(organisation) == OrganisationStatus.SUSPENDED
    assert not AuditEvent.objects.exists() and not OutboxMessage.objects.exists()


def test_a_state_administrator_who_lost_the_role_suspends_nothing(world):
    """Asked again inside the service: a role revoked since the page was opened counts for nothing."""
    admin = fresh(world["state_admin_mh"])
    assert permissions.may_change_organisation_status(admin, world["office"])  # read once, as a page would
    admin.platform_roles.update(revoked_at=timezone.now())
    with pytest.raises(PermissionDenied):
        organisation_suspend(organisation_id=world["office"].pk, reason_code=SuspensionReason.MISUSE, reason=NOTE,
                             actor=admin)
    assert status_of(world["office"]) == OrganisationStatus.ACTIVE


# What is refused ------------------------------------------------------------------------------------

def test_only_an_active_organisation_is_suspended_and_only_a_suspended_one_reactivated(world):
    """A change that is not active -> suspended or suspended -> active is refused, saying
    why: sent twice (a second tab, another administrator first), or of an organisation
    whose application is still being decided. Nothing is written."""
    with pytest.raises(OrganisationStatusUnchanged, match="District Agriculture Office, Pune is already active"):
        reactivate(world)
    suspend(world)
    before = AuditEvent.objects.count(), OutboxMessage.objects.count()
    with pytest.raises(OrganisationStatusUnchanged, match="District Agriculture Office, Pune is already suspended"):
        suspend(world)
    assert (AuditEvent.objects.count(), OutboxMessage.objects.count()) == before
    Organisation.objects.filter(pk=world["other"].pk).update(status=OrganisationStatus.PENDING)
    for change in (suspend, reactivate):
        with pytest.raises(OrganisationStatusUnchanged, match="is not active yet: its application is still being"):
            change(world, where="other")
    assert status_of(world["other"]) == OrganisationStatus.PENDING
    assert (AuditEvent.objects.count(), OutboxMessage.objects.count()) == before


@pytest.mark.parametrize(("reason_code", "reason", "field"), [
    ("", NOTE, "reason_code"),
    ("nonsense", NOTE, "reason_code"),
    (ReactivationReason.REVIEW_COMPLETED, NOTE, "reason_code"),  # a reason to reactivate, not to suspend
    (SuspensionReason.OTHER, "", "reason"),
    (SuspensionReason.OTHER, " \n\u200b ", "reason"),  # nothing to read
    (SuspensionReason.OTHER, "x" * 1001, "reason"),
])
def test_a_suspension_needs_one_of_its_reasons_and_a_note_of_at_most_1000_characters(world, reason_code, reason, field):
    with pytest.raises(ValidationError) as refused:
        suspend(world, reason_code=reason_code, reason=reason)
    assert list(refused.value.error_dict) == [field]
    assert status_of(world["office"]) == OrganisationStatus.ACTIVE and not AuditEvent.objects.exists()


def test_a_reactivation_needs_one_of_its_own_reasons_and_a_note(world):
    suspend(world)
    with pytest.raises(ValidationError) as refused:
        reactivate(world, reason_code=SuspensionReason.MISUSE)
    assert list(refused.value.error_dict) == ["reason_code"]
    with pytest.raises(ValidationError) as refused:
        reactivate(world, reason="")
    assert list(refused.value.error_dict) == ["reason"]
    reactivate(world, reason_code=ReactivationReason.SUSPENDED_IN_ERROR, reason="y" * 1000)
    assert status_of(world["office"]) == OrganisationStatus.ACTIVE


def test_the_note_is_kept_as_typed_its_lines_included_without_control_characters(world):
    suspend(world, reason="  First line.\r\nSecond\tline.\x07  ")
    [event] = events(AuditAction.ORGANISATION_SUSPENDED)
    assert event.new_values["reason"] == "First line.\nSecond line."


# Who is told -----------------------------------------------------------------------------------------

def test_its_admins_are_told_one_mail_each_in_their_language(world):
    """Each admin of the organisation whose role counts, in the language the portal knows
    them by; not an admin whose role has ended, nor one whose account is deactivated; not
    the organisation's verified members (there may be a hundred thousand)."""
    office = world["office"]
    speaks(world["admin_office"], "hi")
    second = make_admin(office, email="second.admin@pune.mahaagri.gov.in")
    speaks(second, "mr")
    ended = make_admin(office, email="ended.admin@pune.mahaagri.gov.in")
    Membership.objects.filter(user=ended).update(ends_at=timezone.now() - timedelta(days=1))
    inactive = make_admin(office, email="inactive.admin@pune.mahaagri.gov.in", is_active=False)
    suspend(world, reason_code=SuspensionReason.MERGED)
    assert sorted(address for message in OutboxMessage.objects.all() for address in message.to) == [
        "admin@pune.mahaagri.gov.in", "second.admin@pune.mahaagri.gov.in"]
    [hindi] = messages_to("admin@pune.mahaagri.gov.in")
    [marathi] = messages_to("second.admin@pune.mahaagri.gov.in")
    with translation.override("hi"):
        assert str(SuspensionReason.MERGED.label) in hindi.body
    with translation.override("mr"):
        assert str(SuspensionReason.MERGED.label) in marathi.body
    for message in (hindi, marathi):
        assert "District Agriculture Office, Pune" in message.subject
        assert NOTE in message.body and "root@sandes.nic.in" in message.body
    assert not messages_to(ended.email) and not messages_to(inactive.email)
    assert not messages_to(world["member"].email)
    [event] = events(AuditAction.ORGANISATION_SUSPENDED)
    assert event.new_values["told"] == ["admin@pune.mahaagri.gov.in", "second.admin@pune.mahaagri.gov.in"]


def test_an_organisation_without_admins_of_its_own_is_told_to_the_admins_above_it(world):
    Membership.objects.filter(user=world["admin_office"]).delete()
    suspend(world)
    [message] = OutboxMessage.objects.all()
    assert message.to == ["admin@mahaagri.gov.in"]  # the department's admin, who acts for it
    assert "Agriculture Department, Maharashtra" in message.body
    reactivate(world)
    assert [m.to for m in OutboxMessage.objects.order_by("id")] == [["admin@mahaagri.gov.in"]] * 2


def test_a_top_organisation_without_admins_is_told_to_the_other_superadmins(world):
    """With no admin of its own and none above it, the superadmins act for it: each is told,
    but the one who suspended it, whom the page told."""
    other = world["other"]
    Membership.objects.filter(organisation=other).delete()
    second = make_superadmin(email="second.root@nic.in")
    suspend(world, where="other")
    assert sorted(m.to[0] for m in OutboxMessage.objects.all()) == [second.email]
    [event] = events(AuditAction.ORGANISATION_SUSPENDED)
    assert event.new_values["told"] == [second.email]


def department_admin_resting_on_the_office(world):
    """The department's one admin: a verified member of the office below it, granted the
    department's admin role as such (organisation_admin_grant), its first admin gone."""
    member = world["member"]
    GovernmentProfileFactory(user=member, organisation=world["office"], status=VerificationStatus.VERIFIED)
    organisation_admin_grant(organisation_id=world["parent"].pk, user_id=member.pk, actor=fresh(world["superadmin"]),
                             reason="Heads the department's establishment section.")
    Membership.objects.filter(user=world["admin_parent"]).delete()
    OutboxMessage.objects.all().delete()
    return member


def test_suspending_the_office_a_departments_only_admin_rests_on_tells_who_acts_for_the_department(world):
    """The department's admin role resting on a verification in the office counts for
    nothing while the office is suspended: the department is left with nobody acting for
    it, and whoever acts for it now (no organisation above it: the superadmins) is told, in
    their language, besides the office's own admins."""
    member = department_admin_resting_on_the_office(world)
    assert permissions.may_administer(fresh(member), world["parent"])
    second = make_superadmin(email="second.root@nic.in")
    speaks(second, "hi")
    GovernmentProfile.objects.filter(user=member).update(request_language="mr")  # she asked in Marathi
    suspend(world, who="state_admin_mh")
    assert not permissions.may_administer(fresh(member), world["parent"])
    assert sorted(m.to[0] for m in OutboxMessage.objects.all()) == sorted(
        ["admin@pune.mahaagri.gov.in", "root@sandes.nic.in", second.email, member.email])
    # The admin whose role stops counting is told, in her language.
    [held] = messages_to(member.email)
    with translation.override("mr"):
        assert held.subject == str(_("Your admin role counts for nothing while %(office)s is suspended")
                                   % {"office": "District Agriculture Office, Pune"})
    [english] = messages_to("root@sandes.nic.in")
    assert english.subject == "Agriculture Department, Maharashtra has no admin acting for it"
    body = " ".join(english.body.split())
    assert ("District Agriculture Office, Pune, below Agriculture Department, Maharashtra, was suspended on the Sandes "
            "onboarding portal. The admin role of asha.kulkarni@pune.mahaagri.gov.in in Agriculture Department, "
            "Maharashtra rested on their verification there: it counts for nothing until the office is reactivated, "
            "and Agriculture Department, Maharashtra has no other admin who acts for it.") in body
    assert "as a superadmin, you act for it" in body
    assert f"/portal/roles/organisations/{world['parent'].pk}/" in body
    # Its audit row lists everyone mailed, the department's side too, and the department left.
    [event] = events(AuditAction.ORGANISATION_SUSPENDED)
    assert event.new_values["told"] == ["admin@pune.mahaagri.gov.in", "root@sandes.nic.in", second.email,
                                        member.email]
    assert event.new_values["left_without_admin"] == ["Agriculture Department, Maharashtra"]
    [hindi] = messages_to(second.email)
    with translation.override("hi"):
        assert hindi.subject == str(_("%(organisation)s has no admin acting for it")
                                    % {"organisation": "Agriculture Department, Maharashtra"})
    reactivate(world, who="state_admin_mh")
    assert permissions.may_administer(fresh(member), world["parent"])


def test_reactivating_the_office_tells_those_who_acted_for_the_department_that_its_admin_acts_again(world):
    """Those told that they act for the department while the office is suspended are told,
    in their language, once it is reactivated, that its admin acts for it again; the
    reactivation's audit row lists them. The reactivation page says so beforehand."""
    member = department_admin_resting_on_the_office(world)
    second = make_superadmin(email="second.root@nic.in")
    speaks(second, "mr")
    suspend(world, who="state_admin_mh")
    OutboxMessage.objects.all().delete()
    client = client_of(world, "state_admin_mh")
    tree = well_formed(client.get(f"/portal/organisations/{world['office'].pk}/reactivate/"))
    shown = text_of(tree.find(id="admin-acting-again"))
    assert ("Agriculture Department, Maharashtra, above it, will have an admin who acts for it again: the admin role of "
            "asha.kulkarni@pune.mahaagri.gov.in there rests on their verification in this organisation.") in shown
    assert "root@sandes.nic.in" in shown and second.email in shown
    reactivate(world, who="state_admin_mh")
    assert sorted(m.to[0] for m in OutboxMessage.objects.all()) == sorted(
        ["admin@pune.mahaagri.gov.in", "root@sandes.nic.in", second.email, member.email])
    [held] = messages_to(member.email)
    assert held.subject == "Your admin role counts again: District Agriculture Office, Pune is active again"
    assert ("Your admin role in Agriculture Department, Maharashtra, which rests on your verification there, counts "
            "again: you act for it again.") in " ".join(held.body.split())
    [english] = messages_to("root@sandes.nic.in")
    assert english.subject == "Agriculture Department, Maharashtra has an admin acting for it again"
    body = " ".join(english.body.split())
    assert ("District Agriculture Office, Pune, below Agriculture Department, Maharashtra, was reactivated on the "
            "Sandes onboarding portal. The admin role of asha.kulkarni@pune.mahaagri.gov.in in Agriculture "
            "Department, Maharashtra, which rested on their verification there, counts again: they act for it again."
            ) in body
    [marathi] = messages_to(second.email)
    with translation.override("mr"):
        assert marathi.subject == str(_("%(organisation)s has an admin acting for it again")
                                      % {"organisation": "Agriculture Department, Maharashtra"})
    [event] = events(AuditAction.ORGANISATION_REACTIVATED)
    assert event.new_values["told"] == ["admin@pune.mahaagri.gov.in", "root@sandes.nic.in", second.email,
                                        member.email]
    assert event.new_values["admin_acting_again"] == ["Agriculture Department, Maharashtra"]
    assert permissions.may_administer(fresh(member), world["parent"])


def test_the_superadmin_who_suspends_the_office_is_not_mailed_what_its_page_told_them(world):
    member = department_admin_resting_on_the_office(world)
    second = make_superadmin(email="second.root@nic.in")
    suspend(world)
    assert sorted(m.to[0] for m in OutboxMessage.objects.all()) == sorted(
        ["admin@pune.mahaagri.gov.in", second.email, member.email])


def test_suspending_the_office_tells_nobody_of_a_department_with_another_admin(world):
    """Nobody else acts for the department: only the admin whose role stops counting is told of it."""
    member = department_admin_resting_on_the_office(world)
    make_admin(world["parent"], email="second.admin@mahaagri.gov.in")
    suspend(world, who="state_admin_mh")
    assert [m.to for m in OutboxMessage.objects.order_by("id")] == [["admin@pune.mahaagri.gov.in"], [member.email]]


# The pages ---------------------------------------------------------------------------------------------

def well_formed(response):
    assert response.status_code == 200, response.status_code
    problems = html_problems(response.content.decode())
    assert problems == [], problems
    return parse(response.content)


def text_of(tree):
    return " ".join(tree.text().split())


def test_a_printed_suspension_or_reactivation_shows_what_is_decided_without_its_form(world):
    """On paper the page says which organisation is suspended or reactivated, what that does
    and who is told; its reason, note and button act on nothing there and stay off it, also
    when the page comes back with errors."""
    office = world["office"]
    client = client_of(world, "superadmin")
    url = f"/portal/organisations/{office.pk}/suspend/"
    for tree in (well_formed(client.get(url)), well_formed(client.post(url, {"reason_code": "", "reason": ""}))):
        assert printed_controls(tree) == []
        printed = printed_text(tree)
        assert "Suspend District Agriculture Office, Pune" in printed and "Nobody is verified or reinstated in it." in printed
        assert "admin@pune.mahaagri.gov.in" in printed  # who is told
    suspend(world)
    tree = well_formed(client.get(f"/portal/organisations/{office.pk}/reactivate/"))
    assert printed_controls(tree) == []
    assert "Reactivating District Agriculture Office, Pune makes it count again" in printed_text(tree)


def test_the_languages_of_those_a_suspension_mails_are_read_together_however_many_they_are(world):
    """Each told is mailed in their language: the languages of all of them are read at once,
    not one person at a time (two queries each), so that the change's transaction, which
    holds the organisation's lock, grows by no more than each one's mail."""
    def statements(where, admins):
        world[where] = OrganisationFactory(name=f"Directorate of {where.title()}", state="MH")
        for n in range(admins):
            speaks(make_admin(world[where], email=f"admin{n}@{where}.maharashtra.gov.in"), "mr" if n % 2 else "hi")
        with CaptureQueriesContext(connection) as queries:
            suspend(world, where=where)
        return len(queries)

    # Five more people told: five more mails written to the outbox, one statement each, and
    # nothing more (their languages were two more statements each).
    assert statements("sericulture", 6) - statements("fisheries", 1) == 5
    subjects = {m.to[0]: m.subject for m in OutboxMessage.objects.all() if "@sericulture." in m.to[0]}
    hindi, marathi = subjects["admin0@sericulture.maharashtra.gov.in"], subjects["admin1@sericulture.maharashtra.gov.in"]
    assert "संदेस" in hindi and "संदेस" in marathi and hindi != marathi
    assert [subjects[f"admin{n}@sericulture.maharashtra.gov.in"] for n in range(6)] == [hindi, marathi] * 3


def test_a_superadmin_suspends_an_organisation_from_its_page_and_reactivates_it(world):
    office = world["office"]
    client = client_of(world, "superadmin")
    status_url, suspend_url = f"/portal/organisations/{office.pk}/", f"/portal/organisations/{office.pk}/suspend/"
    tree = well_formed(client.get(status_url))
    assert tree.find("h1").text() == "Status of District Agriculture Office, Pune"
    assert "Active" in text_of(tree)
    [button] = [a for a in tree.find_all("a") if a.get("href") == suspend_url]
    assert button.text() == "Suspend organisation"

    tree = well_formed(client.get(suspend_url))
    shown = text_of(tree)
    assert tree.find("h1").text() == "Suspend District Agriculture Office, Pune"
    assert "Nobody is verified or reinstated in it." in shown
    assert "admin@pune.mahaagri.gov.in" in shown  # told by email
    assert "Its 1 verified member is not emailed: tell them through the department" in shown
    assert [option.get("value") for option in tree.find_all("input") if option.get("name") == "reason_code"] == [
        "under_review", "misuse", "merged", "department_request", "other"]

    # Nothing chosen, nothing written: each said at its field, nothing changed.
    tree = well_formed(client.post(suspend_url, {"reason_code": "", "reason": ""}))
    assert field_error(tree, "reason_code") == "Choose the reason."
    assert field_error(tree, "reason") == "This field is required."
    # A note too long: said at the note, the reason chosen and the note kept as typed.
    tree = well_formed(client.post(suspend_url, {"reason_code": "misuse", "reason": "x" * 1001}))
    assert field_error(tree, "reason").startswith("Ensure this value has at most 1000 characters")
    assert field_value(tree, "reason_code") == "misuse" and field_value(tree, "reason") == "x" * 1001
    assert field_error(tree, "reason_code") is None
    assert status_of(office) == OrganisationStatus.ACTIVE and not AuditEvent.objects.exists()

    response = client.post(suspend_url, {"reason_code": "misuse", "reason": NOTE})
    assert response.status_code == 302 and response["Location"] == status_url
    assert status_of(office) == OrganisationStatus.SUSPENDED
    tree = well_formed(client.get(status_url))
    shown = text_of(tree)
    assert "District Agriculture Office, Pune was suspended." in shown
    assert "Suspended" in shown and "root@sandes.nic.in" in shown and "Misuse of the platform" in shown
    assert "पुनरावलोकन सुरू आहे." in shown  # the note, its lines kept
    reactivate_url = f"/portal/organisations/{office.pk}/reactivate/"
    [button] = [a for a in tree.find_all("a") if a.get("href") == reactivate_url]
    assert button.text() == "Reactivate organisation"

    tree = well_formed(client.get(reactivate_url))
    assert [option.get("value") for option in tree.find_all("input") if option.get("name") == "reason_code"] == [
        "review_completed", "suspended_in_error", "department_request", "other"]
    response = client.post(reactivate_url, {"reason_code": "review_completed", "reason": "Reviewed with the department."})
    assert response.status_code == 302 and status_of(office) == OrganisationStatus.ACTIVE
    tree = well_formed(client.get(status_url))
    rows = [" ".join(row.text().split()) for row in tree.find("tbody").find_all("tr")]
    assert len(rows) == 2 and "Reactivated" in rows[0] and "Review completed" in rows[0] and "Suspended" in rows[1]


def test_the_confirmation_page_names_the_offices_below_that_stay_active(world):
    client = client_of(world, "superadmin")
    shown = text_of(well_formed(client.get(f"/portal/organisations/{world['parent'].pk}/suspend/")))
    assert "The 1 office below it stays active: its own admins, the admins above this organisation" in shown
    assert "admin@mahaagri.gov.in" in shown and "admin@pune.mahaagri.gov.in" not in shown  # its own admins
    shown = text_of(well_formed(client.get(f"/portal/organisations/{world['office'].pk}/suspend/")))
    assert "below it stay" not in shown  # none below


def test_the_confirmation_page_warns_before_a_department_is_left_without_an_admin_who_acts(world):
    """The department's only admin rests on a verification in the office: the office's
    confirmation page says, before anything is done, that the department will have nobody
    acting for it, whose role stops counting, and who is told then (whoever will act for
    it); nothing is written by asking. With another admin there, the page says nothing of it."""
    member = department_admin_resting_on_the_office(world)
    second = make_superadmin(email="second.root@nic.in")
    written = AuditEvent.objects.count()
    client = client_of(world, "state_admin_mh")
    tree = well_formed(client.get(f"/portal/organisations/{world['office'].pk}/suspend/"))
    warning = tree.find(id="left-without-admin")
    assert warning is not None
    shown = text_of(warning)
    assert ("Agriculture Department, Maharashtra, above it, will have no admin who acts for it: the admin role of "
            "asha.kulkarni@pune.mahaagri.gov.in there rests on their verification in this organisation, and counts "
            "for nothing until it is reactivated.") in shown
    assert "root@sandes.nic.in" in shown and second.email in shown
    assert status_of(world["office"]) == OrganisationStatus.ACTIVE and AuditEvent.objects.count() == written
    assert permissions.may_administer(fresh(member), world["parent"])
    make_admin(world["parent"], email="second.admin@mahaagri.gov.in")
    tree = well_formed(client.get(f"/portal/organisations/{world['office'].pk}/suspend/"))
    assert tree.find(id="left-without-admin") is None


def test_the_confirmation_pages_name_the_admins_above_whose_role_rests_on_it_among_those_told(world):
    """The department has another admin (nobody is left without one), but the admin role of
    its member resting on a verification in the office counts for nothing while the office
    is suspended, and she is told so by mail: the suspension page names her among those
    told beforehand, and the reactivation page too (told that it counts again)."""
    member = department_admin_resting_on_the_office(world)
    make_admin(world["parent"], email="second.admin@mahaagri.gov.in")
    client = client_of(world, "state_admin_mh")
    tree = well_formed(client.get(f"/portal/organisations/{world['office'].pk}/suspend/"))
    assert tree.find(id="left-without-admin") is None
    shown = text_of(tree.find(id="roles-resting"))
    assert ("The admins above it whose admin role there rests on their verification in this organisation are told "
            "by email, each in their language, that it counts for nothing until it is reactivated:") in shown
    assert f"{member.email} (Admin of Agriculture Department, Maharashtra)" in shown
    assert "second.admin@mahaagri.gov.in" not in text_of(tree)
    suspend(world, who="state_admin_mh")
    tree = well_formed(client.get(f"/portal/organisations/{world['office'].pk}/reactivate/"))
    assert tree.find(id="admin-acting-again") is None
    shown = text_of(tree.find(id="roles-resting"))
    assert ("The admins above it whose admin role there rests on their verification in this organisation are told "
            "by email, each in their language, that it counts again:") in shown
    assert f"{member.email} (Admin of Agriculture Department, Maharashtra)" in shown
    # Without such a role, nothing of it is said.
    tree = well_formed(client.get(f"/portal/organisations/{world['parent'].pk}/suspend/"))
    assert tree.find(id="roles-resting") is None


def test_a_suspension_confirmed_from_a_page_that_did_not_name_an_admin_it_tells_is_refused(world):
    """The page was opened before the member of the office was made admin of the department
    above it: it did not say she would be told. Sent after, nothing is done, and the page
    now names her; sent again from it, the office is suspended and she is told."""
    member = world["member"]
    GovernmentProfileFactory(user=member, organisation=world["office"], status=VerificationStatus.VERIFIED)
    client = client_of(world, "state_admin_mh")
    url = f"/portal/organisations/{world['office'].pk}/suspend/"
    tree = well_formed(client.get(url))
    assert tree.find(id="roles-resting") is None
    shown = field_value(tree, "shown_values")
    organisation_admin_grant(organisation_id=world["parent"].pk, user_id=member.pk, actor=fresh(world["superadmin"]),
                             reason="Heads the department's establishment section.")
    OutboxMessage.objects.all().delete()
    tree = well_formed(client.post(url, {"reason_code": "misuse", "reason": NOTE, "shown_values": shown}))
    assert status_of(world["office"]) == OrganisationStatus.ACTIVE and not OutboxMessage.objects.exists()
    assert "Since this page was opened, what suspending it does has changed" in text_of(tree)
    assert member.email in text_of(tree.find(id="roles-resting"))
    response = client.post(url, {"reason_code": "misuse", "reason": NOTE,
                                 "shown_values": field_value(tree, "shown_values")})
    assert response.status_code == 302 and status_of(world["office"]) == OrganisationStatus.SUSPENDED
    assert messages_to(member.email)


def test_a_suspension_confirmed_from_a_page_that_did_not_name_an_own_admin_it_mails_is_refused(world):
    """The page names whom it tells by email, the office's admins: one made after it was
    opened was mailed on its confirmation though the page never named them."""
    office = world["office"]
    client = client_of(world, "state_admin_mh")
    url = f"/portal/organisations/{office.pk}/suspend/"
    tree = well_formed(client.get(url))
    shown = field_value(tree, "shown_values")
    second = make_admin(office, email="second.admin@pune.mahaagri.gov.in")
    assert second.email not in text_of(tree)
    OutboxMessage.objects.all().delete()
    tree = well_formed(client.post(url, {"reason_code": "misuse", "reason": NOTE, "shown_values": shown}))
    assert status_of(office) == OrganisationStatus.ACTIVE and not OutboxMessage.objects.exists()
    assert "Since this page was opened, what suspending it does has changed" in text_of(tree)
    assert second.email in text_of(tree)
    response = client.post(url, {"reason_code": "misuse", "reason": NOTE,
                                 "shown_values": field_value(tree, "shown_values")})
    assert response.status_code == 302 and status_of(office) == OrganisationStatus.SUSPENDED
    assert messages_to(second.email)


@pytest.mark.parametrize("meanwhile", ["verified automatically", "made admin"])
def test_a_domain_removal_confirmed_from_a_page_that_no_longer_says_what_it_ends_is_refused(world, meanwhile):
    """The removal page counts what the removal ends: the verifications made automatically at
    the domain (suspended, each person told) and the admin roles resting on them (ended for
    good). One verified there, or made admin on such a verification, after the page was
    opened was suspended, or lost the role, on a confirmation that never named it."""
    from portal.organisations.services import organisation_admin_grant
    from verification.models import VerificationMethod

    office, member = world["office"], world["member"]
    row = OrganisationDomain.objects.create(organisation=office, domain="pune.mahaagri.gov.in", is_verified=True)
    if meanwhile == "made admin":
        GovernmentProfileFactory(user=member, organisation=office, status=VerificationStatus.VERIFIED,
                                 official_email=member.email, method=VerificationMethod.OFFICIAL_EMAIL)
    client = client_of(world, "superadmin")
    url = f"/portal/organisations/{office.pk}/domains/{row.pk}/remove/"
    shown = field_value(well_formed(client.get(url)), "shown_values")
    if meanwhile == "made admin":
        organisation_admin_grant(organisation_id=office.pk, user_id=member.pk, actor=fresh(world["admin_office"]),
                                 reason="Second admin for the office.")
    else:
        GovernmentProfileFactory(organisation=office, status=VerificationStatus.VERIFIED,
                                 official_email="ravi@pune.mahaagri.gov.in", method=VerificationMethod.OFFICIAL_EMAIL)
    before = list(GovernmentProfile.objects.values_list("pk", "status"))
    response = client.post(url, {"reason": "A lookalike accepted by mistake", "confirm": "on", "shown_values": shown})
    assert response.status_code == 200 and OrganisationDomain.objects.filter(pk=row.pk).exists()
    assert list(GovernmentProfile.objects.values_list("pk", "status")) == before
    tree = well_formed(response)
    text = text_of(tree)
    assert "Since this page was opened, what removing this domain ends, or whom it tells, has changed" in text
    assert field_value(tree, "reason") == "A lookalike accepted by mistake"
    assert "checked" not in tree.find("input", name="confirm").attrs
    said = {"made admin": "1 admin role rests on those verifications and ends with them",
            "verified automatically": "1 verification made automatically at pune.mahaagri.gov.in is suspended"}
    assert said[meanwhile] in text
    response = client.post(url, {"reason": "A lookalike accepted by mistake", "confirm": "on",
                                 "shown_values": field_value(well_formed(response), "shown_values")})
    assert response.status_code == 302 and not OrganisationDomain.objects.filter(pk=row.pk).exists()


def test_a_suspension_confirmed_from_a_page_that_no_longer_says_what_it_does_is_refused(world):
    """The page was opened while the department had another admin (nothing to warn of); its
    other admin left before it was sent: nothing is done, the page says so and now warns,
    with the reason and the note kept; sent again from it, the office is suspended."""
    department_admin_resting_on_the_office(world)
    second = make_admin(world["parent"], email="second.admin@mahaagri.gov.in")
    client = client_of(world, "state_admin_mh")
    url = f"/portal/organisations/{world['office'].pk}/suspend/"
    tree = well_formed(client.get(url))
    assert tree.find(id="left-without-admin") is None
    shown = field_value(tree, "shown_values")
    Membership.objects.filter(user=second).delete()
    tree = well_formed(client.post(url, {"reason_code": "misuse", "reason": NOTE, "shown_values": shown}))
    assert status_of(world["office"]) == OrganisationStatus.ACTIVE
    assert not events(AuditAction.ORGANISATION_SUSPENDED) and not OutboxMessage.objects.exists()
    assert "Since this page was opened, what suspending it does has changed" in text_of(tree)
    assert tree.find(id="left-without-admin") is not None
    assert field_value(tree, "reason_code") == "misuse" and field_value(tree, "reason") == NOTE
    response = client.post(url, {"reason_code": "misuse", "reason": NOTE,
                                 "shown_values": field_value(tree, "shown_values")})
    assert response.status_code == 302 and status_of(world["office"]) == OrganisationStatus.SUSPENDED


def named_on(tree):
    """The addresses a confirmation page names as told by email (its lists of people)."""
    return {item.text().split()[0] for listed in tree.find_all("ul") if "text-break" in (listed.get("class") or "")
            for item in listed.find_all("li")}


def writes_in(queries):
    return [query["sql"] for query in queries
            if query["sql"].lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE", "SAVEPOINT", "ROLLBACK", "RELEASE"))
            or "FOR UPDATE" in query["sql"].upper()]


def test_the_confirmation_pages_work_out_what_a_change_does_without_writing_and_name_who_it_tells(world):
    """Asking what suspending the office does (the department above it left with nobody acting
    for it, the admin whose role there rests on it) and what reactivating it does writes nothing
    and locks nothing: a GET only reads. And the people each page names are those the change,
    sent from it, then tells."""
    member = department_admin_resting_on_the_office(world)
    second = make_superadmin(email="second.root@nic.in")
    client = client_of(world, "state_admin_mh")
    for action in ("suspend", "reactivate"):
        url = f"/portal/organisations/{world['office'].pk}/{action}/"
        with CaptureQueriesContext(connection) as queries:
            tree = well_formed(client.get(url))
        assert writes_in(queries.captured_queries) == []
        named = named_on(tree)
        assert {member.email, second.email, "root@sandes.nic.in", "admin@pune.mahaagri.gov.in"} <= named
        OutboxMessage.objects.all().delete()
        response = client.post(url, {"reason_code": "misuse" if action == "suspend" else "review_completed",
                                     "reason": NOTE, "shown_values": field_value(tree, "shown_values")})
        assert response.status_code == 302
        assert {m.to[0] for m in OutboxMessage.objects.all()} == named


def told_on(tree):
    """The addresses a confirmation page lists under "Who is told" (not those above it)."""
    [listed] = [listed for listed in tree.find_all("ul") if "text-break" in (listed.get("class") or "")
                and not any(node.get("id") in ("left-without-admin", "admin-acting-again", "roles-resting")
                            for node in listed.ancestors())]
    return [item.text().strip() for item in listed.find_all("li")]


@pytest.mark.parametrize("action", ["suspend", "reactivate"])
def test_the_confirmation_page_of_an_office_without_admins_names_who_acts_for_it_once_changed(world, action):
    """The office has no admin of its own, and the department's only admin rests on a
    verification in it. Once the office is suspended her role counts for nothing: those who
    then act for it (the superadmins) are told of it, and the page names them, not her (she
    is named apart, as one whose role stops counting). Once it is reactivated she acts for
    it again, and is told of it as such: the reactivation page names her."""
    member = department_admin_resting_on_the_office(world)
    Membership.objects.filter(user=world["admin_office"]).delete()
    second = make_superadmin(email="second.root@nic.in")
    if action == "reactivate":
        suspend(world, who="state_admin_mh")
        OutboxMessage.objects.all().delete()
    client = client_of(world, "state_admin_mh")
    url = f"/portal/organisations/{world['office'].pk}/{action}/"
    tree = well_formed(client.get(url))
    told = told_on(tree)
    if action == "suspend":
        assert told == ["root@sandes.nic.in", second.email]
        assert "the other superadmins, who act for it, are told by email" in text_of(tree)
    else:
        assert told == [member.email]
        assert "the admins of Agriculture Department, Maharashtra, above it, who act for it, are told" in text_of(tree)
    response = client.post(url, {"reason_code": "misuse" if action == "suspend" else "review_completed",
                                 "reason": NOTE, "shown_values": field_value(tree, "shown_values")})
    assert response.status_code == 302
    office = Organisation.objects.get(pk=world["office"].pk)
    assert [one.user.email for one in status_change_told(office)] == told


@pytest.mark.parametrize(("language", "none_said"), [
    ("en", "It has no verified members: no one's verification is affected."),
    ("hi", "इसका कोई सत्यापित सदस्य नहीं है: किसी का सत्यापन प्रभावित नहीं होता।"),
    ("mr", "तिचा कोणताही पडताळलेला सदस्य नाही: कोणाच्याही पडताळणीवर परिणाम होत नाही."),
])
def test_the_confirmation_page_of_an_organisation_without_verified_members_counts_none_of_them(world, language,
                                                                                                  none_said):
    """An office onboarded moments ago has no verified member yet: the page says so, once,
    instead of what "its 0 verified members" would and would not be told."""
    office = OrganisationFactory(name="Taluka Agriculture Office, Haveli", state="MH", status=OrganisationStatus.ACTIVE)
    client = client_of(world, "superadmin")
    client.cookies["django_language"] = language
    shown = text_of(well_formed(client.get(f"/portal/organisations/{office.pk}/suspend/")))
    assert none_said in shown
    assert " 0 " not in shown and "Its 0" not in shown


def test_a_state_administrator_reaches_the_pages_of_their_state_only(world):
    """404 for a platform role without jurisdiction over it (whether it exists is not
    said); 403 for anyone who changes no organisation's status, its own admins included."""
    office, other = world["office"], world["other"]
    mh, ka = client_of(world, "state_admin_mh"), client_of(world, "state_admin_ka")
    for path in ("", "suspend/", "reactivate/"):
        assert mh.get(f"/portal/organisations/{other.pk}/{path}").status_code == 404
        assert ka.get(f"/portal/organisations/{office.pk}/{path}").status_code == 404
        for who in ("admin_office", "admin_parent", "auditor", "member"):
            assert client_of(world, who).get(f"/portal/organisations/{office.pk}/{path}").status_code == 403
    assert mh.post(f"/portal/organisations/{other.pk}/suspend/", {"reason_code": "misuse", "reason": NOTE}
                   ).status_code == 404
    assert status_of(other) == OrganisationStatus.ACTIVE
    assert mh.post(f"/portal/organisations/{office.pk}/suspend/", {"reason_code": "misuse", "reason": NOTE}
                   ).status_code == 302
    assert status_of(office) == OrganisationStatus.SUSPENDED
    [event] = events(AuditAction.ORGANISATION_SUSPENDED)
    assert event.actor_id == world["state_admin_mh"].pk
    [message] = messages_to("admin@pune.mahaagri.gov.in")
    assert "an administrator of Maharashtra" in message.body


def test_a_change_made_meanwhile_is_said_and_nothing_is_done_twice(world):
    """The confirmation page sent again (a second tab, another administrator first): the
    organisation's page says it is suspended already; the page of a change that no longer
    applies leads there too."""
    office = world["office"]
    client = client_of(world, "superadmin")
    suspend_url = f"/portal/organisations/{office.pk}/suspend/"
    assert client.post(suspend_url, {"reason_code": "misuse", "reason": NOTE}).status_code == 302
    response = client.post(suspend_url, {"reason_code": "other", "reason": "Again."}, follow=True)
    assert "District Agriculture Office, Pune is already suspended: nothing was changed." in text_of(parse(response.content))
    assert len(events(AuditAction.ORGANISATION_SUSPENDED)) == 1 and OutboxMessage.objects.count() == 1
    response = client.get(suspend_url)
    assert response.status_code == 302 and response["Location"] == f"/portal/organisations/{office.pk}/"
    Organisation.objects.filter(pk=office.pk).update(status=OrganisationStatus.PENDING)
    tree = well_formed(client.get(f"/portal/organisations/{office.pk}/"))
    assert not [a for a in tree.find_all("a") if a.get("href", "").endswith(("/suspend/", "/reactivate/"))]


def test_the_organisation_pages_lead_to_its_status(world):
    """The role page of an organisation (superadmins) and the monitoring dashboard's row
    (superadmins, the administrators of its state) link to its status page; nobody else's."""
    office = world["office"]
    link = f'href="/portal/organisations/{office.pk}/"'
    assert link in client_of(world, "superadmin").get(f"/portal/roles/organisations/{office.pk}/").content.decode()
    assert link not in client_of(world, "admin_parent").get(f"/portal/roles/organisations/{office.pk}/").content.decode()
    for who, linked in (("superadmin", True), ("state_admin_mh", True), ("state_admin_ka", False), ("auditor", False),
                        ("admin_parent", False)):
        html = client_of(world, who).get("/monitoring/").content.decode()
        assert (link in html) == linked, who
        assert "District Agriculture Office, Pune" in html or who == "state_admin_ka"


def test_a_printed_removal_of_an_email_domain_shows_what_it_ends_without_its_form(world):
    """On paper the page says which domain leaves which organisation and what that ends; its
    reason, box and button act on nothing there and stay off it."""
    from portal.organisations.models import OrganisationDomain

    office = world["office"]
    row = OrganisationDomain.objects.create(organisation=office, domain="pune.mahaagri.gov.in", is_verified=True)
    tree = well_formed(client_of(world, "superadmin").get(f"/portal/organisations/{office.pk}/domains/{row.pk}/remove/"))
    assert printed_controls(tree) == []
    printed = printed_text(tree)
    assert "Remove pune.mahaagri.gov.in from District Agriculture Office, Pune" in printed
    assert "Verifications an administrator decided, by hand or from a roster, stand." in printed


def test_a_superadmin_removes_an_email_domain_from_the_organisations_page_after_confirming_it(world):
    """The status page lists the organisation's email domains; a superadmin (only) is offered
    to remove each, on a page that says what the removal ends and asks why, refused at its
    fields without a reason or the box ticked (what was typed kept); removed, it is gone and
    said so, on record; sent again, nothing is done twice."""
    from portal.organisations.models import DomainClaim, OrganisationDomain

    office = world["office"]
    row = OrganisationDomain.objects.create(organisation=office, domain="pune.mahaagri.gov.in", is_verified=True)
    OrganisationDomain.objects.create(organisation=office, domain="punekrishi.org", claim=DomainClaim.NOT_OFFICIAL)
    status_url, remove_url = f"/portal/organisations/{office.pk}/", f"/portal/organisations/{office.pk}/domains/{row.pk}/remove/"
    client = client_of(world, "superadmin")
    tree = well_formed(client.get(status_url))
    shown = text_of(tree)
    assert "pune.mahaagri.gov.in — official for it" in shown and "punekrishi.org — claimed, waiting for a superadmin" in shown
    [link] = [a for a in tree.find_all("a") if a.get("href") == remove_url]
    assert link.text() == "Remove pune.mahaagri.gov.in"
    state_admin = client_of(world, "state_admin_mh")
    assert remove_url not in state_admin.get(status_url).content.decode()
    assert state_admin.get(remove_url).status_code in (403, 404)
    assert state_admin.post(remove_url, {"reason": "x", "confirm": "on"}).status_code in (403, 404)

    tree = well_formed(client.get(remove_url))
    assert tree.find("h1").text() == "Remove pune.mahaagri.gov.in from District Agriculture Office, Pune"
    assert "Verifications an administrator decided, by hand or from a roster, stand." in text_of(tree)
    response = client.post(remove_url, {"reason": "Merged into the department's domain"})
    tree = well_formed(response)
    assert field_error(tree, "confirm") == "Tick the box to confirm the removal."
    assert field_value(tree, "reason") == "Merged into the department's domain"
    response = client.post(remove_url, {"reason": "  ", "confirm": "on"})
    assert field_error(well_formed(response), "reason") == "Give the reason the domain is removed."
    assert OrganisationDomain.objects.filter(pk=row.pk).exists() and not events(AuditAction.DOMAIN_REMOVED)

    response = client.post(remove_url, {"reason": "Merged into the department's domain", "confirm": "on"}, follow=True)
    assert response.redirect_chain[-1][0] == status_url
    assert "pune.mahaagri.gov.in was removed from District Agriculture Office, Pune." in text_of(parse(response.content))
    assert not OrganisationDomain.objects.filter(pk=row.pk).exists()
    [removed] = events(AuditAction.DOMAIN_REMOVED)
    assert removed.new_values == {"reason": "Merged into the department's domain", "told": [world["admin_office"].email]}
    response = client.post(remove_url, {"reason": "Again", "confirm": "on"}, follow=True)
    assert ("That domain is no longer one of District Agriculture Office, Pune's: there is nothing to remove."
            in text_of(parse(response.content)))
    assert len(events(AuditAction.DOMAIN_REMOVED)) == 1


def test_removing_a_domain_says_who_stays_verified_at_it_on_the_confirmation_and_tells_its_admins(world):
    """Verifications an administrator decided at the domain stand once it is removed: the
    people keep being shown as verified with an address on a domain no longer the
    organisation's. The confirmation says how many (and how many verifications made
    automatically there are suspended), and the organisation's admins are told by mail, with
    that number, to check them; the superadmin who removed it is not mailed (the page said)."""
    from portal.organisations.models import OrganisationDomain
    from verification.models import VerificationMethod

    office, other = world["office"], world["other"]
    row = OrganisationDomain.objects.create(organisation=office, domain="pune.mahaagri.gov.in", is_verified=True)
    OrganisationDomain.objects.create(organisation=office, domain="punekrishi.gov.in", is_verified=True)
    for n, method in enumerate((VerificationMethod.MANUAL, VerificationMethod.ROSTER, VerificationMethod.OFFICIAL_EMAIL)):
        GovernmentProfileFactory(organisation=office, status=VerificationStatus.VERIFIED, method=method,
                                 official_email=f"clerk.{n}@Pune.Mahaagri.gov.in")
    GovernmentProfileFactory(organisation=office, status=VerificationStatus.VERIFIED, official_email="a@punekrishi.gov.in")
    GovernmentProfileFactory(organisation=other, status=VerificationStatus.VERIFIED, official_email="b@pune.mahaagri.gov.in")
    GovernmentProfileFactory(organisation=office, status=VerificationStatus.REVOKED, official_email="c@pune.mahaagri.gov.in")
    remove_url = f"/portal/organisations/{office.pk}/domains/{row.pk}/remove/"
    client = client_of(world, "superadmin")
    shown = text_of(well_formed(client.get(remove_url)))
    assert ("2 members verified by an administrator keep an official address at pune.mahaagri.gov.in: their "
            "verifications stand. The organisation's admins are told by email to check that each still belongs to it."
            in shown), shown
    assert "1 verification made automatically at pune.mahaagri.gov.in is suspended, and the person told." in shown

    client.post(remove_url, {"reason": "Merged into the department's domain", "confirm": "on"})
    assert not OrganisationDomain.objects.filter(pk=row.pk).exists()
    [told] = messages_to(world["admin_office"].email)
    assert told.subject == "pune.mahaagri.gov.in was removed from District Agriculture Office, Pune on Sandes"
    assert "2 members verified by an administrator keep an official address at pune.mahaagri.gov.in" in told.body
    assert "1 verification made automatically at it was suspended" in told.body
    assert "Merged into the department's domain" in told.body and "{%" not in told.body
    assert not messages_to(world["superadmin"].email)
    [removed] = events(AuditAction.DOMAIN_REMOVED)
    assert removed.new_values == {"reason": "Merged into the department's domain", "told": [world["admin_office"].email]}


def test_removing_a_domain_says_the_admin_roles_it_ends(world):
    """An admin role resting on a verification made automatically at the domain ends with its
    suspension, for good (reinstating the verification does not bring it back): the
    confirmation says so, before the superadmin removes it."""
    from django.utils import timezone

    from portal.organisations.models import Membership, MembershipRole, OrganisationDomain
    from portal.organisations.services import organisation_admin_grant
    from verification.models import VerificationMethod

    office = world["office"]
    row = OrganisationDomain.objects.create(organisation=office, domain="pune.mahaagri.gov.in", is_verified=True)
    asha = UserFactory(email="meera.joshi@pune.mahaagri.gov.in")
    GovernmentProfileFactory(user=asha, organisation=office, status=VerificationStatus.VERIFIED,
                             official_email=asha.email, method=VerificationMethod.OFFICIAL_EMAIL, verified_at=timezone.now())
    Membership.objects.create(organisation=office, user=asha, role=MembershipRole.MEMBER)
    organisation_admin_grant(organisation_id=office.pk, user_id=asha.pk, actor=world["superadmin"])
    remove_url = f"/portal/organisations/{office.pk}/domains/{row.pk}/remove/"
    client = client_of(world, "superadmin")
    shown = text_of(well_formed(client.get(remove_url)))
    assert ("1 admin role rests on those verifications and ends with them: it does not come back when a "
            "verification is reinstated.") in shown, shown
    client.post(remove_url, {"reason": "A lookalike of the department's", "confirm": "on"})
    assert not Membership.objects.filter(organisation=office, user=asha, role=MembershipRole.ADMIN,
                                         is_active=True).exists()


def test_a_superadmin_adds_an_email_domain_from_the_organisations_page(world):
    """The status page offers a superadmin (only) to add a domain; what the service refuses is
    said at the domain's field, what was typed kept; added, it is listed as official."""
    from portal.organisations.models import OrganisationDomain

    office = world["office"]
    status_url, add_url = f"/portal/organisations/{office.pk}/", f"/portal/organisations/{office.pk}/domains/add/"
    client = client_of(world, "superadmin")
    assert f'href="{add_url}"' in client.get(status_url).content.decode()
    state_admin = client_of(world, "state_admin_mh")
    assert add_url not in state_admin.get(status_url).content.decode()
    assert state_admin.post(add_url, {"domain": "krishi-pune.org", "reason": "x", "confirm": "on"}).status_code in (403, 404)
    tree = well_formed(client.get(add_url))
    assert tree.find("h1").text() == "Add an email domain to District Agriculture Office, Pune"
    response = client.post(add_url, {"domain": "gmail.com", "reason": "Their mail", "confirm": "on"})
    tree = well_formed(response)
    assert field_error(tree, "domain") == ("gmail.com is a personal mail service and is never accepted as official "
                                           "email.")
    assert field_value(tree, "domain") == "gmail.com" and field_value(tree, "reason") == "Their mail"
    response = client.post(add_url, {"domain": "Krishi-Pune.org", "reason": "Their PSU's mail", "confirm": "on"},
                           follow=True)
    assert response.redirect_chain[-1][0] == status_url
    shown = text_of(parse(response.content))
    assert "krishi-pune.org is now official for District Agriculture Office, Pune." in shown
    assert "krishi-pune.org — official for it" in shown
    assert OrganisationDomain.objects.get(organisation=office, domain="krishi-pune.org").is_verified
    assert not events(AuditAction.DOMAIN_REMOVED) and len(events(AuditAction.DOMAIN_ACCEPTED)) == 1


# Query counts: the same however long its history, and however many are told.
#   1 session, 2 the user with their platform roles and authenticator (one query),
#   3 the organisation (with the one above it), 4 its history (the audit log's last 20 changes),
#   5 the last changes of its details,
#   6 its email domains, 7 the domains removed from it or from one above it (the audit log; with
#   one removed, two more: those official for its line again, its members still at the others).
STATUS_PAGE_QUERIES = 7
#   ... 3 the organisation, 4 its admins to tell (with their accounts), 5 the offices below it,
#   6 its members; a change it is not in the status for: back to its page after 3 (the
#   message kept in a cookie). Suspending it, besides: 7 the admins acting above it, 8 whether
#   one of them is its member (none here: no savepoint to see what its suspension leaves);
#   reactivating it: 7 the admins acting above it (one at each organisation above it here:
#   none to be given its admin back).
CHANGE_PAGE_QUERIES = {"suspend": 8, "reactivate": 7}
CHANGE_REFUSED_QUERIES = 3


@pytest.mark.parametrize("changes", [1, 30])
@pytest.mark.parametrize("who", ["superadmin", "state_admin_mh"])
def test_the_status_page_query_count(world, who, changes, django_assert_num_queries):
    office = world["office"]
    for n in range(changes):
        (suspend if n % 2 == 0 else reactivate)(world)
    for n in range(5):
        make_admin(office, email=f"admin{n}@pune.mahaagri.gov.in")
    client = client_of(world, who)
    url = f"/portal/organisations/{office.pk}/"
    assert client.get(url).status_code == 200
    with django_assert_num_queries(STATUS_PAGE_QUERIES):
        response = client.get(url)
    assert len(parse(response.content).find("tbody").find_all("tr")) == min(changes, 20)
    active = status_of(office) == OrganisationStatus.ACTIVE
    for action, offered in (("suspend", active), ("reactivate", not active)):
        with django_assert_num_queries(CHANGE_PAGE_QUERIES[action] if offered else CHANGE_REFUSED_QUERIES):
            response = client.get(f"{url}{action}/")
        assert response.status_code == (200 if offered else 302)
        if offered:
            assert "admin4@pune.mahaagri.gov.in" in response.content.decode()


# Moving an organisation: its state and the organisation above it --------------------------------------

MOVE_WHY = "Transferred to the Karnataka department by the order GAD/2026/77.\nकर्नाटक विभागाकडे हस्तांतरित."


def move_world(world):
    """A Karnataka department (with its admin) to move the Pune office under."""
    ka_parent = OrganisationFactory(name="Agriculture Department, Karnataka", short_code="AGRI-KA", state="KA")
    world["ka_parent"] = ka_parent
    world["admin_ka_parent"] = make_admin(ka_parent, email="admin@raitamitra.karnataka.gov.in")
    return world


def move(world, where="office", who="superadmin", state="KA", parent="ka_parent", reason=MOVE_WHY, shown=None):
    return organisation_move(organisation_id=world[where].pk, state=state,
                             parent_id=world[parent].pk if parent else None, reason=reason,
                             actor=fresh(world[who]), shown=shown)


def test_a_superadmin_moves_an_office_to_another_state_and_department_and_access_follows_at_the_next_request(world):
    move_world(world)
    office = world["office"]
    # One client each, signed in before the move: access is read again at their next request.
    clients = {who: client_of(world, who) for who in ("state_admin_mh", "state_admin_ka", "admin_parent",
                                                     "admin_ka_parent", "admin_office")}
    status_url, details_url = f"/portal/organisations/{office.pk}/", f"/portal/organisations/{office.pk}/details/"
    assert clients["state_admin_mh"].get(status_url).status_code == 200
    assert clients["state_admin_ka"].get(status_url).status_code == 404
    assert clients["admin_parent"].get(details_url).status_code == 200
    assert clients["admin_ka_parent"].get(details_url).status_code == 404

    assert move(world) is True
    office.refresh_from_db()
    assert (office.state, office.parent_id, office.ancestry) == ("KA", world["ka_parent"].pk,
                                                                 f"/{world['ka_parent'].pk}/")
    assert clients["state_admin_mh"].get(status_url).status_code == 404
    assert clients["state_admin_ka"].get(status_url).status_code == 200
    assert clients["admin_parent"].get(details_url).status_code == 404
    assert clients["admin_ka_parent"].get(details_url).status_code == 200
    assert clients["admin_office"].get(details_url).status_code == 200  # its own admins keep it
    assert not permissions.may_administer(fresh(world["admin_parent"]), office)
    assert permissions.may_administer(fresh(world["admin_ka_parent"]), office)

    [event] = events(AuditAction.ORGANISATION_MOVED)
    assert (event.actor_id, event.target_id) == (world["superadmin"].pk, str(office.pk))
    assert event.old_values == {"state": "MH", "parent_id": world["parent"].pk,
                                "parent_name": "Agriculture Department, Maharashtra"}
    assert event.new_values == {"state": "KA", "parent_id": world["ka_parent"].pk,
                                "parent_name": "Agriculture Department, Karnataka", "offices_moved": 0,
                                "reason": MOVE_WHY, "told": ["admin@pune.mahaagri.gov.in"]}
    assert audit_verify() == []


def test_the_offices_below_move_with_it_and_nothing_is_written_when_nothing_changes(world):
    move_world(world)
    below = OrganisationFactory(name="Taluka Agriculture Office, Haveli", state="MH", parent=world["office"])
    elsewhere = OrganisationFactory(name="Central office below", state="", level="central", parent=world["office"])
    move(world, where="office")
    below.refresh_from_db(), elsewhere.refresh_from_db()
    assert (below.state, below.ancestry) == ("KA", f"/{world['ka_parent'].pk}/{world['office'].pk}/")
    assert elsewhere.state == ""  # not of the old state: left as it is
    assert events(AuditAction.ORGANISATION_MOVED)[0].new_values["offices_moved"] == 1
    assert move(world, where="office") is False  # already there
    assert len(events(AuditAction.ORGANISATION_MOVED)) == 1


@pytest.mark.parametrize("case", ["itself", "below", "suspended", "pending", "other_state", "no_state"])
def test_a_parent_that_would_not_do_is_refused_at_its_field_and_nothing_changes(world, case):
    move_world(world)
    below = OrganisationFactory(name="Taluka Agriculture Office, Haveli", state="MH", parent=world["office"])
    world["below"] = below
    where, state, parent, message = {
        "itself": ("office", "MH", "office", "An organisation cannot be placed under itself."),
        "below": ("office", "MH", "below", "Taluka Agriculture Office, Haveli is below District Agriculture Office, "
                                          "Pune: an organisation cannot be placed under one of its own offices."),
        "suspended": ("office", "KA", "ka_parent", "Agriculture Department, Karnataka is not active: an organisation "
                                                   "is placed only under an active one."),
        "pending": ("office", "KA", "ka_parent", "Agriculture Department, Karnataka is not active: an organisation "
                                                 "is placed only under an active one."),
        "other_state": ("office", "MH", "ka_parent", "Agriculture Department, Karnataka belongs to Karnataka, not to "
                                                     "Maharashtra: an organisation is placed under one of its own "
                                                     "state or UT. Change its state too, or choose another."),
        "no_state": ("office", "", None, None),
    }[case]
    if case in ("suspended", "pending"):
        Organisation.objects.filter(pk=world["ka_parent"].pk).update(status=case)
    before = Organisation.objects.values_list("pk", "state", "parent_id", "ancestry").order_by("pk")
    before = list(before)
    with pytest.raises(ValidationError) as refused:
        move(world, where=where, state=state, parent=parent)
    if message is None:
        assert refused.value.message_dict == {"state": ["Choose the state or UT."]}
    else:
        assert refused.value.message_dict == {"parent": [message]}
    assert list(Organisation.objects.values_list("pk", "state", "parent_id", "ancestry").order_by("pk")) == before
    assert not events(AuditAction.ORGANISATION_MOVED)


def test_only_a_superadmin_moves_an_organisation_and_not_one_still_being_decided(world):
    move_world(world)
    for who in ("state_admin_mh", "admin_parent", "auditor"):
        with pytest.raises(PermissionDenied):
            move(world, who=who)
    with pytest.raises(ValidationError) as refused:
        move(world, reason="  ")
    assert refused.value.message_dict == {"reason": ["Write why it moves, for the record."]}
    Organisation.objects.filter(pk=world["office"].pk).update(status=OrganisationStatus.PENDING)
    with pytest.raises(OrganisationNotActive):
        move(world)
    assert Organisation.objects.get(pk=world["office"].pk).parent_id == world["parent"].pk


def test_a_confirmation_drawn_before_the_organisation_changed_is_refused(world):
    move_world(world)
    office = Organisation.objects.get(pk=world["office"].pk)
    shown = shown_digest(move_shown(move_effect(office, state="KA", parent=world["ka_parent"])))
    make_admin(world["ka_parent"], email="second.admin@raitamitra.karnataka.gov.in")  # meanwhile
    with pytest.raises(ChangedMeanwhile):
        move(world, shown=shown)
    assert Organisation.objects.get(pk=office.pk).state == "MH" and not events(AuditAction.ORGANISATION_MOVED)
    shown = shown_digest(move_shown(move_effect(office, state="KA", parent=world["ka_parent"])))
    assert move(world, shown=shown) is True


def test_its_admins_are_told_of_the_move_one_mail_each_in_their_language(world):
    move_world(world)
    office = world["office"]
    speaks(world["admin_office"], "hi")
    second = make_admin(office, email="second.admin@pune.mahaagri.gov.in")
    speaks(second, "mr")
    third = make_admin(office, email="third.admin@pune.mahaagri.gov.in")
    move(world)
    [hindi] = messages_to("admin@pune.mahaagri.gov.in")
    [marathi] = messages_to(second.email)
    [english] = messages_to(third.email)
    assert "संदेस" in hindi.subject and "कर्नाटक" in hindi.body and "महाराष्ट्र" in hindi.body
    assert "संदेस" in marathi.subject and "कर्नाटक" in marathi.body
    assert english.subject == "District Agriculture Office, Pune was moved on Sandes"
    for message in (hindi, marathi, english):
        assert "Agriculture Department, Karnataka" in message.body
        assert "Agriculture Department, Maharashtra" in message.body
        assert MOVE_WHY in message.body and "root@sandes.nic.in" in message.body
        assert f"/portal/organisations/{office.pk}/details/" in message.body
    assert not messages_to(world["member"].email) and not messages_to(world["admin_parent"].email)


# The move the tests below review and confirm: to Karnataka, under its department (move_world).
MOVE_TO_KA = {"state": "KA", "parent": "AGRI-KA", "reason": MOVE_WHY}


def move_reviewed(client, organisation):
    """The confirmation page of ``organisation``'s move (MOVE_TO_KA), as a tree."""
    return well_formed(client.post(move_url(organisation), {**MOVE_TO_KA, "step": "review"}))


def move_confirmed(client, organisation, tree):
    """The move confirmed from its confirmation page ``tree`` (the values it showed): the response."""
    digest = [n.get("value") for n in tree.find_all("input") if n.get("name") == "shown_values"][0]
    return client.post(move_url(organisation), {**MOVE_TO_KA, "shown_values": digest, "confirm": "on", "step": "save"})


def move_url(organisation):
    return f"/portal/organisations/{organisation.pk}/move/"


def test_a_superadmin_moves_an_office_from_its_pages_after_a_confirmation_that_says_what_changes(world):
    move_world(world)
    office = world["office"]
    client = client_of(world, "superadmin")
    tree = well_formed(client.get(f"/portal/organisations/{office.pk}/"))
    assert [a.text() for a in tree.find_all("a") if a.get("href") == move_url(office)] == [
        "Change its state or the organisation above it"]
    tree = well_formed(client.get(move_url(office)))
    assert field_value(tree, "state") == "MH" and field_value(tree, "parent") == "AGRI-MH"

    tree = well_formed(client.post(move_url(office), {"state": "KA", "parent": "agri-ka", "reason": MOVE_WHY,
                                                      "step": "review"}))
    shown = text_of(tree)
    assert tree.find("h1").text() == "Check the move of District Agriculture Office, Pune"
    assert "state.admin@maharashtra.gov.in" in text_of(tree.find(id="state-admins-losing"))
    assert "state.admin@karnataka.gov.in" in text_of(tree.find(id="state-admins-gaining"))
    assert "admin@mahaagri.gov.in" in text_of(tree.find(id="admins-losing"))
    assert "admin@raitamitra.karnataka.gov.in" in text_of(tree.find(id="admins-gaining"))
    assert "admin@pune.mahaagri.gov.in" in text_of(tree.find(id="move-told"))
    assert "Nothing changes until you tick the box and press" in shown
    assert Organisation.objects.get(pk=office.pk).state == "MH"

    kept = {"state": "KA", "parent": "agri-ka", "reason": MOVE_WHY,
            "shown_values": [n.get("value") for n in tree.find_all("input") if n.get("name") == "shown_values"][0]}
    # The box not ticked: said at the box, on the confirmation page again, nothing moved.
    tree = well_formed(client.post(move_url(office), {**kept, "step": "save"}))
    assert field_error(tree, "confirm") == "Tick the box to confirm the move."
    assert Organisation.objects.get(pk=office.pk).state == "MH"
    response = client.post(move_url(office), {**kept, "confirm": "on", "step": "save"})
    assert response.status_code == 302 and response["Location"] == f"/portal/organisations/{office.pk}/"
    assert Organisation.objects.get(pk=office.pk).parent_id == world["ka_parent"].pk
    tree = well_formed(client.get(response["Location"]))
    assert "District Agriculture Office, Pune was moved." in text_of(tree)
    # Its changes list the move: who, when, from where to where, why.
    [row] = [" ".join(tr.text().split()) for tr in tree.find("table", class_="details-history").find("tbody").find_all("tr")]
    assert "State / UT: Maharashtra → Karnataka" in row and "root@sandes.nic.in" in row
    assert "Above it: Agriculture Department, Maharashtra → Agriculture Department, Karnataka" in row
    assert "Transferred to the Karnataka department by the order GAD/2026/77." in row


def test_a_confirmation_page_drawn_before_a_change_meanwhile_moves_nothing_and_says_it_again(world):
    move_world(world)
    office = world["office"]
    client = client_of(world, "superadmin")
    tree = move_reviewed(client, office)
    make_admin(world["ka_parent"], email="second.admin@raitamitra.karnataka.gov.in")
    tree = well_formed(move_confirmed(client, office, tree))
    shown = text_of(tree)
    assert "Since this page was opened, what the move does has changed: nothing was done." in shown
    assert "second.admin@raitamitra.karnataka.gov.in" in text_of(tree.find(id="admins-gaining"))
    assert Organisation.objects.get(pk=office.pk).state == "MH"


MOVE_REFUSALS = {
    "en": ("No organisation on Sandes has the short code NOPE-1.", "Choose the state or UT.",
           "An organisation cannot be placed under itself."),
    "hi": ("संदेस पर किसी संगठन का संक्षिप्त कोड NOPE-1 नहीं है।", "राज्य या केंद्रशासित प्रदेश चुनें।",
           "किसी संगठन को उसी के नीचे नहीं रखा जा सकता।"),
    "mr": ("संदेसवर कोणत्याही संस्थेचा संक्षिप्त कोड NOPE-1 नाही.", "राज्य किंवा केंद्रशासित प्रदेश निवडा.",
           "संस्थेला तिच्याच खाली ठेवता येत नाही."),
}


@pytest.mark.parametrize("language", ["en", "hi", "mr"])
def test_wrong_answers_on_the_move_page_are_said_at_their_fields_in_the_pages_language_and_kept(world, language):
    move_world(world)
    office = world["office"]
    client = client_of(world, "superadmin")
    client.cookies["django_language"] = language
    unknown, state, itself = MOVE_REFUSALS[language]
    tree = well_formed(client.post(move_url(office), {"state": "", "parent": "NOPE-1", "reason": MOVE_WHY,
                                                      "step": "review"}))
    assert field_error(tree, "parent") == unknown and field_error(tree, "state") == state
    assert field_value(tree, "parent") == "NOPE-1" and field_value(tree, "reason") == MOVE_WHY
    tree = well_formed(client.post(move_url(office), {"state": "MH", "parent": "DAO-PUNE", "reason": MOVE_WHY,
                                                      "step": "review"}))
    assert field_error(tree, "parent") == itself
    assert Organisation.objects.get(pk=office.pk).parent_id == world["parent"].pk


def test_the_move_page_is_a_superadmins_alone(world):
    move_world(world)
    for who, expected in (("state_admin_mh", 403), ("admin_parent", 403), ("auditor", 403), ("superadmin", 200)):
        assert client_of(world, who).get(move_url(world["office"])).status_code == expected, who
    assert client_of(world, "state_admin_mh").post(move_url(world["office"]), {
        "state": "KA", "parent": "AGRI-KA", "reason": MOVE_WHY, "confirm": "on", "step": "save"}).status_code == 403
    assert Organisation.objects.get(pk=world["office"].pk).state == "MH"


def test_an_office_approved_under_an_organisation_moved_meanwhile_is_placed_where_that_organisation_is_now(world):
    """Final approval read the parent before a move of it committed (its deciding transaction
    began first): the office is placed where the parent is now, so the admins above its new
    place act for it and those of the old one do not."""
    move_world(world)
    read_before = Organisation.objects.get(pk=world["office"].pk)
    move(world)  # the office, and so what is below it, under the Karnataka department
    officer = UserFactory(email="officer@haveli.raitamitra.karnataka.gov.in")
    new = organisation_activate(
        organisation_id=None, attributes={"name": "Taluka Agriculture Office, Haveli", "short_code": "TAO-HAVELI",
                                          "org_type": "district_office", "level": "district", "state": "KA",
                                          "district": "Pune"},
        parent=read_before, domains=[], first_admin=officer, actor=None, source="ONB-2026-000001")
    assert new.ancestry == f"/{world['ka_parent'].pk}/{world['office'].pk}/"
    assert Organisation.objects.get(pk=new.pk).ancestry == new.ancestry
    assert permissions.may_administer(fresh(world["admin_ka_parent"]), new)
    assert not permissions.may_administer(fresh(world["admin_parent"]), new)


def test_an_organisation_of_the_centres_level_keeps_no_state_and_goes_under_the_centres_alone(world):
    ministry = OrganisationFactory(name="Ministry of Agriculture", short_code="MOA", level="central", state="")
    bureau = OrganisationFactory(name="Directorate of Economics and Statistics", short_code="DES", level="central",
                                 state="")
    world.update(ministry=ministry, bureau=bureau)
    tree = well_formed(client_of(world, "superadmin").get(move_url(bureau)))
    assert not [n for n in tree.find_all("select") if n.get("name") == "state"]
    assert "It is of the centre's level" in text_of(tree)
    with pytest.raises(ValidationError) as refused:
        move(world, where="bureau", state="", parent="parent")
    assert refused.value.message_dict == {"parent": [
        "Agriculture Department, Maharashtra belongs to Maharashtra: an organisation of the centre's level is placed "
        "only under another of the centre."]}
    assert move(world, where="bureau", state="MH", parent="ministry") is True  # a state given is no state of its
    bureau.refresh_from_db()
    assert (bureau.state, bureau.parent_id) == ("", ministry.pk)


def test_the_move_page_of_an_organisation_still_being_decided_says_so_and_offers_nothing(world):
    Organisation.objects.filter(pk=world["office"].pk).update(status=OrganisationStatus.PENDING)
    client = client_of(world, "superadmin")
    response = client.get(move_url(world["office"]))
    assert response.status_code == 302 and response["Location"] == f"/portal/organisations/{world['office'].pk}/"
    shown = text_of(well_formed(client.get(response["Location"])))
    assert "its application, which is still being decided, says where it belongs" in shown
    assert "Change its state or the organisation above it" not in shown


def moved_mails():
    """The move's mails: {address: message}, one each."""
    found = {}
    for message in OutboxMessage.objects.order_by("id"):
        if "GAD/2026/77" in message.body and "root@sandes.nic.in" in message.body:  # MOVE_WHY, the decider
            for address in message.to:
                assert address not in found, address
                found[address] = message
    return found


def test_with_no_admin_of_its_own_the_admins_of_the_line_it_leaves_and_of_the_one_it_joins_are_told(world):
    """Nobody administers the office itself: the admins above its old place (who acted for
    it) and above its new one (who act for it now) are each told, in their language; its
    confirmation page names exactly those who are mailed."""
    move_world(world)
    office = world["office"]
    Membership.objects.filter(organisation=office, user=world["admin_office"]).delete()
    speaks(world["admin_parent"], "hi")
    speaks(world["admin_ka_parent"], "mr")
    client = client_of(world, "superadmin")
    tree = move_reviewed(client, office)
    told = tree.find(id="move-told")
    listed = sorted(li.text().strip() for li in told.find_all("li"))
    assert listed == ["admin@mahaagri.gov.in", "admin@raitamitra.karnataka.gov.in"]
    assert "Agriculture Department, Maharashtra" in text_of(told)
    assert "Agriculture Department, Karnataka" in text_of(told)
    response = move_confirmed(client, office, tree)
    assert response.status_code == 302
    mails = moved_mails()
    assert sorted(mails) == listed
    hindi, marathi = mails["admin@mahaagri.gov.in"], mails["admin@raitamitra.karnataka.gov.in"]
    assert "संदेस" in hindi.subject and "संदेस" in marathi.subject
    assert "Agriculture Department, Maharashtra" in hindi.body and "Agriculture Department, Karnataka" in marathi.body
    # Each says why its reader is told: the one acted for it, the other acts for it from now.
    assert "जो इसके लिए कार्य करते थे" in hindi.body
    assert "जे आतापासून तिच्यासाठी कार्य करतात" in marathi.body
    # The link to its details is for the one who acts for it now: the other can no longer open them.
    details = f"/portal/organisations/{office.pk}/details/"
    assert details in marathi.body and details not in hindi.body
    assert client_of(world, "admin_parent").get(details).status_code == 404
    assert client_of(world, "admin_ka_parent").get(details).status_code == 200
    [event] = events(AuditAction.ORGANISATION_MOVED)
    assert sorted(event.new_values["told"]) == listed
    with translation.override("en"):
        # Each is told why they are told: who lost it, who gained it.
        effect = move_effect(Organisation.objects.get(pk=office.pk), state="MH", parent=world["parent"])
    assert {(one.user.email, one.gains) for one in effect.told} == {
        ("admin@raitamitra.karnataka.gov.in", False), ("admin@mahaagri.gov.in", True)}


def test_an_admin_role_above_resting_on_a_membership_of_the_moved_office_ends_with_the_move(world):
    """An admin of the department granted as a member of the office (the ground
    organisation_admin_grant asks for) has no ground there once the office leaves it: the
    confirmation page says the role ends, and the move ends it as a lapse does (audited,
    by the system, nobody holding it back). A role with another ground below stands."""
    move_world(world)
    office, parent = world["office"], world["parent"]
    member = world["member"]
    Membership.objects.filter(organisation=office, user=member).update(is_active=True)
    organisation_admin_grant(organisation_id=parent.pk, user_id=member.pk, actor=fresh(world["superadmin"]))
    # Another, with a membership of another office below the department too: the role stands.
    other_office = OrganisationFactory(name="District Agriculture Office, Nashik", state="MH", parent=parent)
    both = UserFactory(email="both@pune.mahaagri.gov.in")
    Membership.objects.create(organisation=office, user=both, role="member")
    Membership.objects.create(organisation=other_office, user=both, role="member")
    organisation_admin_grant(organisation_id=parent.pk, user_id=both.pk, actor=fresh(world["superadmin"]))
    assert permissions.may_administer(fresh(member), parent)

    client = client_of(world, "superadmin")
    tree = move_reviewed(client, office)
    ending = text_of(tree.find(id="admin-roles-ending"))
    assert "asha.kulkarni@pune.mahaagri.gov.in" in ending and "Agriculture Department, Maharashtra" in ending
    assert "both@pune.mahaagri.gov.in" not in ending
    # Under "Who is told", the holder is named with the role that ends, as she is mailed.
    told = text_of(tree.find(id="move-told"))
    assert ("The holder of the admin role that ends with the move is told by mail, in their language, that it ended "
            "and why:") in told
    assert "asha.kulkarni@pune.mahaagri.gov.in (Agriculture Department, Maharashtra)" in told
    assert "both@pune.mahaagri.gov.in" not in told
    speaks(member, "mr")
    response = move_confirmed(client, office, tree)
    assert response.status_code == 302
    assert not permissions.may_administer(fresh(member), parent)
    assert permissions.may_administer(fresh(both), parent)
    assert Membership.objects.get(organisation=parent, user=member).role == "member"
    assert not Membership.objects.get(organisation=parent, user=member).is_active
    assert Membership.objects.get(organisation=office, user=member).is_active  # still a member of the office
    [revoked] = [e for e in events(AuditAction.MEMBERSHIP_REVOKED) if e.target_id == str(parent.pk)]
    assert revoked.actor_id is None
    assert revoked.old_values["user"] == member.email
    assert revoked.new_values == {"member": False, "reason": "organisation_moved"}
    assert audit_verify() == []
    # The holder is told, in her language, why her role ended; the one whose role stands is not.
    [told] = [m for m in messages_to(member.email) if "प्रशासक भूमिका संपली" in m.subject]
    assert "Agriculture Department, Maharashtra" in told.subject and "District Agriculture Office, Pune" in told.body
    assert MOVE_WHY in told.body and world["superadmin"].email in told.body and "/accounts/login/" in told.body
    assert not [m for m in messages_to("both@pune.mahaagri.gov.in") if "प्रशासक भूमिका" in m.subject
                or "admin role" in m.subject]


def test_the_superadmin_whose_own_admin_role_ends_with_the_move_is_not_said_to_be_told(world):
    """The superadmin moving the office holds, as a member of it, an admin role of the
    department it leaves: the confirmation says that role ends, but does not say its holder
    is told, as the move mails everyone but the one moving it; nor are they mailed that the
    department it leaves has no admin now; with nobody else mailed it says so."""
    move_world(world)
    office, parent, superadmin = world["office"], world["parent"], world["superadmin"]
    Membership.objects.filter(organisation=office).delete()  # no admin of its own
    Membership.objects.filter(organisation=parent).delete()  # nobody else acts for it where it was
    Membership.objects.create(organisation=office, user=superadmin, role="member")
    second = make_superadmin(email="second.root@nic.in")
    organisation_admin_grant(organisation_id=parent.pk, user_id=superadmin.pk, actor=fresh(second))
    PlatformRoleGrant.objects.filter(user=second).delete()  # gone since: none else acts for it as a superadmin
    Membership.objects.filter(organisation=world["ka_parent"]).delete()  # nobody acts for it where it goes
    client = client_of(world, "superadmin")
    tree = move_reviewed(client, office)
    ending = text_of(tree.find(id="admin-roles-ending"))
    assert superadmin.email in ending
    # The department is left with no admin: the superadmin moving it acts for it, and is not mailed.
    assert ("Agriculture Department, Maharashtra will have no admin who acts for it once the move ends these roles. "
            "Nobody else is told by email: you will act for it, as a superadmin.") in ending
    told = tree.find(id="move-told")
    assert superadmin.email not in text_of(told)
    assert not told.find_all("li")
    assert "Nobody else is told by email" in text_of(told)
    assert "is told by mail" not in text_of(tree)
    OutboxMessage.objects.all().delete()
    response = move_confirmed(client, office, tree)
    assert response.status_code == 302
    assert not Membership.objects.get(organisation=parent, user=superadmin).is_active
    assert [m.subject for m in OutboxMessage.objects.all() if superadmin.email in m.to] == []


def test_the_department_a_move_leaves_with_no_admin_is_said_with_who_then_acts_for_it_and_they_are_told(world):
    """The move ends the department's only admin role (its holder a member of the office):
    the confirmation says the department will have no admin who acts for it and names who
    will (the other superadmin), who is mailed so; the holder is told their role ended."""
    move_world(world)
    office, parent = world["office"], world["parent"]
    member = world["member"]
    Membership.objects.filter(organisation=office, user=member).update(is_active=True)
    organisation_admin_grant(organisation_id=parent.pk, user_id=member.pk, actor=fresh(world["superadmin"]))
    Membership.objects.filter(organisation=parent).exclude(user=member).delete()
    second = make_superadmin(email="second.root@nic.in")
    client = client_of(world, "superadmin")
    tree = move_reviewed(client, office)
    ending = text_of(tree.find(id="admin-roles-ending"))
    assert ("Agriculture Department, Maharashtra will have no admin who acts for it once the move ends these roles. "
            "Those who will act for it instead are told by email, each in their language: second.root@nic.in "
            "(Superadmin)") in ending
    assert world["superadmin"].email not in ending
    OutboxMessage.objects.all().delete()
    response = move_confirmed(client, office, tree)
    assert response.status_code == 302
    without = [m for m in OutboxMessage.objects.all() if "has no admin any more" in m.subject]
    assert [m.to for m in without] == [[second.email]]
    assert "Agriculture Department, Maharashtra" in without[0].subject


def test_an_organisation_left_without_an_admin_is_not_said_to_be_acted_for_by_a_role_the_move_also_ends(world):
    """A member of the unit moved holds the only admin roles of the division above it and
    of the ministry above that: the move ends both. The division is then acted for by the
    superadmins, not by her role in the ministry, which ends with the same move: the page
    says so, as the move mails it (who_acts_for asked as it will be once they end)."""
    move_world(world)
    ministry = OrganisationFactory(name="Ministry of Water Resources", short_code="MOWR", state="MH")
    division = OrganisationFactory(name="Irrigation Division, Nashik", short_code="IRR-NSK", state="MH", parent=ministry)
    unit = OrganisationFactory(name="Dam Safety Unit, Gangapur", short_code="DSU-GNG", state="MH", parent=division)
    holder = make_member(unit, email="meera.patil@wrd.maharashtra.gov.in", full_name="Meera Patil")
    for organisation in (ministry, division):
        organisation_admin_grant(organisation_id=organisation.pk, user_id=holder.pk, actor=fresh(world["superadmin"]))
    second = make_superadmin(email="second.root@nic.in")
    client = client_of(world, "superadmin")
    tree = move_reviewed(client, unit)
    ending = text_of(tree.find(id="admin-roles-ending"))
    for name in ("Ministry of Water Resources", "Irrigation Division, Nashik"):
        assert (f"{name} will have no admin who acts for it once the move ends these roles. Those who will act for "
                "it instead are told by email, each in their language: second.root@nic.in (Superadmin)") in ending
    assert "(Admin of Ministry of Water Resources)" not in ending
    OutboxMessage.objects.all().delete()
    response = move_confirmed(client, unit, tree)
    assert response.status_code == 302
    without = [m for m in OutboxMessage.objects.all() if "no admin" in m.subject]
    assert [m.to for m in without] == [[second.email]]
    assert holder.email not in str([m.to for m in without])


def test_an_admin_role_past_its_end_date_is_not_said_to_be_told_of_the_move(world):
    """A role resting on the office whose end date has passed (not yet recorded as expired)
    ends with the move only as a record: nobody is mailed of it, and the page does not say
    its holder is."""
    move_world(world)
    office, parent, member = world["office"], world["parent"], world["member"]
    Membership.objects.filter(organisation=office, user=member).update(is_active=True)
    organisation_admin_grant(organisation_id=parent.pk, user_id=member.pk, actor=fresh(world["superadmin"]))
    Membership.objects.filter(organisation=parent, user=member).update(ends_at=timezone.now() - timedelta(minutes=5))
    client = client_of(world, "superadmin")
    tree = move_reviewed(client, office)
    assert member.email not in text_of(tree.find(id="move-told"))
    OutboxMessage.objects.all().delete()
    assert move_confirmed(client, office, tree).status_code == 302
    assert not [m for m in OutboxMessage.objects.all() if member.email in m.to]


def test_the_email_domains_it_shared_with_the_line_it_leaves_and_those_of_its_new_line_are_said_before_the_move(world):
    """An office counts as official the domains accepted off the official suffixes for the
    organisations above it (OrganisationDomain.objects.official_for): those of the line it
    leaves stop counting for it, those of its new line start. Its confirmation page names
    both (not a domain under an official suffix, official everywhere), and so does the mail
    to its admins; what the page says is what the rules then answer."""
    from portal.accounts.official_email import classify_email  # noqa: PLC0415
    from portal.organisations.models import OrganisationDomain  # noqa: PLC0415

    move_world(world)
    office = world["office"]
    OrganisationDomain.objects.create(organisation=world["parent"], domain="mahaagri.org.in", is_verified=True,
                                      claim="not_official")
    OrganisationDomain.objects.create(organisation=world["parent"], domain="mahaagri.gov.in", is_verified=True)
    OrganisationDomain.objects.create(organisation=world["ka_parent"], domain="raitamitra.org.in", is_verified=True,
                                      claim="not_official")
    assert classify_email("clerk@mahaagri.org.in", organisation=office).is_official_mail
    assert not classify_email("clerk@raitamitra.org.in", organisation=office).is_official_mail

    client = client_of(world, "superadmin")
    tree = move_reviewed(client, office)
    losing, gaining = text_of(tree.find(id="domains-losing")), text_of(tree.find(id="domains-gaining"))
    assert "mahaagri.org.in" in losing and "mahaagri.gov.in" not in losing and "raitamitra" not in losing
    assert "raitamitra.org.in" in gaining and "mahaagri" not in gaining
    move_confirmed(client, office, tree)
    office = Organisation.objects.get(pk=office.pk)
    assert not classify_email("clerk@mahaagri.org.in", organisation=office).is_official_mail
    assert classify_email("clerk@raitamitra.org.in", organisation=office).is_official_mail
    [told] = messages_to("admin@pune.mahaagri.gov.in")
    assert "mahaagri.org.in" in told.body and "raitamitra.org.in" in told.body


MOVE_COUNTS = {
    "en": ("The office below it stays below it and moves with it.",
           "It is of its old state: it moves to the new one with it.",
           "The 3 offices below it stay below it and move with it.",
           "2 of them, of its old state, move to the new one with it."),
    "hi": ("इसके नीचे का कार्यालय इसके नीचे ही रहता है", "वह इसके पुराने राज्य का है: वह इसके साथ नए राज्य में जाता है।",
           "इसके नीचे के 3 कार्यालय", "जो इसके पुराने राज्य के हैं, इसके साथ नए राज्य में जाते हैं।"),
    "mr": ("तिच्या खालचे कार्यालय तिच्या खालीच राहते", "ते तिच्या जुन्या राज्याचे आहे: ते तिच्यासोबत नव्या राज्यात जाते.",
           "तिच्या खालची 3 कार्यालये", "जी तिच्या जुन्या राज्याची आहेत, तिच्यासोबत नव्या राज्यात जातात."),
}


def test_the_offices_below_and_those_moving_with_it_are_counted_in_each_languages_plural(world):
    """One office below it and three (two of its old state): each count in its own form, in
    English, Hindi (one form for 0 and 1) and Marathi; one office is said without a count
    ("The 1 office below it ... 1 of them" read oddly)."""
    move_world(world)
    office = world["office"]
    client = client_of(world, "superadmin")
    data = {"state": "KA", "parent": "AGRI-KA", "reason": MOVE_WHY, "step": "review"}
    first = OrganisationFactory(name="Taluka Agriculture Office, Haveli", state="MH", parent=office)
    shown_one = {}
    for language in ("en", "hi", "mr"):
        client.cookies["django_language"] = language
        shown_one[language] = text_of(well_formed(client.post(move_url(office), data)))
    OrganisationFactory(name="Taluka Agriculture Office, Mulshi", state="MH", parent=office)
    OrganisationFactory(name="Central office below", state="", level="central", parent=first)
    for language, (one_below, one_moving, three_below, two_moving) in MOVE_COUNTS.items():
        assert one_below in shown_one[language] and one_moving in shown_one[language], language
        client.cookies["django_language"] = language
        shown = text_of(well_formed(client.post(move_url(office), data)))
        assert three_below in shown and two_moving in shown, language


# The move's pages: the same count however many offices are below it and admins at either line.
#   1 session, 2 the user with their platform roles, 3 the organisation (with the one above it):
#   the form. Its confirmation, besides: 4 the organisation named by its short code, 5 the state
#   administrators of both states, 6 the offices below it of its old state, 7 all those below it,
#   8 the organisations it leaves and joins, 9 their admins who act, 10 the admin roles above
#   resting on it (none here: one more for each found, and one to three more for the
#   organisations they leave with no admin: move_leaves_without_admin), 11 the domains of both lines (none off
#   the official suffixes here: with one, one more, the email rules), 12 its admins, who are told.
MOVE_PAGE_QUERIES = 3
MOVE_CONFIRM_QUERIES = 12


@pytest.mark.parametrize("many", [1, 12])
def test_the_move_pages_query_counts(world, many, django_assert_num_queries):
    move_world(world)
    office = world["office"]
    for n in range(many):
        OrganisationFactory(name=f"Taluka Agriculture Office {n}", state="MH", parent=office)
        make_admin(world["parent"], email=f"admin{n}@mahaagri.gov.in")
        make_admin(world["ka_parent"], email=f"admin{n}@raitamitra.karnataka.gov.in")
        make_admin(office, email=f"admin{n}@pune.mahaagri.gov.in")
    client = client_of(world, "superadmin")
    assert client.get(move_url(office)).status_code == 200
    with django_assert_num_queries(MOVE_PAGE_QUERIES):
        assert client.get(move_url(office)).status_code == 200
    with django_assert_num_queries(MOVE_CONFIRM_QUERIES):
        response = client.post(move_url(office), {"state": "KA", "parent": "AGRI-KA", "reason": MOVE_WHY,
                                                  "step": "review"})
    shown = text_of(well_formed(response))
    assert (f"The {many} offices below it stay below it" if many > 1 else "The office below it stays") in shown
    assert f"admin{many - 1}@raitamitra.karnataka.gov.in" in shown
