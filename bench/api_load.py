"""API list endpoints under concurrent load (issue 3: p95 ≤ 200 ms with 20 concurrent clients).

    createdb -h 127.0.0.1 -U postgres -T huikuan_bench hk_api_load      # it writes an API key: use a clone
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hk_api_load HUIKUAN_API_USER_RATE=100000/s \\
        HUIKUAN_DEMO=1 .venv/bin/huikuan serve --port 8765 --processes 2 --threads 2 --no-worker --no-schedule --no-migrate &
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hk_api_load .venv/bin/python bench/api_load.py \\
        --url http://127.0.0.1:8765 --clients 20 --seconds 15 [--reports] [--server-pid PID]

Issues an API key for the bench company's finance user through ``issue_api_key`` (so the database
must be a scratch clone), then, for each endpoint in turn, runs ``wrk`` (Debian's package; a load
generator in C, so the load itself costs little CPU on this 2-core machine) with ``--clients``
connections for ``--warmup`` seconds (discarded) and then ``--seconds``, and prints the requests per
second, p50 / p95 / p99 / max
latency and the failures (non-200 answers, socket errors). The server's per-user throttle is raised
with HUIKUAN_API_USER_RATE so that the test measures latency, not the throttle; a per-second rate keeps
DRF's throttle history (one timestamp per request within the window, pickled to the cache on every
request) as short as in production, where a per-minute rate of 1,000,000 would grow it to 10,000+
entries.

``--server-pid`` (the server's master pid, on this machine) adds the CPU per request that the server's processes
and their PostgreSQL backends used during each measured run (``/proc``), and the load average at its start: the
CPU is the throughput's limit on a busy machine and, unlike the latencies, changes little with other work.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

HERE = Path(__file__).resolve().parent
ENDPOINTS = [
    ("customers", "/api/v1/customers/"),
    ("customers page 50", "/api/v1/customers/?page=50"),
    ("customers search 上海", "/api/v1/customers/?q=%E4%B8%8A%E6%B5%B7"),
    ("customers search sh", "/api/v1/customers/?q=sh"),
    # issue 19: a frequent term of four characters and rare ones (found in a few hundred customers, in ten)
    ("customers search 科技有限", "/api/v1/customers/?q=%E7%A7%91%E6%8A%80%E6%9C%89%E9%99%90"),
    ("customers search 华东机", "/api/v1/customers/?q=%E5%8D%8E%E4%B8%9C%E6%9C%BA"),
    ("customers search B00012", "/api/v1/customers/?q=B00012"),
    ("documents", "/api/v1/documents/"),
    ("documents open", "/api/v1/documents/?open=true"),
    ("payments", "/api/v1/payments/"),
    ("orders", "/api/v1/orders/"),
]
REPORTS = [
    ("aging (total only, today)", "/api/v1/aging/?group_by=none"),
    ("aging by customer (today, page of 100)", "/api/v1/aging/?group_by=customer&page_size=100"),
]


def issue_key(company_code: str) -> str:
    import django

    django.setup()
    from huikuan.accounts.models import Company, Role, User
    from huikuan.api.services import issue_api_key

    company = Company.objects.get(code=company_code) if company_code else \
        Company.objects.filter(code__startswith="BENCH").order_by("-pk").first()
    finance = User.objects.filter(role=Role.FINANCE, companies=company).order_by("pk").first() or \
        User.objects.filter(role=Role.FINANCE).order_by("pk").first()
    admin = User.objects.filter(role=Role.ADMIN).order_by("pk").first()
    for user in (admin, finance):  # the generator's company starts without members
        if not user.companies.filter(pk=company.pk).exists():
            user.companies.add(company)
    _key, raw = issue_api_key(actor=admin, user=finance, company=company, name="bench api_load", expires_in_days=1)
    return raw


def run_wrk(url: str, path: str, token: str, clients: int, seconds: int, threads: int) -> dict:
    out = subprocess.run(
        ["wrk", f"-t{threads}", f"-c{clients}", f"-d{seconds}s", "--timeout", "30s", "-s", str(HERE / "api_load.lua"), url],
        env={**os.environ, "HK_TOKEN": token, "HK_PATH": path}, capture_output=True, text=True, check=True,
    ).stdout
    m = re.search(r"^RESULT (.*)$", out, re.M)
    if not m:
        raise SystemExit(f"wrk printed no result for {path}:\n{out}")
    return {k: float(v) for k, v in (kv.split("=") for kv in m.group(1).split())}


def _tree(pid: int) -> list[int]:
    """``pid`` and its descendants (the server's master and its forked workers)."""
    pids, todo = [], [pid]
    while todo:
        p = todo.pop()
        pids.append(p)
        for task in Path(f"/proc/{p}/task").glob("*"):
            try:
                todo += [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                pass
    return pids


def server_cpu(pid: int) -> tuple[float, float]:
    """CPU seconds so far of the server (``pid`` and its children) and of the PostgreSQL backends connected to
    this database but this script's own (the server's persistent connections). Both on this machine."""
    from django.db import connection

    from bench.measure import process_cpu

    with connection.cursor() as cur:
        cur.execute("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")
        backends = [row[0] for row in cur.fetchall()]
    return sum(process_cpu(p) for p in _tree(pid)), sum(process_cpu(p) for p in backends)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:8765")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3, help="seconds of load before each measured run (discarded)")
    ap.add_argument("--wrk-threads", type=int, default=1, help="wrk's own threads (1 keeps the cores for the server)")
    ap.add_argument("--company", default="")
    ap.add_argument("--reports", action="store_true", help="also load the aging report endpoints")
    ap.add_argument("--only", default="", help="run only endpoints whose name contains this")
    ap.add_argument("--server-pid", type=int, default=0,
                    help="the server's pid (gunicorn's master; on this machine): also print the CPU per request of "
                         "the server's processes and of their PostgreSQL backends during each measured run")
    args = ap.parse_args()
    if not shutil.which("wrk"):
        raise SystemExit("wrk is not installed: apt-get install wrk")
    token = issue_key(args.company)
    endpoints = ENDPOINTS + (REPORTS if args.reports else [])
    endpoints = [(n, p) for n, p in endpoints if args.only in n]
    print(f"# {args.clients} concurrent clients, {args.seconds:g} s per endpoint after a {args.warmup} s warm-up (wrk)")
    cpu_head = " server CPU ms/req | PostgreSQL CPU ms/req | load |" if args.server_pid else ""
    print(f"| endpoint | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | failures |{cpu_head}")
    print("|---|---|---|---|---|---|---|---|" + ("---|---|---|" if args.server_pid else ""))
    for name, path in endpoints:
        if args.warmup:  # every server thread opens its database connection and warms its caches first
            run_wrk(args.url, path, token, args.clients, args.warmup, args.wrk_threads)
        load = os.getloadavg()[0]
        before = server_cpu(args.server_pid) if args.server_pid else None
        r = run_wrk(args.url, path, token, args.clients, args.seconds, args.wrk_threads)
        cpu = ""
        if before is not None:
            after = server_cpu(args.server_pid)
            cpu = (f" {(after[0] - before[0]) * 1000 / r['requests']:.2f} | {(after[1] - before[1]) * 1000 / r['requests']:.2f}"
                   f" | {load:.1f} |")
        failures = int(r["socket_errors"] + r["status_errors"])
        print(f"| {name} | {int(r['requests']):,} | {r['requests'] / r['seconds']:.1f} | {r['p50']:.0f} | {r['p95']:.0f} "
              f"| {r['p99']:.0f} | {r['max']:.0f} | {failures} |{cpu}", flush=True)


if __name__ == "__main__":
    main()
