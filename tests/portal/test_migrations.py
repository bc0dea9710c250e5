"""Upgrading a running portal (deploy/README.md §6): `make migrate` runs once, from one host,
while the previous release's web and worker processes still serve, and only then are they
restarted. So for a while the previous release's code writes to the new schema, and every
write of the running processes goes on while a migration runs.

Migrations are applied here as the executor applies them (the loader's historical state of
the node before, ``schema_editor(atomic=migration.atomic)`` and ``migration.apply``), and a
second PostgreSQL session plays another process of the portal."""

import importlib
import re
from datetime import timedelta
from pathlib import Path

import psycopg
import pytest
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.loader import MigrationLoader
from django.db.migrations.operations import AddField, CreateModel
from django.db.models import NOT_PROVIDED
from django.utils import timezone

from portal.migration_operations import trigram_index_build
from tests.factories import OrganisationFactory, UserFactory
from tests.verification.helpers import GovernmentProfileFactory
from verification.models import GovernmentProfile, VerificationStatus

# Fields a migration adds NOT NULL whose model has, on purpose, no default in the database:
# the previous release's rows are refused rather than written with a value that is wrong.
NO_DATABASE_DEFAULT = {
    # Computed from the parent on every save: '/' would file a sub-organisation written by
    # the code before 0002 at the top, outside its parent's scope.
    ("organisations", "organisation", "ancestry"): "a default would be the wrong place in the tree",
    # Decided from the domain when it is added: a default would take a domain the code before
    # 0003 added as being under an official suffix without that check.
    ("organisations", "organisationdomain", "claim"): "a default would skip the domain's check",
    # The chain head is one row; the code before 0006/0011 creates it only for the first event
    # of an empty log and never seals it: a head without its seal must not be written.
    ("audit", "auditchainhead", "keyed_after_id"): "the head is sealed over these values",
    ("audit", "auditchainhead", "seal"): "the head is sealed over these values",
    ("audit", "auditchainhead", "redacted"): "the head is sealed over these values",
    ("audit", "auditchainhead", "split_after_id"): "the head is sealed over these values",
    # An event the code before 0011 writes after it hashes its personal part whole, after the
    # split: verify_audit would report it as edited for ever. Refused, it rolls back the action
    # it records for the minutes of the migration instead.
    ("audit", "auditevent", "personal_digest"): "the event's hash would not verify",
    ("audit", "auditevent", "personal_keys"): "the event's hash would not verify",
    # One invitation waits per mailbox in an organisation (a unique index on it): invitations
    # the code before 0005 wrote with one default mailbox would take each other's place, and
    # its set-based insert skips a conflict silently.
    ("rosters", "invitation", "mailbox"): "a default would make the code before 0005 drop invitations",
    # A roster's rows are compared by mailbox: rows the code before 0005 staged with one default
    # mailbox would all be duplicates of each other once the new code applies them.
    ("rosters", "rosterrow", "mailbox"): "a default would make every such row a duplicate",
}


def _project_apps():
    """The labels of the portal's own apps (not Django's or a library's, which may be
    installed under the checkout too: make's .venv)."""
    from django.apps import apps

    base = Path(settings.BASE_DIR).resolve()
    return {config.label for config in apps.get_app_configs()
            if base in (path := Path(config.path).resolve()).parents and "site-packages" not in path.parts}


def _not_null_fields_added():
    """(app, model, field, migration) of every NOT NULL field an AddField of the portal's
    migrations adds to a table that existed before that migration (not in an app's initial
    migrations, which make its tables, nor to a model the same migration makes)."""
    loader = MigrationLoader(None, ignore_no_migrations=True)
    ours = _project_apps()
    for (app, name), migration in sorted(loader.disk_migrations.items()):
        if app not in ours or migration.initial:
            continue
        created = {op.name_lower for op in migration.operations if isinstance(op, CreateModel)}
        for op in migration.operations:
            if isinstance(op, AddField) and not op.field.null and not op.field.many_to_many \
                    and op.model_name_lower not in created:
                yield app, op.model_name_lower, op.name_lower, name


