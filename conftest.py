"""Shared fixtures: a company, users per role, a customer, and the ledger check after money tests."""

import datetime as dt
import os
import re
import time

import pytest
from django.db import OperationalError

from huikuan.accounts.models import Company, Role, Team, User
from huikuan.customers.models import Customer, PaymentTerm


def _deletes_for_truncate(sql_list):
    """PostgreSQL's flush is one TRUNCATE of every table: a new file for each of ~100 tables and their indexes,
    4.6–5.7 s against 0.11–0.24 s for a DELETE FROM each (100 small tables, bench/flush_cost.py, PERFORMANCE
    "Test suite"). Under the replica role neither the foreign keys nor the guards fire, so the order of the
    DELETEs does not matter. A flush that also resets sequences (RESTART IDENTITY) or cascades to tables it does
    not list (CASCADE) is left as it is."""
    out = []
    for sql in sql_list:
        m = re.fullmatch(r"TRUNCATE ((?:\"[^\"]+\"(?:, )?)+);", sql.strip())
        if m is None:
            out.append(sql)
            continue
        # EXCLUSIVE waits, as TRUNCATE did, for a live-server request still writing, so its rows go too
        out.append(f"LOCK TABLE {m.group(1)} IN EXCLUSIVE MODE")
        out.extend(f"DELETE FROM {table}" for table in m.group(1).split(", "))
    return out


def _flush_past_append_only_guards():
    """Transactional tests (live server, PostgreSQL races) end with a flush of every table: TRUNCATE on
    PostgreSQL, DELETE FROM on SQLite — which the append-only triggers of ledger entries, allocations
    and audit events refuse (ledger migration 0009). The test flush, and nothing else, runs with them
    lifted inside its own transaction: on PostgreSQL ``session_replication_role = replica`` (superuser
    only; the test role is one), on SQLite the guard triggers are dropped and re-created from their
    stored SQL in the same transaction."""
    from django.db.backends.base.operations import BaseDatabaseOperations

    original = BaseDatabaseOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        if self.connection.vendor == "postgresql":
            sql_list = _deletes_for_truncate(sql_list)
            # a browser journey's last request can still be running in a live-server thread when the
            # test ends; its row locks and the TRUNCATE's table locks may then deadlock — wait and retry
            for attempt in range(6):
                try:
                    return original(self, ["SET LOCAL session_replication_role = replica", *sql_list])
                except OperationalError as exc:
                    if "deadlock" not in str(exc) or attempt == 5:
                        raise
                    time.sleep(0.5 * (attempt + 1))
        if self.connection.vendor == "sqlite":
            with self.connection.cursor() as cur:
                cur.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND name GLOB '*_append_only_*'")
                guards = cur.fetchall()
            return original(self, [*(f'DROP TRIGGER "{name}"' for name, _sql in guards), *sql_list,
                                   *(sql for _name, sql in guards)])
        return original(self, sql_list)

    BaseDatabaseOperations.execute_sql_flush = execute_sql_flush


_flush_past_append_only_guards()

if not os.environ.get("HUIKUAN_TEST_FIT_EVERY_TIME"):  # set it to fit the prediction model on every call again
    from tests import training_memo

    training_memo.install()

# What gives a test the database: pytest-django refuses every query of a test that requests none of these,
# is not a Django TestCase with `databases` and has no fixture of its own unblocking the database through
# `django_db_blocker` (pytest-django's autouse fixtures request that one for every test) — so such a test
# cannot depend on the backend.
_DB_FIXTURES = frozenset({"_django_db_helper", "db", "transactional_db", "django_db_reset_sequences",
                          "django_db_serialized_rollback", "live_server", "django_db_setup"})


def _touches_database(item) -> bool:
    if item.get_closest_marker("django_db") is not None:
        return True
    names = getattr(item, "fixturenames", ())
    if _DB_FIXTURES.intersection(names):
        return True
    cls = getattr(item, "cls", None)
    if cls is not None and getattr(cls, "databases", None):
        return True
    info = getattr(item, "_fixtureinfo", None)
    for defs in (info.name2fixturedefs.values() if info else ()):
        for fd in defs:
            if "django_db_blocker" in fd.argnames and not fd.func.__module__.startswith("pytest_django"):
                return True
    return False


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """Mark `db_agnostic` every test that cannot reach the database (see _touches_database): scripts/run-tests
    runs those in the SQLite pass only, since a second backend cannot change their outcome."""
    for item in items:
        if not _touches_database(item):
            item.add_marker(pytest.mark.db_agnostic)


@pytest.fixture(autouse=True)
def _fresh_cache():
    """Throttle and rate-limit counters live in the cache: each test starts with none spent."""
    from django.core.cache import cache

    cache.clear()
    yield


@pytest.fixture
def company(db, _fast_password_hasher):
    return Company.objects.create(code="T01", name="测试科技有限公司", bank_name="招商银行",
                                  bank_account_number="6225 0000 0000 0001")


def _user(company, username, role, team=None):
    u = User.objects.create_user(username=username, password="pw-123456", role=role, team=team,
                                 display_name=username)
    u.companies.add(company)
    return u


