"""Backup and restore as deploy/README.md tells the administrator: pg_dump of the
profile's database, restored into a new database, passes verify_audit with the same
number of events."""

import re
import shutil
import subprocess

from tests.production.stack import ROOT, database_create, database_url


def test_a_pg_dump_restored_into_a_new_database_passes_verify_audit_with_the_same_count(production, journey, tmp_path):
    stack = production.stack
    count = int(stack.manage("shell", "-c", "from portal.audit.models import AuditEvent; print(AuditEvent.objects.count())")
                .strip().splitlines()[-1])
    assert count > production.audit_events  # the journey added its own
    original = stack.manage("verify_audit")
    assert re.search(rf"Audit chain intact: {count} events verified", original), original

    dump = tmp_path / "portal.dump"
    subprocess.run([shutil.which("pg_dump"), "--format=custom", "--no-owner", f"--file={dump}",
                    stack.env["DATABASE_URL"].replace("postgres://", "postgresql://", 1)],
                   check=True, capture_output=True, timeout=300)
    restored = f"{stack.database}_restored"
    database_create(restored)
    stack.databases.append(restored)
    subprocess.run([shutil.which("pg_restore"), "--no-owner", "--exit-on-error",
                    f"--dbname={database_url(restored).replace('postgres://', 'postgresql://', 1)}", str(dump)],
                   check=True, capture_output=True, timeout=300)
    output = stack.manage("verify_audit", env=stack.env | {"DATABASE_URL": database_url(restored)})
    assert re.search(rf"Audit chain intact: {count} events verified", output), output


def test_the_walkthrough_makes_the_backup_folder_pg_dump_writes_as_postgres():
    """deploy/README.md section 7 runs pg_dump as postgres into /var/backups/portal: a step before it
    makes that folder, owned by postgres (Debian has no such folder, and /var/backups is root's)."""
    walkthrough = (ROOT / "deploy" / "README.md").read_text()
    dump = walkthrough.index("sudo -u postgres pg_dump")
    assert "--file=/var/backups/portal/" in walkthrough[dump:walkthrough.index("\n", dump)]
    assert re.search(r"^install -d -o postgres -g postgres -m 0750 /var/backups/portal$", walkthrough[:dump], re.M)