def test_every_not_null_field_a_migration_adds_has_a_default_in_the_database():
    """A NOT NULL column added without a default in the database refuses every row the
    previous release writes (it does not know the column) until the restart: a 500 on the
    pages that write them. The default is in the current model (added later by a migration
    of its own when the field was first added without one), or the field is listed above."""
    state = MigrationLoader(None, ignore_no_migrations=True).project_state()
    added = list(_not_null_fields_added())
    assert ("verification", "governmentprofile", "verified_name", "0007_verified_name") in added
    missing = []
    for app, model, field, migration in added:
        current = state.models[app, model].fields.get(field)
        if current is None or (app, model, field) in NO_DATABASE_DEFAULT:
            continue
        if current.db_default is NOT_PROVIDED:
            missing.append(f"{app}.{model}.{field} ({migration})")
    assert missing == []
    stale = [key for key in NO_DATABASE_DEFAULT if key not in {added_[:3] for added_ in added}]
    assert stale == []


@pytest.mark.django_db
def test_the_previous_release_can_ask_to_be_verified_after_the_migration():
    """The release before verification 0007 writes a profile without ``verified_name``."""
    old_apps = MigrationLoader(connection).project_state(
        ("verification", "0006_index_of_profiles_asked_to_confirm")).apps
    OldProfile = old_apps.get_model("verification", "GovernmentProfile")
    person, organisation = UserFactory(), OrganisationFactory()
    OldProfile.objects.create(  # what that release's join_request_create writes
        user_id=person.pk, organisation_id=organisation.pk, designation="Clerk", office="HQ",
        employee_code="E1", official_email=person.email, mobile="+919876543210", status="pending",
        requested_at=timezone.now(), request_language="en", method="", decided_by_email="",
        reason_code="", reason="",
    )
    assert GovernmentProfile.objects.get(user=person, organisation=organisation).verified_name == ""


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("require_postgresql")
def test_the_latest_audit_migration_can_be_rolled_back_and_applied_again():
    """Rolling a release back migrates its apps back (deploy/README.md §6): audit 0029's
    reverse drops its index and leaves pg_trgm, on which the directory's and the duplicate
    warnings' indexes depend (onboarding 0006, visibility 0002 to 0004)."""
    assert MigrationExecutor(connection).loader.graph.leaf_nodes("audit") == [
        ("audit", "0044_organisation_moved_action")]  # after 0029: choices of actions, a column and its trigger (0038)
    # Every app's last migration: migrating audit back also takes back what depends on 0029
    # (a later migration of another app), which the rest of the run's tests need again.
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    try:
        MigrationExecutor(connection).migrate([("audit", "0028_step_assigned_action")])
        assert not _index_exists("audit_trgm_event_actor_email")
        assert _index_exists("visibility_trgm_listed_verified_name")
    finally:
        MigrationExecutor(connection).migrate(leaves)
    assert _index_exists("audit_trgm_event_actor_email")
    assert MigrationExecutor(connection).migration_plan(leaves) == []  # the whole schema back


def _index_exists(name):
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        return cursor.fetchone()[0]


def _other_connection():
    """A second session on the test database, as another web or worker process."""
    params = connection.get_connection_params()
    for name in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(name, None)
    return psycopg.connect(**params, autocommit=True)


def _waits(sql, args=()):
    """Whether ``sql`` from another process waits on a lock (more than 2 s)."""
    with _other_connection() as other:
        try:
            with other.transaction(force_rollback=True):
                other.execute("SET LOCAL lock_timeout = '2s'")
                other.execute(sql, args)
        except psycopg.errors.LockNotAvailable:
            return True
    return False


def _apply_and_probe(app, name, previous, probe):
    """Apply migration ``app.name`` as the executor does and, before its transaction ends
    (when it has one), run ``probe``: what another process can do while it runs."""
    loader = MigrationLoader(connection)
    migration = loader.get_migration(app, name)
    with connection.schema_editor(atomic=migration.atomic) as editor:
        migration.apply(loader.project_state((app, previous)), editor)
        return probe()


