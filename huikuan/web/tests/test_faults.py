"""Faults (issue 19): a process killed with SIGKILL in the middle of its work, then the work run again.

- a statement batch: the statements issued before the kill stay, the batch is resumed once its heartbeat is
  stale, and each customer ends with exactly one statement in it;
- an import commit: one transaction, so the kill leaves nothing; the rerun imports every row once.

Each runs the real command in a child process on its own PostgreSQL database (PostgreSQL pass only).
"""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .conftest import child_env

ROOT = Path(__file__).resolve().parents[3]
CUSTOMERS = 40

SEED = f"""
import datetime as dt
from decimal import Decimal
from django.contrib.auth import get_user_model
from huikuan.accounts.models import Company, Role
from huikuan.customers import services as cs
from huikuan.ledger import services as ls
from huikuan.statements.models import StatementBatch
company = Company.objects.create(code="F01", name="故障测试有限公司")
u = get_user_model().objects.create_user(username="boss", password="pw-123456", role=Role.ADMIN, display_name="boss")
u.companies.add(company)
for n in range({CUSTOMERS}):
    c = cs.create_customer(company=company, actor=u, code=f"K{{n:03d}}", name=f"故障测试客户{{n:03d}}有限公司")
    ls.post_document(company=company, customer_id=c.pk, document_date=dt.date(2026, 10, 5), total=Decimal("1000.00"),
                     actor=u, number=f"INV-{{n:03d}}")
b = StatementBatch.objects.create(company=company, period_from=dt.date(2026, 10, 1), period_to=dt.date(2026, 10, 31),
                                  selection={{"with_balance": True}}, created_by=u)
print(b.pk)
"""


@pytest.fixture
def database(pg_clone, tmp_path):
    psycopg = pytest.importorskip("psycopg")
    admin, name, url = pg_clone
    env = child_env(url, tmp_path, HUIKUAN_SECRET_KEY="faults-" + "k" * 50)
    db = psycopg.connect(url, autocommit=True)
    try:
        yield {"env": env, "db": db, "admin": admin, "name": name}
    finally:
        db.close()


def _run(env, *argv, timeout=300) -> str:
    r = subprocess.run([sys.executable, *argv], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def _kill_when(proc, check, *, timeout=240):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            pytest.fail("the process ended before it could be killed in the middle of its work")
        if check():
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=30)
            return
        time.sleep(0.2)
    proc.kill()
    pytest.fail("the work never reached the point to kill it at")


def _one(db, sql, params=()):
    return db.execute(sql, params).fetchone()[0]


