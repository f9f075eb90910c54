"""Several machines (issue 19): two full ``huikuan serve`` nodes — each with its web server, task worker and
daily scheduler — on one PostgreSQL database and one Redis.

- both serve the same data;
- tasks enqueued before they start are each run exactly once, by one of the two workers;
- the daily jobs run once per company and day, whichever node's scheduler takes the lock;
- sign-in failures spread over the two nodes add up (the limit is in Redis), so the address is refused on both.
"""

import os
import re
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from .conftest import child_env

ROOT = Path(__file__).resolve().parents[3]
REDIS = os.environ.get("HUIKUAN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
TASKS = 24
LIMIT = 6  # failed sign-ins per address

SEED = f"""
from django.contrib.auth import get_user_model
from huikuan.accounts.models import Company, Role
from huikuan.dunning.tasks import process_outbox
company = Company.objects.create(code="N01", name="双节点测试有限公司")
u = get_user_model().objects.create_user(username="boss", password="pw-123456", role=Role.ADMIN, display_name="boss")
u.companies.add(company)
for _ in range({TASKS}):
    process_outbox.enqueue()
"""

REPORT = """
import json
from django_tasks_db.models import DBTaskResult
from huikuan.common.models import JobRun
rows = list(DBTaskResult.objects.values_list("status", "worker_ids"))
runs = list(JobRun.objects.values_list("name", "date", "ok", "finished_at"))
print(json.dumps({"tasks": rows, "runs": [[n, str(d), ok, f is not None] for n, d, ok, f in runs]}))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _manage(env, *args, timeout=300) -> str:
    r = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=timeout)
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def _wait(check, *, timeout: float, what: str):
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        last = check()
        if last:
            return last
        time.sleep(1)
    pytest.fail(f"timed out waiting for {what}: {last!r}")


@pytest.fixture
def cluster(pg_clone, tmp_path):
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis is not reachable")
    _admin, _name, url = pg_clone
    env = child_env(url, tmp_path, REDIS_URL=REDIS, HUIKUAN_CACHE_PREFIX=f"nodes-{uuid.uuid4().hex}",
                    HUIKUAN_SECRET_KEY="two-nodes-" + "k" * 50, HUIKUAN_LOGIN_FAILURES_PER_ADDRESS=str(LIMIT),
                    PYTHONUNBUFFERED="1")
    nodes = []
    try:
        _manage(env, "shell", "--no-imports", "-c", SEED)
        for label in ("a", "b"):
            port = _free_port()
            log = open(tmp_path / f"node-{label}.log", "w")  # noqa: SIM115 - closed below
            proc = subprocess.Popen([sys.executable, "-m", "huikuan.cli", "serve", "--no-migrate", "--port", str(port),
                                     "--threads", "2"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            nodes.append((f"http://127.0.0.1:{port}", proc, log))
        yield {"env": env, "urls": [u for u, _p, _l in nodes], "logs": [tmp_path / f"node-{x}.log" for x in "ab"]}
    finally:
        for _u, proc, log in nodes:
            try:
                os.killpg(proc.pid, 15)  # the node and its worker and scheduler children
                proc.wait(timeout=30)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(proc.pid, 9)
            log.close()


def _login(httpx, base: str, username: str, password: str):
    with httpx.Client(base_url=base, timeout=30, follow_redirects=False) as c:
        page = c.get("/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        return c.post("/login/", data={"username": username, "password": password, "csrfmiddlewaretoken": token},
                      headers={"Referer": base + "/login/"})


def test_two_serve_nodes_share_one_database_one_worker_pool_one_schedule_and_limits(cluster):
    import json

    httpx = pytest.importorskip("httpx")

    def up():
        try:
            return all(httpx.get(u + "/login/", timeout=5).status_code == 200 for u in cluster["urls"])
        except httpx.HTTPError:
            return False

    _wait(up, timeout=120, what="both nodes to answer")

    def report():
        data = json.loads(_manage(cluster["env"], "shell", "--no-imports", "-c", REPORT).strip().splitlines()[-1])
        tasks_done = len(data["tasks"]) >= TASKS and all(s == "SUCCESSFUL" for s, _w in data["tasks"])
        runs_done = data["runs"] and all(finished for *_x, finished in data["runs"])
        return data if tasks_done and runs_done else None

    data = _wait(report, timeout=240, what="the tasks and the daily jobs")
    # every task ran once, by one worker; both workers were running (each node started one)
    assert all(len(workers) == 1 for _s, workers in data["tasks"]), data["tasks"]
    # the daily jobs of the company ran once each for the day, and succeeded
    names = [(n, d) for n, d, _ok, _f in data["runs"]]
    assert len(names) == len(set(names)) and all(ok for _n, _d, ok, _f in data["runs"]), data["runs"]
    from huikuan.common.jobs import DAILY_JOBS

    assert {n.split(":")[0] for n, _d in names} == {n for n, _f in DAILY_JOBS}

    # sign-in failures spread over both nodes add up in Redis: the address is refused on both
    a, b = cluster["urls"]
    assert _login(httpx, a, "boss", "pw-123456").status_code == 302
    for i in range(LIMIT):
        r = _login(httpx, (a, b)[i % 2], f"nobody{i}", "Winter2026!")
        assert r.status_code == 200, r.status_code
    assert _login(httpx, b, "boss", "pw-123456").status_code == 429
    assert _login(httpx, a, "boss", "pw-123456").status_code == 429
    logs = "".join(p.read_text() for p in cluster["logs"])
    assert "Traceback" not in logs, logs[-3000:]