def _index_definition(name):
    """The index's definition and whether it is valid (a concurrent build that failed leaves
    an invalid one)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_get_indexdef(indexrelid), indisvalid FROM pg_index WHERE indexrelid = to_regclass(%s)",
                       [name])
        return cursor.fetchone()


AUDIT_INSERT = (
    "INSERT INTO audit_auditevent (created_at, actor_email, actor_role, action, target_type, target_id,"
    " target_repr, old_values, new_values, user_agent, prev_hash, hash, personal_digest, personal_keys)"
    " VALUES (now(), 'someone@nic.in', '', 'user.logged_in', 'user', '1', '', '{}', '{}', '', 'p', md5(random()::text),"
    " '', '[]')"
)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("require_postgresql")
def test_building_the_audit_log_actor_index_lets_audited_writes_go_on():
    """A plain CREATE INDEX in the migration's transaction holds a SHARE lock on the audit log
    for the whole build: every audited action of the running processes waited for it (a
    sign-in waited 14 s at 1,000,000 events). The index is built concurrently; it is the one a
    fresh install has."""
    name = "audit_trgm_event_actor_email"
    before = _index_definition(name)
    with connection.cursor() as cursor:
        cursor.execute(f'DROP INDEX "{name}"')
    waited = _apply_and_probe("audit", "0029_actor_email_trigram_index", "0028_step_assigned_action",
                              lambda: _waits(AUDIT_INSERT))
    assert not waited
    assert _index_definition(name) == before
    assert before[1] is True


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("require_postgresql")
def test_building_the_directory_verified_name_index_lets_profile_writes_go_on():
    """The same for the directory's index of verified names (visibility 0003): every write of a
    government profile waited for its build. (Visibility 0004 replaces it with an index of the
    profiles the directory lists: built here as 0003 builds it, then taken away again.)"""
    name = "visibility_trgm_profile_verified_name"
    profile = GovernmentProfileFactory(status=VerificationStatus.VERIFIED)
    assert _index_definition(name) is None
    try:
        waited = _apply_and_probe(
            "visibility", "0003_verified_name_trigram_index", "0002_directory_search_trigram_indexes",
            lambda: _waits("UPDATE verification_governmentprofile SET office = office WHERE id = %s", [profile.pk]))
        built = _index_definition(name)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
    assert not waited
    assert built == ('CREATE INDEX visibility_trgm_profile_verified_name ON public.verification_governmentprofile '
                     'USING gin (upper((verified_name)::text) gin_trgm_ops)', True)


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("require_postgresql")
def test_building_the_directory_indexes_of_listed_profiles_lets_profile_writes_go_on():
    """The same for the directory's indexes of the profiles it lists (visibility 0004), which
    replace those of every profile: they are the ones a fresh install has."""
    migration = importlib.import_module("verification.visibility.migrations.0004_listable_profiles_trigram_indexes")
    profile = GovernmentProfileFactory(status=VerificationStatus.VERIFIED)
    before = {listed: _index_definition(listed) for listed in migration.INDEXES}
    with connection.cursor() as cursor:
        for listed in before:
            cursor.execute(f'DROP INDEX "{listed}"')
    waited = _apply_and_probe(
        "visibility", "0004_listable_profiles_trigram_indexes", "0003_verified_name_trigram_index",
        lambda: _waits("UPDATE verification_governmentprofile SET office = office WHERE id = %s", [profile.pk]))
    assert not waited
    # (Compared with the definition PostgreSQL gives one just made: an index rebuilt when a
    # test changed a column's type and back is the same index, written another way.)
    held = "WHERE ((status)::text = ANY ((ARRAY['verified'::character varying, 'suspended'::character varying])::text[]))"
    assert {listed: _index_definition(listed) for listed in before} == {
        listed: (f"CREATE INDEX {listed} ON public.{table} USING gin (upper(({column})::text) gin_trgm_ops) {held}", True)
        for listed, (table, column) in migration.INDEXES.items()}
    assert all(definition[1] is True and "WHERE" in definition[0] for definition in before.values())
    assert not any(_index_exists(every) for every in migration.REPLACES.values())


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("require_postgresql")
def test_building_the_members_order_index_lets_profile_writes_go_on():
    """The same for the index the members page reads an organisation's members by, in its
    order (verification 0016): built concurrently, it is the one a fresh install has."""
    name = "verification_members_order_idx"
    profile = GovernmentProfileFactory(status=VerificationStatus.VERIFIED)
    before = _index_definition(name)
    with connection.cursor() as cursor:
        cursor.execute(f'DROP INDEX "{name}"')
    waited = _apply_and_probe(
        "verification", "0016_members_order_index", "0015_confirmation_mailed_at",
        lambda: _waits("UPDATE verification_governmentprofile SET office = office WHERE id = %s", [profile.pk]))
    assert not waited
    assert _index_definition(name) == before
    assert before[1] is True and "(organisation_id, lower((verified_name)::text), id)" in before[0]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("require_postgresql")
def test_filling_the_verified_names_leaves_the_profiles_free_to_change(monkeypatch):
    """verification 0008 filled every held profile's verified name in one UPDATE inside the
    migration's transaction: every verified profile stayed locked until all were done, and a
    suspension, revocation or reinstatement of the running processes waited (34 s at 300,000
    profiles). It fills them a batch at a time, each in a transaction of its own, and fills
    the same: the held profiles without one get their account's name, the others keep theirs."""
    migration = importlib.import_module("verification.migrations.0008_fill_verified_names")
    monkeypatch.setattr(migration, "BATCH", 2, raising=False)  # several batches of a few profiles
    verified = [GovernmentProfileFactory(status=VerificationStatus.VERIFIED, verified_name="") for _ in range(4)]
    suspended = GovernmentProfileFactory(status=VerificationStatus.SUSPENDED, verified_name="")
    named = GovernmentProfileFactory(status=VerificationStatus.VERIFIED, verified_name="Asha Rao")
    pending = GovernmentProfileFactory(status=VerificationStatus.PENDING, verified_name="")
    revoked = GovernmentProfileFactory(status=VerificationStatus.REVOKED, verified_name="")
    waited = _apply_and_probe(
        "verification", "0008_fill_verified_names", "0007_verified_name",
        lambda: _waits("UPDATE verification_governmentprofile SET office = office WHERE id = %s", [verified[0].pk]))
    assert not waited
    for profile in [*verified, suspended]:
        profile.refresh_from_db()
        assert profile.verified_name == profile.user.full_name != ""
    assert [GovernmentProfile.objects.get(pk=p.pk).verified_name for p in (named, pending, revoked)] == ["Asha Rao", "", ""]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("require_postgresql")
