"""Directory search figures: the time and the queries of one search of the directory of
people (verification/visibility: rules.search_candidates + search_q, through
selectors.directory_search) at a million users, on PostgreSQL.

The data is made here, with COPY (no model instances): ``--users`` accounts (default
1,000,000), each with one government profile (95% verified, 5% waiting) in one of
``--organisations`` organisations (default 2,000); names drawn from 150 given names and 150
family names (so a full name is shared by about 44 people), 40 designations, an employee
code, an official address and a mobile number each. 30% of the organisations have a
visibility policy of their own (random audiences), 2% of the people narrowed theirs.
Columns added to these tables later by other features get their model defaults.

The trigram indexes (migrations visibility 0002 to 0004: since 0004 those of the profiles'
details are of the verified and suspended profiles only) are dropped before the load and made
again after it, as the migrations make them, then the tables are analysed. Searches, each run ``--runs`` times (default 15)
after one warm-up, by three viewers: a verified user of another organisation, an
administrator of one organisation, a signed-in public user. Reported: median and 95th
percentile (ms) per search term and over all of them, the number of people found (first
page of 50), and the queries per search (the viewer's one query is made once per request).

Run (a throw-away database; made if missing, its tables emptied first):
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/portal_bench_directory \
        .venv/bin/python bench/directory_search.py [--users 1000000] [--runs 15] [--keep]
``--keep`` reuses data already loaded by an earlier run of the same size.
"""

import argparse
import random
import statistics
import time
from datetime import UTC, datetime

from _setup import django_setup, postgres_fresh

GIVEN = ("Aarav Aditi Ajay Akash Amit Anand Anil Anita Anjali Ankit Anup Arjun Arun Asha Ashok Bharat Chandra Deepa Deepak "
         "Devendra Dinesh Divya Gaurav Geeta Gopal Hari Harish Hemant Indira Jagdish Jaya Jyoti Kamal Kavita Kiran Krishna "
         "Kumar Lakshmi Lalit Madhu Mahesh Manish Manoj Meena Mohan Mukesh Nadia Naresh Neha Nikhil Nirmala Nitin Pankaj "
         "Parvati Pooja Prakash Pramod Prasad Pratibha Praveen Preeti Priya Rahul Rajesh Rajiv Rakesh Ramesh Rani Ravi "
         "Rekha Ritu Rohit Sachin Sanjay Santosh Sarita Satish Seema Shanti Sharad Shashi Shekhar Shilpa Shweta Sita "
         "Sonia Sudha Sunil Sunita Suresh Sushma Swati Tarun Uma Usha Vandana Varun Vijay Vikas Vikram Vinod Vishal "
         "Yogesh Zoya Abdul Farhan Imran Salma Rehana Gurpreet Harjeet Manpreet Simran Baljit Joseph Mary Thomas Anthony "
         "Lalremruati Tenzing Pema Dorjee Biswajit Subhash Tapas Arpita Moumita Sourav Ananya Karthik Lakshman Murugan "
         "Senthil Revathi Vijayalakshmi Venkatesh Srinivas Padma Naveen Raghu Chaitanya Sai Bhavna Hemlata").split()
FAMILY = ("Sharma Verma Gupta Singh Kumar Yadav Patel Shah Mehta Desai Joshi Kulkarni Deshpande Patil Pawar Jadhav "
          "Shinde More Gaikwad Chavan Reddy Rao Naidu Chowdary Iyer Iyengar Nair Menon Pillai Kurup Das Dutta Ghosh Bose "
          "Banerjee Chatterjee Mukherjee Sen Roy Chakraborty Mishra Tiwari Pandey Dubey Tripathi Shukla Srivastava "
          "Saxena Agarwal Bansal Goyal Jain Khanna Kapoor Malhotra Chopra Arora Bhatia Sethi Gill Sandhu Dhillon Grewal "
          "Bedi Khan Ansari Qureshi Siddiqui Sheikh Hussain Ahmed Mirza Baig Rizvi Fernandes DSouza Pereira Rodrigues "
          "Lobo Thomas George Mathew Kurian Varghese Lyngdoh Sangma Marak Kharkongor Bhutia Lepcha Tamang Gurung Rai "
          "Thapa Hazarika Baruah Bora Gogoi Saikia Kalita Mahanta Sarma Deka Nath Mohanty Panda Behera Sahoo Mahapatra "
          "Swain Jena Rath Nayak Hegde Shetty Kamath Bhat Gowda Murthy Krishnan Subramanian Raman Venkataraman "
          "Natarajan Sundaram Balasubramanian Chandrasekhar Ramachandran Thakur Chauhan Rathore Rajput Solanki Parmar "
          "Vaghela Chaudhary Meena Bairwa Jat Bishnoi Negi Rawat Bisht Kumari").split()