@pytest.fixture
def users(company):
    east = Team.objects.create(name="East")
    west = Team.objects.create(name="West")
    out = {r.value: _user(company, r.value, r.value) for r in Role}
    out["finance2"] = _user(company, "finance2", Role.FINANCE)
    out["sales_east"] = _user(company, "sales_east", Role.SALESPERSON, east)
    out["sales_west"] = _user(company, "sales_west", Role.SALESPERSON, west)
    out["manager_east"] = _user(company, "manager_east", Role.SALES_MANAGER, east)
    return out


@pytest.fixture
def finance(users):
    return users["finance"]


@pytest.fixture
def net30(company):
    return PaymentTerm.objects.create(company=company, code="N30", name="Net 30", kind="net", days=30)


@pytest.fixture
def customer(company, users, net30):
    return Customer.objects.create(company=company, code="C001", name="上海华东机械有限公司",
                                   owner=users["sales_east"], payment_term=net30)


@pytest.fixture
def other_customer(company, users, net30):
    return Customer.objects.create(company=company, code="C002", name="广州南方贸易有限公司",
                                   owner=users["sales_west"], payment_term=net30)


@pytest.fixture
def day():
    return dt.date(2026, 3, 2)


@pytest.fixture(autouse=True)
def _ledger_consistent(request):
    """After every test that touched the database, the ledger invariants must hold."""
    yield
    if "db" in request.fixturenames or "transactional_db" in request.fixturenames:
        from django.db import connection

        if connection.connection is None and not connection.in_atomic_block:
            return
        from huikuan.ledger.checks import check_ledger

        try:
            problems = check_ledger()
        except Exception:  # database already torn down / test broke its transaction on purpose
            return
        assert problems == [], problems


@pytest.fixture(autouse=True)
def _fast_password_hasher(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _no_language_leak():
    """A test (or a task it runs) that activates a language must not change the next test's."""
    from django.utils import translation

    yield
    translation.deactivate()


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """PostgreSQL test sessions commit without waiting for the WAL flush (`synchronous_commit = off`): what a
    transaction sees, locks and makes visible is unchanged — only a crash of the server could lose the last
    commits, of a throw-away test database. The suite commits a lot (migrations, transactional tests and
    their TRUNCATE, live-server requests) and each flush waited ~8 ms for the disk on this machine."""
    from django.conf import settings

    for db in settings.DATABASES.values():
        if db["ENGINE"].endswith("postgresql"):
            options = db.setdefault("OPTIONS", {})
            options["options"] = f"{options.get('options', '')} -c synchronous_commit=off".strip()


def pytest_configure(config):
    """The xdist controller makes the directory its workers share for the run's migrated template
    (tests/dbtemplate.py): set before the workers start, so they inherit it."""
    if hasattr(config, "workerinput") or not getattr(config.option, "numprocesses", None):
        return
    import tempfile

    from tests import dbtemplate

    os.environ[dbtemplate.RUN_DIR_ENV] = tempfile.mkdtemp(prefix="hk-testrun-")


def pytest_sessionfinish(session):
    import shutil

    from tests import dbtemplate

    if hasattr(session.config, "workerinput") or not os.environ.get(dbtemplate.RUN_DIR_ENV):
        return
    if dbtemplate.pg_template_name():
        from django.db import connection
        from pytest_django.plugin import blocking_manager_key

        try:
            with session.config.stash[blocking_manager_key].unblock():
                dbtemplate.drop_pg_template(connection)
        except Exception as exc:  # the server gone: the next run's template replaces it anyway
            print(f"could not drop the test template database: {exc!r}")
    shutil.rmtree(os.environ[dbtemplate.RUN_DIR_ENV], ignore_errors=True)


@pytest.fixture(scope="session")
def django_db_setup(request, django_test_environment, django_db_blocker, django_db_use_migrations, django_db_keepdb,
                    django_db_createdb, django_db_modify_db_settings):
    """pytest-django's test database setup, except under xdist: each worker's database is a clone of the run's
    migrated template (tests/dbtemplate.py), so a run migrates once per backend instead of once per worker."""
    from django.db import connection
    from django.test.utils import setup_databases, teardown_databases

    from tests import dbtemplate

    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker and os.environ.get(dbtemplate.RUN_DIR_ENV) and django_db_use_migrations and not django_db_keepdb:
        with django_db_blocker.unblock():
            old_name, clone = dbtemplate.setup_worker_database(connection, worker)
        yield
        with django_db_blocker.unblock():
            dbtemplate.teardown_worker_database(connection, old_name, clone)
        return
    if not django_db_use_migrations:
        from pytest_django.fixtures import _disable_migrations

        _disable_migrations()
    with django_db_blocker.unblock():
        db_cfg = setup_databases(verbosity=request.config.option.verbose, interactive=False,
                                 keepdb=bool(django_db_keepdb and not django_db_createdb))
    yield
    if not django_db_keepdb:
        with django_db_blocker.unblock():
            teardown_databases(db_cfg, verbosity=request.config.option.verbose)
