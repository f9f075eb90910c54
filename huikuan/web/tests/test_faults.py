"""Faults (issue 19): a process killed with SIGKILL in the middle of its work, then the work run again.

- a statement batch: the statements issued before the kill stay, the batch is resumed once its heartbeat is
  stale, and each customer ends with exactly one statement in it;
- an import commit: one transaction, so the kill leaves nothing; the rerun imports every row once;
- a dunning run killed inside a chunk's transaction by the daily scheduler: the committed chunks stay, the
  next `huikuan daily` resumes the unfinished job, closes the dead run as interrupted and dunns every
  customer exactly once;
- the dunning outbox killed in the middle of a batch: only the message in flight is in doubt, the rest of
  the batch is sent by the next worker, nothing is sent twice;
- a bank statement import killed while applying its lines: importing the file again stores no line twice
  and applies the rest.

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


# ---------------------------------------------------------------- dunning

DUNNING_SEED = f"""
import datetime as dt
from decimal import Decimal
from django.contrib.auth import get_user_model
from huikuan.accounts.models import Company, Role
from huikuan.customers import services as cs
from huikuan.customers.models import Contact
from huikuan.dunning.models import DunningSettings
from huikuan.ledger import services as ls
company = Company.objects.create(code="F01", name="故障测试有限公司")
u = get_user_model().objects.create_user(username="boss", password="pw-123456", role=Role.ADMIN, display_name="boss")
u.companies.add(company)
DunningSettings.objects.create(company=company, quiet_start=dt.time(0, 0), quiet_end=dt.time(0, 0), working_days_only=False)
for n in range({CUSTOMERS}):
    c = cs.create_customer(company=company, actor=u, code=f"K{{n:03d}}", name=f"故障测试客户{{n:03d}}有限公司")
    Contact.objects.create(customer=c, name="财务", email=f"k{{n:03d}}@example.cn", phone=f"1390000{{n:04d}}", is_primary=True)
    ls.post_document(company=company, customer_id=c.pk, document_date=dt.date(2026, 10, 5), total=Decimal("1000.00"),
                     actor=u, number=f"INV-{{n:03d}}")
"""
DUNNING_DAY = "2026-10-13"  # eight days after the due date: the default policy's +7 step (email and SMS)


def _dunned_once(db):
    """Every customer has exactly one notice (one item) at the step, each notice one delivery per channel and one
    audit event."""
    assert db.execute("SELECT count(*), count(DISTINCT customer_id) FROM dunning_notice").fetchone() == (CUSTOMERS, CUSTOMERS)
    assert db.execute("SELECT count(*), count(DISTINCT instalment_id) FROM dunning_noticeitem").fetchone() == (
        CUSTOMERS, CUSTOMERS)
    assert db.execute("SELECT channel, count(*), count(DISTINCT notice_id) FROM dunning_delivery GROUP BY channel "
                      "ORDER BY channel").fetchall() == [("email", CUSTOMERS, CUSTOMERS), ("sms", CUSTOMERS, CUSTOMERS)]
    assert _one(db, "SELECT count(*) FROM common_auditevent WHERE verb = 'dunning.notice.created'") == CUSTOMERS
    assert _one(db, "SELECT count(DISTINCT target_id) FROM common_auditevent WHERE verb = 'dunning.notice.created'") == CUSTOMERS


def test_dunning_run_killed_inside_a_chunk_is_resumed_by_the_next_daily_run_without_duplicates(database, tmp_path):
    env, db = database["env"], database["db"]
    _run(env, "manage.py", "shell", "--no-imports", "-c", DUNNING_SEED)
    mark = tmp_path / "inside-chunk-3"
    # the scheduler's daily run, with chunks of 4 customers; the third chunk's transaction stops after its notices
    # and items were inserted (before its deliveries and events) and waits there to be killed
    killed = f"""
import pathlib, time
from django.core.management import call_command
from huikuan.dunning import services as ds
ds.CHUNK_CUSTOMERS = 4
real, calls = ds._first_runs, []
def first_runs(run, chunk, steps):
    calls.append(1)
    if len(calls) == 3:
        pathlib.Path({str(mark)!r}).write_text("inside")
        time.sleep(600)
    return real(run, chunk, steps)