DESIGNATIONS = ("Section Officer, Assistant Section Officer, Under Secretary, Deputy Secretary, Joint Secretary, "
                "Director, Deputy Director, Assistant Director, Scientist B, Scientist C, Technical Officer, "
                "Data Entry Operator, Upper Division Clerk, Lower Division Clerk, Stenographer, Private Secretary, "
                "Accounts Officer, Assistant Accounts Officer, Block Development Officer, Tehsildar, Naib Tehsildar, "
                "District Collector, Sub-Divisional Magistrate, Medical Officer, Staff Nurse, Pharmacist, "
                "Junior Engineer, Assistant Engineer, Executive Engineer, Superintending Engineer, Head Clerk, "
                "Programmer, System Analyst, Librarian, Statistical Officer, Agriculture Officer, Veterinary Officer, "
                "Forest Range Officer, Inspector, Superintendent").split(", ")
TOPICS = ("Agriculture Health Education Revenue Forests Water Resources Rural Development Urban Development Finance "
          "Home Transport Energy Industries Labour Tourism Culture Fisheries Animal Husbandry Cooperation Food Supplies "
          "Public Works Social Welfare Tribal Affairs Women and Child Development Information Technology Planning "
          "Statistics Panchayati Raj Housing Environment Sports Youth Affairs Law Judiciary Prisons Excise Taxation").split()
STATES = "MH KA TN KL AP TG GJ RJ UP MP BR WB OR AS PB HR HP UK JH CG GA".split()

VIEWERS = ("verified user, another organisation", "administrator of one organisation", "public user (signed in)")
TERMS = [
    ("a common family name", "sharma"),
    ("a full name", "priya sharma"),
    ("a given name", "karthik"),
    ("a designation", "section officer"),
    ("a rare designation", "librarian"),
    ("an organisation", "fisheries"),
    ("an employee code, prefix of 1,000", "EMP0001"),
    ("an employee code, exact", "EMP0765432"),
    ("a mobile number", "98700 12345"),
    ("an official address", "priya.sharma.12"),
    ("nothing matches", "zzqxv"),
]


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def _defaults(model, connection):
    """Every column of ``model`` but the id, with its field's default (for what this script does not fill)."""
    row = {}
    for field in model._meta.concrete_fields:
        if field.primary_key:
            continue
        value = field.get_default()
        row[field.column] = None if value is None else field.get_db_prep_save(value, connection)
    return row


def _copy(connection, model, rows):
    defaults = _defaults(model, connection)
    columns = [model._meta.pk.column, *defaults]
    sql = 'COPY "{}" ({}) FROM STDIN'.format(model._meta.db_table, ", ".join(f'"{c}"' for c in columns))
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            full = {**defaults, **row}
            copy.write_row([full[c] for c in columns])


def _trigram_indexes():
    """The directory search's trigram index migrations (each with INDEXES, create and drop)."""
    import importlib

    return [importlib.import_module(f"verification.visibility.migrations.{name}")
            for name in ("0002_directory_search_trigram_indexes", "0003_verified_name_trigram_index",
                         "0004_listable_profiles_trigram_indexes")]


