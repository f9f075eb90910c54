"""API list endpoints under concurrent load (DESIGN §6: p95 ≤ 200 ms with 20 clients).

    createdb -h 127.0.0.1 -U postgres -T huikuan_bench hk_api_load      # it writes an API key: use a clone
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hk_api_load HUIKUAN_API_USER_RATE=1000000/min \\
        .venv/bin/huikuan serve --port 8765 --no-worker --no-schedule --no-migrate &
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hk_api_load .venv/bin/python bench/api_load.py \\
        --url http://127.0.0.1:8765 --clients 20 --seconds 60

Issues an API key for the bench company's finance user through ``issue_api_key`` (so the database
must be a scratch clone), then runs ``--clients`` threads in this second process, each looping over
the endpoints with keep-alive-less HTTP requests (urllib), and prints per endpoint the request
count, p50 / p95 / max latency and non-200 answers, and the overall requests per second. The
server's per-user throttle is raised with HUIKUAN_API_USER_RATE so that the test measures latency,
not the throttle.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

ENDPOINTS = [
    ("customers", "/api/v1/customers/"),
    ("customers page 50", "/api/v1/customers/?page=50"),
    ("documents", "/api/v1/documents/"),
    ("documents open", "/api/v1/documents/?open=true"),
    ("payments", "/api/v1/payments/"),
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
    finance = User.objects.filter(role=Role.FINANCE, companies=company).order_by("pk").first()
    admin = User.objects.filter(role=Role.ADMIN).order_by("pk").first()
    if not admin.companies.filter(pk=company.pk).exists():
        admin.companies.add(company)
    _key, raw = issue_api_key(actor=admin, user=finance, company=company, name="bench api_load", expires_in_days=1)
    return raw


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:8765")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--company", default="")
    args = ap.parse_args()
    token = issue_key(args.company)
    lock = threading.Lock()
    results: dict[str, list[float]] = {name: [] for name, _ in ENDPOINTS}
    errors: dict[str, int] = {name: 0 for name, _ in ENDPOINTS}
    stop_at = time.perf_counter() + args.seconds

    def worker(n: int) -> None:
        i = n
        while time.perf_counter() < stop_at:
            name, path = ENDPOINTS[i % len(ENDPOINTS)]
            i += 1
            req = urllib.request.Request(args.url + path, headers={"Authorization": f"Bearer {token}"})
            t = time.perf_counter()
            try:
                with urllib.request.urlopen(req, timeout=60) as resp:
                    resp.read()
                    ok = resp.status == 200
            except urllib.error.HTTPError as exc:
                exc.read()
                ok = False
            except OSError:
                ok = False
            elapsed = time.perf_counter() - t
            with lock:
                results[name].append(elapsed)
                errors[name] += not ok

    started = time.perf_counter()
    with ThreadPoolExecutor(args.clients) as pool:
        list(pool.map(worker, range(args.clients)))
    wall = time.perf_counter() - started
    total = sum(len(v) for v in results.values())
    print(f"# {args.clients} clients for {wall:.0f} s: {total:,} requests, {total / wall:.1f} req/s")
    print("| endpoint | requests | p50 ms | p95 ms | max ms | non-200 |")
    print("|---|---|---|---|---|---|")
    for name, _path in ENDPOINTS:
        v = sorted(results[name])
        if not v:
            continue
        p95 = v[min(len(v) - 1, int(0.95 * (len(v) - 1)))]
        print(f"| {name} | {len(v)} | {statistics.median(v) * 1000:.0f} | {p95 * 1000:.0f} | {v[-1] * 1000:.0f} | {errors[name]} |")


if __name__ == "__main__":
    main()