ds._first_runs = first_runs
call_command("daily", as_of={DUNNING_DAY!r})
"""
    proc = subprocess.Popen([sys.executable, "manage.py", "shell", "--no-imports", "-c", killed], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _kill_when(proc, mark.exists)
    # the two committed chunks stay whole; nothing of the third (its transaction died with the process)
    assert _one(db, "SELECT count(*) FROM dunning_notice") == 8
    assert _one(db, "SELECT count(*) FROM dunning_noticeitem") == 8
    assert _one(db, "SELECT count(*) FROM dunning_delivery") == 16
    assert _one(db, "SELECT count(*) FROM common_auditevent WHERE verb = 'dunning.notice.created'") == 8
    run_id, status = db.execute("SELECT id, status FROM dunning_dunningrun").fetchone()
    assert status == "running"
    assert _one(db, "SELECT count(*) FROM common_jobrun WHERE name LIKE 'dunning-run:%%' AND finished_at IS NULL") == 1

    # the process is gone (its heartbeat stops): the next daily run resumes the unfinished job
    db.execute("UPDATE dunning_dunningrun SET heartbeat_at = now() - interval '11 minutes' WHERE id = %s", [run_id])
    out = _run(env, "manage.py", "daily", "--as-of", DUNNING_DAY)
    assert "dunning-run" in out
    _dunned_once(db)
    runs = db.execute("SELECT id, status, notices, items FROM dunning_dunningrun ORDER BY id").fetchall()
    assert runs == [(run_id, "interrupted", 8, 8), (runs[1][0], "done", CUSTOMERS - 8, CUSTOMERS - 8)]
    assert _one(db, "SELECT count(*) FROM common_auditevent WHERE verb = 'dunning.run.interrupted'") == 1
    assert db.execute("SELECT ok, detail LIKE 'resumed after an interrupted run%%' FROM common_jobrun "
                      "WHERE name LIKE 'dunning-run:%%'").fetchall() == [(True, True)]
    # and once more: the day is done, nothing new
    _run(env, "manage.py", "daily", "--as-of", DUNNING_DAY)
    _run(env, "-m", "huikuan.cli", "dunning", "run", "--as-of", DUNNING_DAY, "--company", "F01", "--no-send")
    _dunned_once(db)


class _SlowSmtp:
    """An SMTP server that takes a while per message and remembers each message's delivery key."""

    def __init__(self):
        self.keys = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd hook name
        import asyncio
        import email

        await asyncio.sleep(0.3)
        self.keys.append(email.message_from_bytes(envelope.content)["X-Huikuan-Delivery"])
        return "250 OK"