def test_the_reminders_of_the_last_day_stop_counting_against_their_authority_mailbox(monkeypatch):
    """onboarding 0017 marks which links were the deadline sweep's reminders (no longer
    counted against the mailbox's day): those of the last 24 hours, the only ones counted, by
    the moment their step was reminded, which no other link of the step has; a submission's
    or a new link's is not marked. The marking runs after the column is added, outside its
    lock: the running processes read the links meanwhile."""
    from onboarding.approval.tokens import token_build
    from onboarding.models import AuthorityToken
    from tests.factories import ApplicationFactory, ApprovalStepFactory

    now = timezone.now()
    step = ApprovalStepFactory(application=ApplicationFactory(), stage="authority", assignee_email="director@mahaagri.gov.in",
                               opened_at=now - timedelta(days=5), due_at=now + timedelta(days=2),
                               reminded_at=now - timedelta(hours=3))
    old_step = ApprovalStepFactory(application=ApplicationFactory(), stage="authority",
                                   assignee_email="director@mahaagri.gov.in", opened_at=now - timedelta(days=9),
                                   due_at=now - timedelta(days=1), reminded_at=now - timedelta(days=3))
    links = {}
    for name, at, of in [("submitted", step.opened_at, step), ("reminder", step.reminded_at, step),
                         ("resent", now - timedelta(hours=1), step), ("old reminder", old_step.reminded_at, old_step)]:
        _raw, row = token_build(step=of, email=of.assignee_email, now=at)
        row.save()
        links[name] = row.pk
    with connection.cursor() as cursor:
        cursor.execute('ALTER TABLE "onboarding_authoritytoken" DROP COLUMN "reminder"')
    waited = []
    loader = MigrationLoader(connection)
    migration = loader.get_migration("onboarding", "0019_authority_token_reminder")
    mark = migration.operations[1].code

    def mark_and_probe(apps, schema_editor):  # while it marks: an authority opens their link
        waited.append(_waits("SELECT id FROM onboarding_authoritytoken WHERE id = %s", [links["submitted"]]))
        mark(apps, schema_editor)

    monkeypatch.setattr(migration.operations[1], "code", mark_and_probe)
    with connection.schema_editor(atomic=migration.atomic) as editor:
        migration.apply(loader.project_state(("onboarding", "0018_authority_mailbox_indexes")), editor)
    assert waited == [False]
    marked = dict(AuthorityToken.objects.values_list("pk", "reminder"))
    assert {name: marked[pk] for name, pk in links.items()} == {
        "submitted": False, "reminder": True, "resent": False, "old reminder": False}


