import pytest
from django.db import connection

from huikuan.common.dbstats import refresh_statistics, stale_tables
from huikuan.common.models import JobRun

pytestmark = pytest.mark.django_db


def _recorded(table):
    with connection.cursor() as cur:
        cur.execute("SELECT stat FROM sqlite_stat1 WHERE tbl = %s", [table])
        return [int(r[0].split()[0]) for r in cur.fetchall()]


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite has no autovacuum")
def test_tables_whose_size_moved_are_analyzed_once():
    import datetime as dt

    table = JobRun._meta.db_table
    JobRun.objects.bulk_create([JobRun(name=f"job-{i}", date=dt.date(2026, 1, 1)) for i in range(30)])
    assert table in stale_tables(min_rows=10)
    assert table in refresh_statistics(min_rows=10)
    assert _recorded(table) and max(_recorded(table)) == 30
    assert table not in stale_tables(min_rows=10)  # analyzed: current now
    JobRun.objects.bulk_create([JobRun(name=f"more-{i}", date=dt.date(2026, 1, 2)) for i in range(5)])
    assert table not in stale_tables(min_rows=10)  # +17 % is under the 20 % threshold
    JobRun.objects.bulk_create([JobRun(name=f"most-{i}", date=dt.date(2026, 1, 3)) for i in range(30)])
    assert table in refresh_statistics(min_rows=10)
    assert max(_recorded(table)) == 65


@pytest.mark.skipif(connection.vendor == "sqlite", reason="PostgreSQL")
def test_postgresql_leaves_it_to_autovacuum():
    assert refresh_statistics(min_rows=0) == []


@pytest.mark.django_db
def test_analyze_refreshes_planner_statistics_on_postgresql_too():
    from django.db import connection

    from huikuan.common.dbstats import analyze

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only (the SQLite path is covered above)")
    with connection.cursor() as cur:
        cur.execute("SELECT reltuples FROM pg_class WHERE relname = 'common_jobrun'")
        assert cur.fetchone()[0] < 0  # never analyzed
        analyze("common_jobrun")
        cur.execute("SELECT reltuples FROM pg_class WHERE relname = 'common_jobrun'")
        assert cur.fetchone()[0] >= 0
