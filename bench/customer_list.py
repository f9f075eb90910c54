"""Time the customer list (count + first page) at scale.

    DATABASE_URL=sqlite:////tmp/bench.sqlite3 .venv/bin/python bench/customer_list.py [--customers 100000]

Runs migrations, creates a bench company with N customers spread over 40 salespeople (once; reruns
reuse them), then times ``customers.selectors.customer_list`` as finance and as a salesperson for
typical searches and sorts. Prints the median of 5 runs in milliseconds. Use a scratch database.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402

from huikuan.accounts.models import Company, Role, Team, User  # noqa: E402
from huikuan.common.identifiers import pinyin_initials  # noqa: E402
from huikuan.customers.models import Customer  # noqa: E402
from huikuan.customers.selectors import customer_list  # noqa: E402

CITIES = ["上海", "杭州", "南京", "苏州", "广州", "深圳", "成都", "武汉", "北京", "天津", "重庆", "西安"]
WORDS = ["华东", "西湖", "钟山", "南方", "长江", "汇通", "恒达", "金桥", "明珠", "东方", "新世纪", "联合"]
TRADES = ["机械", "贸易", "电子", "物流", "化工", "纺织", "建材", "食品", "医药", "科技"]


def populate(n: int) -> tuple[Company, User, User]:
    company, created = Company.objects.get_or_create(code="BENCH", defaults={"name": "基准测试有限公司"})
    team, _ = Team.objects.get_or_create(name="bench-east")
    sales = []
    for i in range(40):
        user, _ = User.objects.get_or_create(
            username=f"bench-sales-{i}", defaults={"role": Role.SALESPERSON, "team": team if i < 10 else None}
        )
        sales.append(user)
    finance, _ = User.objects.get_or_create(username="bench-finance", defaults={"role": Role.FINANCE})
    have = Customer.objects.filter(company=company).count()
    rng = random.Random(20261130)
    batch = []
    with transaction.atomic():
        for i in range(have, n):
            name = f"{rng.choice(CITIES)}{rng.choice(WORDS)}{rng.choice(TRADES)}有限公司"
            batch.append(
                Customer(
                    company=company,
                    code=f"C{i:06}",
                    name=name,
                    name_initials=pinyin_initials(name),
                    owner=sales[i % len(sales)],
                    region=rng.choice(CITIES),
                )
            )
            if len(batch) == 5000:
                Customer.objects.bulk_create(batch)
                batch = []
        Customer.objects.bulk_create(batch)
    return company, finance, sales[0]


def timed(fn, runs: int = 5) -> float:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    company, finance, salesperson = populate(args.customers)
    print(f"{connection.vendor}: {Customer.objects.filter(company=company).count()} customers")
    cases = [
        ("finance, default", finance, {}),
        ("finance, q=shhd", finance, {"q": "shhd"}),
        ("finance, q=华东", finance, {"q": "华东"}),
        ("finance, q=C0999", finance, {"q": "C0999"}),
        ("finance, sort -open_amount", finance, {"sort": "-open_amount"}),
        ("finance, sort name", finance, {"sort": "name"}),
        ("finance, region 上海", finance, {"region": "上海"}),
        ("salesperson, default", salesperson, {}),
        ("salesperson, q=hz", salesperson, {"q": "hz"}),
    ]
    for label, user, kwargs in cases:

        def run(user=user, kwargs=kwargs):
            qs = customer_list(user=user, company=company, **kwargs)
            qs.count()
            list(qs[:50])

        print(f"{label:32} {timed(run):8.1f} ms")


if __name__ == "__main__":
    main()