def load(n_users, n_orgs):
    from django.db import connection

    from portal.accounts.models import User
    from portal.organisations.models import Organisation
    from verification.models import GovernmentProfile
    from verification.visibility.models import Audience, PersonalVisibility, ProfileField, VisibilityPolicy, column_of

    rnd = random.Random(20261201)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    migrations = _trigram_indexes()
    with connection.cursor() as cursor:
        for name in (name for indexes in migrations for name in indexes.INDEXES):
            cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
    started = time.perf_counter()
    _copy(connection, Organisation, (
        {"id": i, "name": f"Directorate of {TOPICS[i % len(TOPICS)]}, {rnd.choice(STATES)} {i}",
         "short_code": f"ORG{i}", "org_type": "directorate", "level": "state", "state": rnd.choice(STATES),
         "ancestry": "/", "status": "active", "created_at": now, "activated_at": now}
        for i in range(1, n_orgs + 1)
    ))
    people = [(rnd.choice(GIVEN), rnd.choice(FAMILY)) for _ in range(n_users)]
    _copy(connection, User, (
        {"id": i, "email": f"{given.lower()}.{family.lower()}.{i}@dept{i % n_orgs}.gov.in",
         "full_name": f"{given} {family}", "password": "!", "is_active": True, "date_joined": now}
        for i, (given, family) in enumerate(people, start=1)
    ))
    _copy(connection, GovernmentProfile, (
        {"id": i, "user_id": i, "organisation_id": 1 + i % n_orgs, "designation": DESIGNATIONS[i % len(DESIGNATIONS)],
         "office": f"{TOPICS[(i // 7) % len(TOPICS)]} Section {i % 97}", "employee_code": f"EMP{i:07d}",
         "official_email": f"{given.lower()}.{family.lower()}.{i}@dept{i % n_orgs}.gov.in",
         "mobile": f"+91{9000000000 + i * 7919 % 1000000000}", "requested_at": now,
         **({"status": "verified", "method": "manual", "verified_at": now, "decided_at": now,
             "verified_name": f"{given} {family}"} if i % 20
            else {"status": "pending"})}
        for i, (given, family) in enumerate(people, start=1)
    ))
    audiences = [int(a) for a in Audience.values]
    _copy(connection, VisibilityPolicy, (
        {"organisation_id": org, **{column_of(f): rnd.choice(audiences) for f in ProfileField}}
        for org in range(1, n_orgs + 1) if org % 10 < 3
    ))
    _copy(connection, PersonalVisibility, (
        {"user_id": i, "mobile": int(Audience.NOBODY), "official_email": int(Audience.ADMINS)}
        for i in range(1, n_users + 1, 50)
    ))
    loaded = time.perf_counter() - started
    started = time.perf_counter()

    class Editor:
        def __init__(self, connection):
            self.connection = connection

        def execute(self, sql):
            with connection.cursor() as cursor:
                cursor.execute(sql)

    for indexes in migrations:
        indexes.create(None, Editor(connection))
    with connection.cursor() as cursor:
        for model in (User, Organisation, GovernmentProfile, VisibilityPolicy, PersonalVisibility):
            cursor.execute(f'ANALYZE "{model._meta.db_table}"')
        for model in (User, Organisation, GovernmentProfile):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('\"{model._meta.db_table}\"', 'id'), "
                           f'(SELECT MAX(id) FROM "{model._meta.db_table}"))')
    print(f"loaded {n_users:,} people in {n_orgs:,} organisations with COPY in {loaded:.1f} s; "
          f"trigram indexes and ANALYZE in {time.perf_counter() - started:.1f} s")


def viewers(n_orgs):
    from django.utils import timezone
    from guardian.shortcuts import assign_perm

    from portal.accounts.models import User
    from portal.organisations.models import Membership, Organisation
    from portal.permissions import ADMINISTER_ORGANISATION
    from verification.models import GovernmentProfile

    verified = GovernmentProfile.objects.filter(status="verified").order_by("id").first().user
    admin, created = User.objects.get_or_create(email="bench.admin@dept.gov.in", defaults={"full_name": "Bench Admin"})
    if created:
        organisation = Organisation.objects.get(pk=2)
        Membership.objects.create(organisation=organisation, user=admin, role="admin")
        assign_perm(ADMINISTER_ORGANISATION, admin, organisation)
    public, _ = User.objects.get_or_create(email="bench.public@gmail.com", defaults={"full_name": "Bench Public",
                                                                                   "date_joined": timezone.now()})
    return dict(zip(VIEWERS, (verified, admin, public), strict=True))


def measure(users, runs):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from verification.visibility.rules import viewer_of
    from verification.visibility.selectors import PAGE_SIZE, directory_search

    everything, rows = [], []
    for label, user in users.items():
        for what, term in TERMS:
            user.__dict__.pop("_visibility_viewer", None)
            with CaptureQueriesContext(connection) as viewer_queries:
                viewer_of(user)
            viewer_count = len(viewer_queries)  # (read now: the log is a window on the connection's)
            found = directory_search(user, term, limit=PAGE_SIZE + 1)  # warm-up
            times = []
            for _ in range(runs):
                with CaptureQueriesContext(connection) as captured:
                    started = time.perf_counter()
                    directory_search(user, term, limit=PAGE_SIZE + 1)
                    times.append((time.perf_counter() - started) * 1000)
            everything += times
            rows.append((label, what, term, len(found), viewer_count, len(captured),
                         statistics.median(times), percentile(times, 95)))
    print()
    print("| viewer | search | term | found (first page) | queries | median ms | p95 ms |")
    print("| --- | --- | --- | ---: | ---: | ---: | ---: |")
    for label, what, term, found, vq, q, med, p95 in rows:
        print(f"| {label} | {what} | `{term}` | {min(found, 50)}{'+' if found > 50 else ''} | {vq} + {q} | "
              f"{med:.1f} | {p95:.1f} |")
    print(f"\nall searches ({len(everything)} runs): median {statistics.median(everything):.1f} ms, "
          f"95th percentile {percentile(everything, 95):.1f} ms")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=1_000_000)
    parser.add_argument("--organisations", type=int, default=2_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--keep", action="store_true", help="reuse the data of an earlier run")
    args = parser.parse_args()
    postgres_fresh(keep=args.keep)
    django_setup()
    from django.conf import settings

    settings.DEBUG = False
    if not args.keep:
        load(args.users, args.organisations)
    measure(viewers(args.organisations), args.runs)


if __name__ == "__main__":
    main()