def test_outbox_killed_in_the_middle_of_a_batch_sends_the_rest_once_and_nothing_twice(database, tmp_path):
    pytest.importorskip("aiosmtpd")
    import socket

    from aiosmtpd.controller import Controller

    env, db = database["env"], database["db"]
    _run(env, "manage.py", "shell", "--no-imports", "-c", DUNNING_SEED)
    _run(env, "-m", "huikuan.cli", "dunning", "run", "--as-of", DUNNING_DAY, "--company", "F01", "--no-send")
    _dunned_once(db)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    sink = _SlowSmtp()
    smtp = Controller(sink, hostname="127.0.0.1", port=port)
    smtp.start()
    env = {**env, "HUIKUAN_EMAIL_HOST": "127.0.0.1", "HUIKUAN_EMAIL_PORT": str(port), "HUIKUAN_EMAIL_FROM": "ar@example.cn"}
    sms_log = Path(env["HUIKUAN_DATA_DIR"]) / "outbox" / "sms.log"
    try:
        proc = subprocess.Popen([sys.executable, "-m", "huikuan.cli", "dunning", "send"], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _kill_when(proc, lambda: len(sink.keys) >= 5)
        sent_before = len(sink.keys)
        assert sent_before < CUSTOMERS
        # at most the row in flight is "sending"; the rest of the claimed batch was never attempted: still pending
        assert _one(db, "SELECT count(*) FROM dunning_delivery WHERE status = 'sending'") <= 1
        assert _one(db, "SELECT count(*) FROM dunning_delivery WHERE status = 'pending'") >= CUSTOMERS - sent_before - 1
        # a worker at once leaves the dead worker's lease alone …
        _run(env, "-m", "huikuan.cli", "dunning", "send")
        assert len(sink.keys) == sent_before
        # … and once the lease (and the in-flight row's staleness) has run out, sends the rest
        db.execute("UPDATE dunning_delivery SET next_attempt_at = now() - interval '1 minute' "
                   "WHERE status = 'pending' AND next_attempt_at > now()")
        db.execute("UPDATE dunning_delivery SET updated_at = now() - interval '16 minutes' WHERE status = 'sending'")
        _run(env, "-m", "huikuan.cli", "dunning", "send")
    finally:
        smtp.stop()
    assert len(sink.keys) == len(set(sink.keys)), "an email was sent twice"
    sms_keys = [json.loads(line)["key"] for line in sms_log.read_text(encoding="utf-8").splitlines()]
    assert len(sms_keys) == len(set(sms_keys)), "an SMS was sent twice"
    by_status = dict(db.execute("SELECT status, count(*) FROM dunning_delivery GROUP BY status").fetchall())
    # only the row in flight at the kill may be in doubt: failed "interrupted, check the provider", never resent
    assert by_status.get("sent", 0) >= 2 * CUSTOMERS - 1 and set(by_status) <= {"sent", "failed"}
    assert by_status.get("sent", 0) + by_status.get("failed", 0) == 2 * CUSTOMERS
    sent = {k for (k,) in db.execute("SELECT idempotency_key FROM dunning_delivery WHERE status = 'sent'").fetchall()}
    assert sent <= set(sink.keys) | set(sms_keys)


# ---------------------------------------------------------------- bank statement import

BANK_LINES = 200

BANK_SEED = f"""
import datetime as dt
from decimal import Decimal
from django.contrib.auth import get_user_model
from huikuan.accounts.models import Company, Role
from huikuan.banking.models import BankAccount
from huikuan.customers import services as cs
from huikuan.ledger import services as ls
company = Company.objects.create(code="F01", name="故障测试有限公司")
u = get_user_model().objects.create_user(username="boss", password="pw-123456", role=Role.ADMIN, display_name="boss")
u.companies.add(company)
BankAccount.objects.create(company=company, bank="招商银行", account_number="755912345610001", currency="CNY")
for n in range({CUSTOMERS}):
    c = cs.create_customer(company=company, actor=u, code=f"K{{n:03d}}", name=f"故障测试客户{{n:03d}}有限公司")
    for k in range({BANK_LINES // CUSTOMERS}):
        ls.post_document(company=company, customer_id=c.pk, document_date=dt.date(2026, 10, 5),
                         total=Decimal(f"{{1000 + n * 10 + k}}.{{n:02d}}"), actor=u, number=f"INV-{{n:03d}}-{{k}}")
"""


def test_bank_import_killed_while_applying_is_completed_by_importing_the_file_again(database, tmp_path):
    env, db = database["env"], database["db"]
    _run(env, "manage.py", "shell", "--no-imports", "-c", BANK_SEED)
    path = tmp_path / "招商银行流水.csv"
    per = BANK_LINES // CUSTOMERS
    rows = ["交易日期,流水号,借方发生额,贷方发生额,对方户名,对方账号,用途"]
    for i in range(BANK_LINES):
        n, k = divmod(i, per)
        rows.append(f"2026-10-20,HK{i:05d},,{1000 + n * 10 + k}.{n:02d},故障测试客户{n:03d}有限公司,62220210{n:08d},INV-{n:03d}-{k}")
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    argv = ["-m", "huikuan.cli", "bank", "import", str(path), "--company", "F01", "--user", "boss"]
    applied = "SELECT count(*) FROM banking_bankline WHERE status = 'auto_applied'"
    proc = subprocess.Popen([sys.executable, *argv], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    _kill_when(proc, lambda: _one(db, applied) >= 10)
    before = _one(db, applied)
    assert before < BANK_LINES
    assert _one(db, "SELECT count(*) FROM banking_bankline") == BANK_LINES  # the lines were stored at once
    assert _one(db, "SELECT count(*) FROM ledger_credit WHERE kind = 'payment'") == before  # one payment per applied line

    out = _run(env, *argv)
    assert f"{BANK_LINES} lines, 0 new, {BANK_LINES} already imported" in out, out
    assert _one(db, "SELECT count(*) FROM banking_bankline") == BANK_LINES
    assert _one(db, "SELECT count(DISTINCT serial) FROM banking_bankline") == BANK_LINES
    assert _one(db, applied) == BANK_LINES
    assert db.execute("SELECT count(*), count(DISTINCT credit_id) FROM banking_bankline").fetchone() == (BANK_LINES, BANK_LINES)
    assert _one(db, "SELECT count(*) FROM ledger_credit WHERE kind = 'payment'") == BANK_LINES
    assert _one(db, "SELECT count(*) FROM ledger_instalment WHERE open_amount <> 0") == 0  # each invoice paid once
    _run(env, "manage.py", "check_ledger")