def _apply_then_unapply(app, name, previous):
    """Apply migration ``app.name`` as the executor does, then take it back: what a rollback
    of the release runs (deploy/README.md §6)."""
    loader = MigrationLoader(connection)
    migration = loader.get_migration(app, name)
    before = loader.project_state((app, previous))
    with connection.schema_editor(atomic=migration.atomic) as editor:
        after = migration.apply(before.clone(), editor)
    yield
    with connection.schema_editor(atomic=migration.atomic) as editor:
        migration.unapply(after, editor)
    yield


@pytest.mark.django_db
@pytest.mark.usefixtures("require_postgresql")
def test_the_names_of_invitations_still_pending_and_of_rosters_still_to_apply_are_composed():
    """Roster cells are stored composed (NFC) since names were (verification 0010), but the
    invitations a roster made before kept their names as the file wrote them: a "ज़" written
    as one character (U+095B) in a pending invitation was a different name from the same
    roster's cell uploaded again, whose row was then counted "Details changed" instead of
    unchanged. The invitations still pending have their name, designation and office
    composed, and so have the staged rows still to apply (they become invitations and
    verifications); the accepted and cancelled invitations and the rows applied or refused
    are records, left as they are. Taking the migration back changes nothing."""
    from verification.rosters import staging
    from verification.rosters.models import Invitation, InvitationStatus, RosterImport, RosterRow, RowOutcome

    admin, organisation = UserFactory(), OrganisationFactory()
    now = timezone.now()
    one, two = "\u095b", "\u091c\u093c"  # ज़ as one character (not NFC), and as NFC writes it
    name, designation, office = f"{one}ाकिर हुसैन", f"{one}िला समन्वयक", f"Cafe\u0301 {one}ोन"
    composed_name, composed_designation, composed_office = (f"{two}ाकिर हुसैन", f"{two}िला समन्वयक",
                                                            f"Caf\u00e9 {two}ोन")

    def invitation(code, status=InvitationStatus.PENDING):
        return Invitation.objects.create(
            organisation=organisation, email=f"{code}@mahaagri.gov.in", name=name, designation=designation,
            office=office, employee_code=code, mobile="+919876543210", status=status, invited_by=admin,
            token_hash=code.ljust(64, "0"), created_at=now, sent_at=now, expires_at=now + timedelta(days=30))

    def roster(status, outcome=RowOutcome.INVITE, *, done=False):
        made = RosterImport.objects.create(organisation=organisation, uploaded_by=admin, uploaded_at=now,
                                           file_name="staff.csv", file_sha256="0" * 64, file_format="csv", status=status)
        RosterRow.objects.create(roster=made, line=2, name=name, email="b1@mahaagri.gov.in", mailbox="b1@mahaagri.gov.in",
                                 mobile="+919876543210", designation=designation, office=office, employee_code="E1",
                                 outcome=outcome, done=done)
        return made

    pending, accepted, cancelled = invitation("a1"), invitation("a2", "accepted"), invitation("a3", "cancelled")
    waiting, applied, refused = (roster("previewed"), roster("applied", done=True),
                                 roster("previewed", RowOutcome.REFUSED))
    details = ("name", "designation", "office")

    steps = _apply_then_unapply("rosters", "0007_names_composed", "0006_one_pending_invitation_per_mailbox")
    next(steps)
    assert Invitation.objects.values_list(*details).get(pk=pending.pk) == (composed_name, composed_designation,
                                                                           composed_office)
    for record in (accepted, cancelled):
        assert Invitation.objects.values_list(*details).get(pk=record.pk) == (name, designation, office)
    assert RosterRow.objects.values_list(*details).get(roster=waiting) == (composed_name, composed_designation,
                                                                           composed_office)
    for record in (applied, refused):
        assert RosterRow.objects.values_list(*details).get(roster=record) == (name, designation, office)

    # The same person's row uploaded again, as a roster's cells are stored now (composed):
    # unchanged, the invitation waiting with the same details.
    again = RosterImport.objects.create(organisation=organisation, uploaded_by=admin, uploaded_at=now,
                                        file_name="staff.csv", file_sha256="1" * 64, file_format="csv")
    RosterRow.objects.create(roster=again, line=2, name=composed_name, email="a1@mahaagri.gov.in",
                             mailbox="a1@mahaagri.gov.in", mobile="+919876543210", designation=composed_designation,
                             office=composed_office, employee_code="a1", outcome=RowOutcome.INVITE)
    staging.classify(again)
    assert RosterRow.objects.get(roster=again).outcome == RowOutcome.UNCHANGED

    next(steps)  # taken back: nothing changes
    assert Invitation.objects.values_list(*details).get(pk=pending.pk) == (composed_name, composed_designation,
                                                                           composed_office)