def test_statement_batch_killed_midway_resumes_with_one_statement_per_customer(database):
    env, db = database["env"], database["db"]
    batch_id = int(_run(env, "manage.py", "shell", "--no-imports", "-c", SEED).strip().splitlines()[-1])
    run = f"from huikuan.statements.tasks import run_statement_batch; run_statement_batch.call({batch_id})"
    proc = subprocess.Popen([sys.executable, "manage.py", "shell", "--no-imports", "-c", run], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    issued = "SELECT count(*) FROM statements_statement WHERE batch_id = %s"
    _kill_when(proc, lambda: _one(db, "SELECT done FROM statements_statementbatch WHERE id = %s", [batch_id]) >= 10)
    before = _one(db, issued, [batch_id])
    assert 10 <= before < CUSTOMERS
    assert _one(db, "SELECT status FROM statements_statementbatch WHERE id = %s", [batch_id]) == "running"
    # a second worker does not take a batch whose heartbeat is fresh …
    _run(env, "manage.py", "shell", "--no-imports", "-c", run)
    assert _one(db, issued, [batch_id]) == before
    # … but once it is stale (the worker is gone), the resume finishes it
    db.execute("UPDATE statements_statementbatch SET heartbeat_at = now() - interval '6 minutes' WHERE id = %s", [batch_id])
    resume = (f"from huikuan.statements.models import StatementBatch; from huikuan.statements import services as st; "
              f"from huikuan.statements.tasks import run_statement_batch; b = StatementBatch.objects.get(pk={batch_id}); "
              f"st.resume_batch(user=b.created_by, batch=b); run_statement_batch.call({batch_id})")
    _run(env, "manage.py", "shell", "--no-imports", "-c", resume)
    assert db.execute("SELECT status, done, total FROM statements_statementbatch WHERE id = %s", [batch_id]).fetchone() == (
        "done", CUSTOMERS, CUSTOMERS)
    rows = db.execute("SELECT count(*), count(DISTINCT customer_id), count(DISTINCT number) FROM statements_statement "
                      "WHERE batch_id = %s", [batch_id]).fetchone()
    assert rows == (CUSTOMERS, CUSTOMERS, CUSTOMERS)


def test_import_commit_killed_midway_leaves_nothing_and_the_rerun_imports_every_row_once(database, tmp_path):
    env, db = database["env"], database["db"]
    _run(env, "manage.py", "shell", "--no-imports", "-c", SEED)
    rows = 10000
    path = tmp_path / "应收单.csv"
    with path.open("w", newline="", encoding="utf-8-sig") as f:
        w = csv.writer(f)
        w.writerow(["单据编号", "单据日期", "客户编码", "价税合计"])
        for n in range(rows):
            w.writerow([f"AR{n:05d}", "2026年10月5日", f"K{n % CUSTOMERS:03d}", "100.00"])
    docs = "SELECT count(*) FROM ledger_receivabledocument WHERE number LIKE 'AR%%'"
    argv = [sys.executable, "-m", "huikuan.cli", "import", "documents", str(path), "--company", "F01", "--user", "boss",
            "--commit"]
    proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def writing():  # the commit's transaction is inserting rows: its progress file says so
        for f in tmp_path.rglob("*.progress.json"):
            try:
                p = json.loads(f.read_text())
            except (OSError, ValueError):
                continue
            if p.get("phase") == "writing" and 0 < p.get("done", 0) < p.get("total", 0):
                return True
        return False

    _kill_when(proc, writing)
    assert _one(db, docs) == 0  # nothing of the unfinished transaction is left after the kill
    out = _run(env, "-m", "huikuan.cli", "import", "documents", str(path), "--company", "F01", "--user", "boss", "--commit")
    assert _one(db, docs) == rows, out
    assert _one(db, "SELECT count(DISTINCT number) FROM ledger_receivabledocument WHERE number LIKE 'AR%%'") == rows
    assert _one(db, "SELECT count(*) FROM imports_importjob WHERE status = 'done'") == 1


def test_database_restart_under_requests_gives_503_then_the_same_server_recovers(database, tmp_path):
    """What the application sees of a PostgreSQL restart or failover: every connection is cut and new ones are
    refused for a while. (The shared server is not restarted: other tests run on it at the same time.)"""
    import re
    import socket

    httpx = pytest.importorskip("httpx")
    env, admin, name = database["env"], database["admin"], database["name"]
    _run(env, "manage.py", "shell", "--no-imports", "-c", SEED)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    log = open(tmp_path / "serve.log", "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "-m", "huikuan.cli", "serve", "--no-migrate", "--no-worker", "--no-schedule",
                             "--port", str(port), "--threads", "4"], cwd=ROOT, env=env, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        end = time.monotonic() + 120
        while True:
            try:
                if httpx.get(base + "/login/", timeout=5).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < end and proc.poll() is None, "the server did not start"
            time.sleep(0.5)
        c = httpx.Client(base_url=base, timeout=30, headers={"Accept-Language": "zh-hans"})
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', c.get("/login/").text).group(1)
        r = c.post("/login/", data={"username": "boss", "password": "pw-123456", "csrfmiddlewaretoken": token},
                   headers={"Referer": base + "/login/"})
        assert r.status_code == 302
        assert c.get("/").status_code == 200
        assert c.get("/api/v1/customers/").status_code == 200

        # the database goes away: connections cut, new ones refused
        admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        admin.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", [name])
        r = c.get("/")
        assert r.status_code == 503 and r.headers["Retry-After"] == "30" and "无法连接数据库" in r.text
        r = c.get("/api/v1/customers/")
        assert r.status_code == 503 and r.json()["error"]["code"] == "database_unavailable"

        # it is back: the same process serves again, no restart
        admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
        assert c.get("/").status_code == 200
        assert c.get("/api/v1/customers/").status_code == 200
        assert proc.poll() is None
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(timeout=30)
        log.close()
