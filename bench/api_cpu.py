"""CPU per API request, in one process (issue 19: where a customer search's time goes).

    createdb -h 127.0.0.1 -U postgres -T huikuan_bench hk_x        # it writes an API key: use a clone
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hk_x HUIKUAN_DEMO=1 HUIKUAN_API_USER_RATE=100000/s \\
        .venv/bin/python bench/api_cpu.py --company BENCH01 [--requests 200] [--only search] [--profile 上海]

Sends the load bench's customer endpoints (``bench/api_load.py``'s list) ``--requests`` times each through
Django's test client with an API key of the finance user — the whole stack: middleware, authentication,
throttle, view, rendering — and prints, per request: this process's CPU (``time.process_time``, the
Python share), the PostgreSQL backend's CPU (``/proc/<backend pid>/stat``, user + system: the SQL's share,
planning included), their sum, the statements and the response's bytes. Each endpoint twice: "repeated" — the same call over and over, as the
load bench sends it (a capped count is then remembered: huikuan/api/views.py, ``count_seconds``; the key too: api/auth.py)
— and "first" — the cache emptied before each call, what the first search of a term costs. CPU, unlike wall
time, is less changed by other work on the machine, so a before/after comparison holds better under load
(the load bench's latencies do not); run before and after alternately all the same. ``--profile TERM`` prints cProfile's top functions for the search of TERM (or "" for the
plain list).

The test client is not gunicorn: it skips the socket and the WSGI server's own work, which are the same for
every endpoint, so the figures compare endpoints and versions, not absolute server costs.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.measure import backend_pid  # noqa: E402
from bench.measure import process_cpu as backend_cpu  # noqa: E402

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

from api_load import ENDPOINTS, issue_key  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--company", default="BENCH01")
    ap.add_argument("--requests", type=int, default=200, help="requests per endpoint (after 10 discarded)")
    ap.add_argument("--only", default="customers", help="endpoints whose name contains this")
    ap.add_argument("--profile", default=None, help="cProfile the search of this term ('' = the plain list)")
    args = ap.parse_args()
    token = issue_key(args.company)  # sets Django up

    from django.core.cache import cache
    from django.db import connection
    from django.test import Client

    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", HTTP_HOST="127.0.0.1")
    pg = connection.vendor == "postgresql"

    def get(path):
        response = client.get(path)
        assert response.status_code == 200, (path, response.status_code, response.content[:300])
        return response

    if args.profile is not None:
        path = "/api/v1/customers/" + (f"?q={quote(args.profile)}" if args.profile else "")
        for _ in range(10):
            get(path)
        prof = cProfile.Profile(time.process_time)  # CPU, not the wait for the server
        prof.enable()
        for _ in range(args.requests):
            get(path)
        prof.disable()
        stats = pstats.Stats(prof).strip_dirs()
        stats.sort_stats("cumulative").print_stats(int(os.environ.get("HK_PROFILE_LINES", "45")))
        stats.sort_stats("tottime").print_stats(35)
        return

    print(f"# {args.requests} requests per endpoint, one process, test client ({connection.vendor})")
    print("| endpoint | calls | Python CPU ms/req | PostgreSQL CPU ms/req | total ms/req | statements | bytes |")
    print("|---|---|---|---|---|---|---|")
    for name, path in ENDPOINTS:
        if args.only not in name:
            continue
        for _ in range(10):  # connection, caches, the planner's catalogue look-ups
            get(path)
        for calls, fresh in (("repeated", False), ("first", True)):
            statements = []

            def record(execute, sql, *a, statements=statements):
                statements.append(sql)
                return execute(sql, *a)

            if fresh:
                cache.clear()
            with connection.execute_wrapper(record):
                size = len(get(path).content)
            pid = backend_pid(connection) if pg else None
            db0 = backend_cpu(pid) if pid else 0.0
            cpu = 0.0
            for _ in range(args.requests):
                if fresh:  # what a call finds in the cache is the first call's: nothing remembered (and no throttle)
                    cache.clear()
                c = time.process_time()
                get(path)
                cpu += time.process_time() - c
            cpu = cpu * 1000 / args.requests
            db = (backend_cpu(pid) - db0) * 1000 / args.requests if pid else 0.0
            assert not pid or backend_pid(connection) == pid, "the connection changed: the backend's CPU is not this endpoint's"
            print(f"| {name} | {calls} | {cpu:.2f} | {db:.2f} | {cpu + db:.2f} | {len(statements)} | {size:,} |", flush=True)

if __name__ == "__main__":
    main()
