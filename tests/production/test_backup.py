"""Backup and restore as deploy/README.md tells the administrator: pg_dump of the
profile's database, restored into a new database, passes verify_audit with the same
number of events."""

import re
import shlex
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


def walkthrough_section(heading):
    text = (ROOT / "deploy" / "README.md").read_text()
    return text.split(f"\n{heading}", 1)[1].split("\n## ", 1)[0]


def test_the_restore_puts_back_the_local_files_the_backup_copied(tmp_path):
    """On a single host (STORAGE_S3_BUCKET empty) the letters and PDFs are files in /var/lib/portal/files:
    deploy/README.md section 7 copies them with rsync, and section 8 copies them back, owned by the
    portal's account again (rsync run as root keeps the owner's number, another on a new host), or the
    restored rows name files that are not there. Its commands, run on folders of the test's."""
    [backup] = [line for line in walkthrough_section("## 7. Backups").splitlines()
                if line.startswith("rsync ") and "/var/lib/portal/files" in line]
    restore_section = walkthrough_section("## 8. Restore")
    restore = [line for line in restore_section.splitlines() if line.startswith("rsync ") and "/var/lib/portal" in line]
    assert restore, "section 8 never copies /var/backups/portal/files back"
    chown = restore_section.find("chown -R portal:portal /var/lib/portal/files")
    assert chown > restore_section.find(restore[0]), "the restored files are not given back to the portal's account"

    def run_as_written(line):
        words = [word.replace("/var/", f"{tmp_path}/var/", 1) for word in shlex.split(line)]
        subprocess.run([shutil.which(words[0]) or words[0], *words[1:]], check=True, capture_output=True, timeout=60)

    files = tmp_path / "var/lib/portal/files"
    (files / "letters/2026/12").mkdir(parents=True)
    (files / "letters/2026/12/signed-letter.pdf").write_bytes(b"%PDF-1.7 letter")
    (files / "documents").mkdir()
    (files / "documents/ONB-2026-000001-v3-en.pdf").write_bytes(b"%PDF-1.7 form")
    (tmp_path / "var/backups/portal").mkdir(parents=True)
    written = {path.relative_to(files): path.read_bytes() for path in files.rglob("*") if path.is_file()}
    run_as_written(backup)
    shutil.rmtree(files)  # the host lost, or a new one
    for line in restore:
        run_as_written(line)
    assert {path.relative_to(files): path.read_bytes() for path in files.rglob("*") if path.is_file()} == written