@pytest.mark.django_db
@pytest.mark.usefixtures("require_postgresql")
def test_composing_the_pending_invitations_never_cuts_their_details():
    """A roster checked each cell's length as the file wrote it: an office of OFFICE_MAX
    characters with a "ज़" written as one character was a valid pending invitation. Composed
    (NFC writes it as two) it no longer fits, and the migration's bulk_update, which casts each
    value to varchar(200) on PostgreSQL, cut its last characters silently: what the person
    is verified with, and what the same roster uploaded again is compared with. Such an
    invitation is left as it is; the others are composed."""
    from portal.text import composed
    from verification.rosters.models import NAME_MAX, OFFICE_MAX, Invitation, InvitationStatus

    admin, organisation = UserFactory(), OrganisationFactory()
    now = timezone.now()
    one = "\u095b"  # ज़ as one character, as the file wrote it

    def invitation(code, name, office):
        return Invitation.objects.create(
            organisation=organisation, email=f"{code}@mahaagri.gov.in", mailbox=f"{code}@mahaagri.gov.in", name=name,
            designation=f"{one}िला समन्वयक", office=office, employee_code=code, mobile="+919876543210",
            status=InvitationStatus.PENDING, invited_by=admin, token_hash=code.ljust(64, "0"), created_at=now,
            sent_at=now, expires_at=now + timedelta(days=30))

    long_office = (f"कार्यालय {one}िला परिषद, " * 20)[:OFFICE_MAX - 6] + " पुणे"
    long_name = (f"{one}ाकिर हुसैन " * 20)[:NAME_MAX - 5] + " ख़ान"
    assert len(long_office) <= OFFICE_MAX < len(composed(long_office))
    assert len(long_name) <= NAME_MAX < len(composed(long_name))
    office_too_long = invitation("z1", f"{one}ाकिर हुसैन", long_office)
    name_too_long = invitation("z2", long_name, "Pune")
    fits = invitation("z3", f"{one}ाकिर हुसैन", f"{one}िला परिषद, पुणे")

    steps = _apply_then_unapply("rosters", "0007_names_composed", "0006_one_pending_invitation_per_mailbox")
    next(steps)
    details = ("name", "designation", "office")
    assert Invitation.objects.values_list(*details).get(pk=office_too_long.pk) == (
        f"{one}ाकिर हुसैन", f"{one}िला समन्वयक", long_office)
    assert Invitation.objects.values_list(*details).get(pk=name_too_long.pk) == (long_name, f"{one}िला समन्वयक", "Pune")
    assert Invitation.objects.values_list(*details).get(pk=fits.pk) == (
        composed(f"{one}ाकिर हुसैन"), composed(f"{one}िला समन्वयक"), composed(f"{one}िला परिषद, पुणे"))
    next(steps)


# The competent authorities' links and steps: what the running release reads when an authority
# opens their link, and writes when an officer submits or the deadline sweep sends a reminder.
AUTHORITY_TABLES = ("onboarding_authoritytoken", "onboarding_approvalstep")
AUTHORITY_INDEXES = ("authority_token_mailbox_idx", "open_authority_step_email_idx")


def _writes_wait():
    """The tables of AUTHORITY_TABLES another process could not write to (nor, at an ACCESS
    EXCLUSIVE lock, read) now: its ROW EXCLUSIVE lock, which every write takes, waits."""
    return [table for table in AUTHORITY_TABLES if _waits(f'LOCK TABLE "{table}" IN ROW EXCLUSIVE MODE')]


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("require_postgresql")
def test_upgrading_to_the_authority_links_mailboxes_lets_the_running_release_open_and_write_links(
    monkeypatch, officer
):
    """onboarding 0015 added the links' mailbox column, built its index and filled every link's
    mailbox in the migration's one transaction, and 0016 built the open authority steps' index in
    its own: the lock of the ALTER TABLE (ACCESS EXCLUSIVE) and of a plain CREATE INDEX (SHARE)
    were held until the last link was filled and the last index built, and no process of the
    running release could open a link (an authority following the link in their mail), write one
    (a submission, the deadline sweep's reminders) or decide a step meanwhile. Upgrading from
    0014 now adds the columns alone (cheap, with their database default), fills the mailboxes a
    batch at a time, each in a transaction of its own, and builds the indexes concurrently; the
    schema, indexes and filled mailboxes are those of a fresh install."""
    from onboarding.models import AuthorityToken
    from portal.accounts import mail_limits
    from tests.factories import application_with_authority

    # Several batches of a few links, in the migration that fills them.
    fill = next(operation.code for (app, _name), migration in MigrationLoader(None).disk_migrations.items()
                if app == "onboarding" for operation in migration.operations
                if getattr(operation, "code", None) and operation.code.__name__ == "mailboxes_fill")
    monkeypatch.setattr(importlib.import_module(fill.__module__), "BATCH", 2)
    token = AuthorityToken.objects.get(step__application=application_with_authority(nodal_officer=officer))
    now = timezone.now()
    for n, written in enumerate(["Director.Agri@Maharashtra.GOV.in", "director.agri+reminder@maharashtra.gov.in",
                                 "secretary@mahaagri.gov.in", "SECRETARY+2@mahaagri.gov.in"]):
        AuthorityToken.objects.create(step=token.step, token_hash=str(n).rjust(64, "0"), email=written,
                                      created_at=now, expires_at=now + timedelta(days=7), superseded_at=now)
    tokens = dict(AuthorityToken.objects.values_list("pk", "email"))
    definitions = {name: _index_definition(name) for name in AUTHORITY_INDEXES}
    assert all(valid for _definition, valid in definitions.values())
    leaves = MigrationExecutor(connection).loader.graph.leaf_nodes()
    MigrationExecutor(connection).migrate([("onboarding", "0014_document_language_default_in_database")])
    waited, filled = [], []
    real = mail_limits.mailbox_key

    def filling(address):  # while a link's mailbox is filled
        filled.append(address)
        waited.extend(f"filling the mailboxes: {table}" for table in _writes_wait())
        return real(address)

    def building(execute, sql, params, many, context):  # once an index on those tables is built
        result = execute(sql, params, many, context)
        if re.match(r"\s*CREATE (UNIQUE )?INDEX", sql, re.IGNORECASE) and any(table in sql for table in AUTHORITY_TABLES):
            waited.extend(f"{sql[:80]}: {table}" for table in _writes_wait())
        return result

    monkeypatch.setattr(mail_limits, "mailbox_key", filling)
    try:
        with connection.execute_wrapper(building):
            MigrationExecutor(connection).migrate(leaves)
    finally:
        monkeypatch.undo()
        MigrationExecutor(connection).migrate(leaves)  # the rest of the run's tests need the schema whole
    assert waited == []
    assert filled == [tokens[pk] for pk in sorted(tokens)]  # several batches of two
    assert dict(AuthorityToken.objects.values_list("pk", "mailbox")) == {pk: real(email) for pk, email in tokens.items()}
    assert set(AuthorityToken.objects.values_list("mailbox", flat=True)) == {
        real(token.email), "director.agri@maharashtra.gov.in", "secretary@mahaagri.gov.in"}
    assert {name: _index_definition(name) for name in AUTHORITY_INDEXES} == definitions


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("require_postgresql")
def test_a_trigram_index_a_stopped_build_left_invalid_is_built_again_and_a_whole_one_kept():
    """portal.migration_operations.trigram_index_build, which audit 0029 and visibility 0003 and
    0004 run: a concurrent build that stopped (a deploy killed, a lock timeout) leaves an invalid
    index of the name, which IF NOT EXISTS alone would keep for good; the next run builds it
    again. A whole one is left as it is."""
    name = "audit_trgm_event_actor_email"

    def oid():
        with connection.cursor() as cursor:
            cursor.execute("SELECT to_regclass(%s)::oid", [name])
            return cursor.fetchone()[0]

    whole = oid()
    with connection.schema_editor(atomic=False) as editor:
        trigram_index_build(editor, name, "audit_auditevent", "actor_email")
    assert oid() == whole
    with connection.cursor() as cursor:
        cursor.execute("UPDATE pg_index SET indisvalid = false WHERE indexrelid = to_regclass(%s)", [name])
    assert _index_definition(name)[1] is False
    with connection.schema_editor(atomic=False) as editor:
        trigram_index_build(editor, name, "audit_auditevent", "actor_email")
    assert _index_definition(name) == (
        f"CREATE INDEX {name} ON public.audit_auditevent USING gin (upper((actor_email)::text) gin_trgm_ops)", True)
    assert oid() != whole
