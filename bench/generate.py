"""Load a large, consistent receivables ledger fast (bench data at the DESIGN §6 scale).

    DATABASE_URL=sqlite:////tmp/bench.sqlite3 .venv/bin/python bench/generate.py --customers 10000 --instalments 200000
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/hk_bench .venv/bin/python bench/generate.py \
        --customers 100000 --instalments 2000000

Uses the demo's generators (``huikuan.demo.names`` for customers, ``huikuan.demo.scenario`` for the
documents, payments, credit notes, write-offs and fapiao of each payment behaviour) but, instead of
calling the ledger services one by one, plays the ledger forward in Python with integer fen and
writes the rows in bulk (``executemany`` on SQLite, ``COPY`` on PostgreSQL): documents,
instalments, credits (payments, credit notes, discounts, write-offs), allocations, ledger entries,
write-off requests, fapiao, customers with their denormalised balances, and the number sequences.
Every invariant of ``huikuan.ledger.checks`` holds; ``check_ledger`` runs at the end (``--no-check``
skips it). Audit events are not written (bench data was never entered by anybody).

Each run adds a fresh bench company (BENCH01, BENCH02, …) to a migrated database: use a scratch one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import time
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.core.management.color import no_style  # noqa: E402
from django.db import connection, models, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from huikuan.accounts.models import Company, Role, User  # noqa: E402
from huikuan.common.models import NumberSequence  # noqa: E402
from huikuan.customers.models import Contact, Customer, CustomerGroup, PaymentTerm  # noqa: E402
from huikuan.demo.names import generate_customers  # noqa: E402
from huikuan.demo.scenario import TERMS, build_scenario  # noqa: E402
from huikuan.demo.seed import TEAM_OF, ensure_base  # noqa: E402
from huikuan.ledger.checks import check_ledger  # noqa: E402
from huikuan.ledger.models import (  # noqa: E402
    Allocation,
    Credit,
    Fapiao,
    Instalment,
    LedgerEntry,
    ReceivableDocument,
    WriteOffRequest,
)

CHUNK = 2000  # customers per chunk (bounded memory at any scale)
BASE_OPEN_SHARE = 0.159  # share of instalments the scenarios leave open (340,500 of 2,145,458 at 100k customers)


class Table:
    """Bulk writer for one model: rows are dicts of column → already-adapted values (money in fen)."""

    def __init__(self, model: type[models.Model], columns: list[str], now):
        self.model = model
        fields = {f.column: f for f in model._meta.concrete_fields}
        self.columns = columns
        self.const_cols = []
        self.const_vals = []
        for col, f in fields.items():
            if col in columns or f.primary_key:  # an omitted primary key is left to the database
                continue
            if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
                value = now
            else:
                default = f.get_default()  # "" for text fields without a default
                value = None if default is None else f.get_db_prep_save(default, connection)
                if value is None and not f.null:
                    raise ValueError(f"{model.__name__}.{col} needs a value")
            self.const_cols.append(col)
            self.const_vals.append(value)
        self.all_cols = columns + self.const_cols
        self.consts = tuple(self.const_vals)
        self.rows: list[tuple] = []
        self.written = 0
        self.seconds = 0.0

    def add(self, *values) -> None:
        self.rows.append(values + self.consts)

    def flush(self, cur) -> None:
        if not self.rows:
            return
        started = time.perf_counter()
        table = connection.ops.quote_name(self.model._meta.db_table)
        cols = ", ".join(connection.ops.quote_name(c) for c in self.all_cols)
        if connection.vendor == "postgresql":
            with cur.cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                for row in self.rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(self.all_cols))
            cur.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", self.rows)
        self.written += len(self.rows)
        self.rows = []
        self.seconds += time.perf_counter() - started


def next_id(model) -> int:
    return (model.objects.aggregate(m=models.Max("pk"))["m"] or 0) + 1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--customers", type=int, default=10_000)
    ap.add_argument("--instalments", type=int, default=200_000, help="approximate number of instalments")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date(2026, 11, 30))
    ap.add_argument("--no-check", action="store_true", help="skip check_ledger at the end")
    ap.add_argument("--open-share", type=float, default=None,
                    help="approximate share of instalments left open (the scenarios alone leave ~16%% open); "
                         "instalments the scenario would pay are left unpaid at random until about this share is open")
    args = ap.parse_args()

    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    console = Console()
    call_command("migrate", interactive=False, verbosity=0)
    _, _logins = ensure_base()
    n = Company.objects.filter(code__startswith="BENCH").count() + 1
    company = Company.objects.create(code=f"BENCH{n:02d}", name=f"基准测试公司 {n:02d}", name_en=f"Bench company {n:02d}")
    for code, name, kind, days, split, dp, dd in TERMS:
        PaymentTerm.objects.create(company=company, code=code, name=name, kind=kind, days=days, split_lines=split,
                                   discount_percent=dp, discount_days=dd)
    terms = {t.code: t.pk for t in PaymentTerm.objects.filter(company=company)}
    sales = {key: list(User.objects.filter(role=Role.SALESPERSON, team__name=team).order_by("username").values_list("pk", flat=True))
             for key, team in TEAM_OF.items()}
    finance = User.objects.get(username="finance").pk
    credit_mgr = User.objects.get(username="credit").pk
    for user in User.objects.filter(role=Role.SALESPERSON):
        user.companies.add(company)

    vendor = connection.vendor
    as_date = (lambda d: d) if vendor == "postgresql" else (lambda d: None if d is None else d.isoformat())
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    cid = company.pk
    docs_per_customer = args.instalments / args.customers / 1.06  # split terms give two instalments

    T = {
        "customer": Table(Customer, ["id", "company_id", "code", "name", "short_name", "name_initials", "credit_code",
                                     "group_id", "parent_id", "region", "industry", "address", "owner_id",
                                     "payment_term_id", "status", "open_amount", "unapplied_amount"], now),
        "contact": Table(Contact, ["customer_id", "name", "title", "phone", "email", "wechat_id", "preferred_channel",
                                   "language", "is_primary"], now),
        "document": Table(ReceivableDocument, ["id", "company_id", "customer_id", "kind", "number", "document_date",
                                               "total_amount", "salesperson_id", "payment_term_id", "reference",
                                               "description", "created_by_id"], now),
        "instalment": Table(Instalment, ["id", "company_id", "customer_id", "document_id", "seq", "document_date",
                                         "due_date", "amount", "open_amount", "discount_amount", "discount_date",
                                         "salesperson_id", "first_allocated_on", "last_allocated_on"], now),
        "credit": Table(Credit, ["id", "company_id", "customer_id", "kind", "number", "date", "amount",
                                 "unapplied_amount", "method", "reference", "memo", "bill_number", "bill_acceptor",
                                 "bill_maturity_date", "bill_status", "cheque_status", "document_id", "parent_id",
                                 "created_by_id"], now),
        "allocation": Table(Allocation, ["company_id", "customer_id", "credit_id", "instalment_id", "amount", "date",
                                         "is_manual", "created_by_id"], now),
        "entry": Table(LedgerEntry, ["company_id", "customer_id", "date", "kind", "debit_amount", "credit_amount",
                                     "document_id", "credit_id", "summary"], now),
        "write_off": Table(WriteOffRequest, ["company_id", "customer_id", "instalment_id", "amount", "reason", "status",
                                             "requested_by_id", "decided_by_id", "decided_at", "decision_note",
                                             "credit_id"], now),
        "fapiao": Table(Fapiao, ["id", "company_id", "customer_id", "document_id", "number", "fapiao_type",
                                 "issue_date", "amount", "status", "red_of_id", "created_by_id"], now),
    }
    ids = {m: next_id(m) for m in (Customer, ReceivableDocument, Instalment, Credit, Fapiao)}
    numbers: dict[tuple[str, int], int] = {}

    def number(series: str, day: dt.date) -> str:
        k = (series, day.year)
        numbers[k] = numbers.get(k, 0) + 1
        return f"{series}-{day.year}-{numbers[k]:07d}"

    def new_id(model) -> int:
        value = ids[model]
        ids[model] += 1
        return value

    # an "open-heavy" mix: each instalment a payment would settle stays unpaid with this probability
    skip_p = 0.0 if args.open_share is None else max(0.0, min(1.0, (args.open_share - BASE_OPEN_SHARE) / (1 - BASE_OPEN_SHARE)))
    rng = random.Random(args.seed)
    specs_all = generate_customers(rng, args.customers, code_prefix="B", with_contacts=True)
    groups = {}
    for name in sorted({s.group for s in specs_all if s.group}):
        groups[name] = CustomerGroup.objects.create(company=company, name=name).pk

    started = time.perf_counter()
    cpu_started = time.process_time()
    if vendor == "sqlite":
        with connection.cursor() as cur:
            cur.execute("PRAGMA synchronous=OFF")
    totals = {"documents": 0, "instalments": 0, "payments": 0, "open": 0}
    with Progress(TextColumn("[bold]bench ledger"), BarColumn(), MofNCompleteColumn(), TextColumn("customers"),
                  TimeElapsedColumn(), TimeRemainingColumn(), console=console) as bar:
        task = bar.add_task("customers", total=len(specs_all))
        for start in range(0, len(specs_all), CHUNK):
            chunk = specs_all[start:start + CHUNK]
            crng = random.Random(f"{args.seed}-{start}")
            orng = random.Random(f"{args.seed}-open-{start}")  # separate stream: the scenario stays the same
            sc = build_scenario(crng, chunk, documents=round(docs_per_customer * len(chunk)), as_of=args.as_of)
            cust_pk = {}
            for s in chunk:
                cust_pk[s.index] = new_id(Customer)
            balances = {pk: [0, 0] for pk in cust_pk.values()}  # open, unapplied (fen)
            owner = {}
            for s in chunk:
                people = sales[s.team] or sales["east"]
                owner[s.index] = people[s.owner_slot % len(people)]
            docs = {}  # plan key → (doc pk, total fen, [inst pk], customer pk)
            inst_state = {}  # inst pk → [open, amount, discount, discount_date, due, doc pk]
            alloc_dates = {}  # inst pk → [first, last] allocation date (events come in date order)

            def allocated(ipk, day, alloc_dates=alloc_dates):
                alloc_dates.setdefault(ipk, [day, day])[1] = day
            for kind, plan in sc.events():
                cpk = cust_pk[plan.customer]
                if kind == "document":
                    dpk = new_id(ReceivableDocument)
                    total = int(plan.total * 100)
                    sp = owner[plan.customer]
                    T["document"].add(dpk, cid, cpk, "invoice", number("INV", plan.date), as_date(plan.date), total, sp,
                                      terms[plan.term_code], plan.reference, plan.description, finance)
                    inst_ids = []
                    for line in plan.schedule:
                        ipk = new_id(Instalment)
                        amt = int(line.amount * 100)
                        disc = int(line.discount_amount * 100)
                        # written at the end of the chunk, with the open amount left after the payments
                        inst_state[ipk] = [amt, amt, disc, line.discount_date, line.due_date, dpk, cpk, line.seq,
                                           plan.date, sp]
                        inst_ids.append(ipk)
                        totals["instalments"] += 1
                    T["entry"].add(cid, cpk, as_date(plan.date), "document", total, 0, dpk, None, plan.description[:200])
                    balances[cpk][0] += total
                    docs[plan.key] = (dpk, total, inst_ids, cpk)
                    totals["documents"] += 1
                elif kind == "payment":
                    lines = []  # (inst pk, cash, discount)
                    for t in plan.targets:
                        ipk = docs[t.doc][2][t.seq - 1]
                        st = inst_state[ipk]
                        if st[0] <= 0:
                            continue
                        if skip_p and orng.random() < skip_p:
                            continue
                        if t.take_discount and t.fraction == 1 and st[2] and st[0] == st[1] and plan.date <= st[3]:
                            lines.append((ipk, st[0] - st[2], st[2]))
                        else:
                            amt = st[0] if t.fraction == 1 else int((Decimal(st[0]) * t.fraction).quantize(Decimal(1), rounding=ROUND_HALF_UP))
                            if amt > 0:
                                lines.append((ipk, amt, 0))
                    if not lines and skip_p:
                        continue  # everything it would have paid stays open
                    extra = int(plan.extra * 100)
                    cash = sum(x[1] for x in lines) + extra
                    if cash <= 0:
                        continue
                    ppk = new_id(Credit)
                    T["credit"].add(ppk, cid, cpk, "payment", number("RCV", plan.date), as_date(plan.date), cash, extra,
                                    plan.method, plan.reference, "货款", plan.bill_number, plan.bill_acceptor,
                                    as_date(plan.bill_maturity_date),
                                    "received" if plan.bill_number else "", "pending" if plan.method == "cheque" else "",
                                    None, None, finance)
                    T["entry"].add(cid, cpk, as_date(plan.date), "payment", 0, cash, None, ppk, "货款")
                    balances[cpk][1] += extra
                    for ipk, amt, disc in lines:
                        T["allocation"].add(cid, cpk, ppk, ipk, amt, as_date(plan.date), False, finance)
                        allocated(ipk, plan.date)
                        if disc:
                            dcpk = new_id(Credit)
                            T["credit"].add(dcpk, cid, cpk, "discount", number("DSC", plan.date), as_date(plan.date), disc,
                                            0, "", "", "Early-payment discount", "", "", None, "", "",
                                            inst_state[ipk][5], ppk, finance)
                            T["allocation"].add(cid, cpk, dcpk, ipk, disc, as_date(plan.date), False, finance)
                            allocated(ipk, plan.date)
                            T["entry"].add(cid, cpk, as_date(plan.date), "discount", 0, disc, None, dcpk,
                                           "Early-payment discount")
                        inst_state[ipk][0] -= amt + disc
                        balances[cpk][0] -= amt + disc
                    totals["payments"] += 1
                elif kind == "credit_note":
                    dpk, total, inst_ids, _ = docs[plan.doc]
                    amount = int((Decimal(total) * plan.percent / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))
                    if amount <= 0:
                        continue
                    cnpk = new_id(Credit)
                    left = amount
                    allocs = []
                    for ipk in sorted(inst_ids, key=lambda i: (inst_state[i][4], i)):
                        take = min(left, inst_state[ipk][0])
                        if take > 0:
                            allocs.append((ipk, take))
                            left -= take
                    T["credit"].add(cnpk, cid, cpk, "credit_note", number("CN", plan.date), as_date(plan.date), amount,
                                    left, "", "", plan.reason, "", "", None, "", "", dpk, None, finance)
                    T["entry"].add(cid, cpk, as_date(plan.date), "credit_note", 0, amount, None, cnpk, plan.reason)
                    for ipk, take in allocs:
                        T["allocation"].add(cid, cpk, cnpk, ipk, take, as_date(plan.date), False, finance)
                        allocated(ipk, plan.date)
                        inst_state[ipk][0] -= take
                        balances[cpk][0] -= take
                    balances[cpk][1] += left
                elif kind == "write_off":
                    ipk = docs[plan.doc][2][plan.seq - 1]
                    open_fen = inst_state[ipk][0]
                    if open_fen <= 0:
                        continue
                    if plan.decision == "reject_then_approve":
                        T["write_off"].add(cid, cpk, ipk, open_fen, plan.reason, "rejected", finance, credit_mgr, now,
                                           "请先取得法院终结裁定", None)
                    if plan.decision == "pending":
                        T["write_off"].add(cid, cpk, ipk, open_fen, plan.reason, "pending", finance, None, None, "", None)
                        continue
                    wpk = new_id(Credit)
                    T["credit"].add(wpk, cid, cpk, "write_off", number("WO", plan.date), as_date(plan.date), open_fen, 0,
                                    "", "", plan.reason, "", "", None, "", "", docs[plan.doc][0], None, credit_mgr)
                    T["allocation"].add(cid, cpk, wpk, ipk, open_fen, as_date(plan.date), True, credit_mgr)
                    allocated(ipk, plan.date)
                    T["entry"].add(cid, cpk, as_date(plan.date), "write_off", 0, open_fen, None, wpk, plan.reason)
                    T["write_off"].add(cid, cpk, ipk, open_fen, plan.reason, "approved", finance, credit_mgr, now, "同意核销", wpk)
                    inst_state[ipk][0] = 0
                    balances[cpk][0] -= open_fen
                elif kind == "fapiao":
                    dpk, total, _, _ = docs[plan.doc]
                    fpk = new_id(Fapiao)
                    num = f"{company.code}-{start // CHUNK}-{plan.number}"
                    T["fapiao"].add(fpk, cid, cpk, dpk, num, plan.fapiao_type, as_date(plan.date), total,
                                    "red_reversed" if plan.red_number else "issued", None, finance)
                    if plan.red_number:
                        T["fapiao"].add(new_id(Fapiao), cid, cpk, dpk, f"{company.code}-{start // CHUNK}-{plan.red_number}", plan.fapiao_type,
                                        as_date(plan.red_date), -total, "issued", fpk, finance)
            for ipk, (open_fen, amt, disc, disc_date, due, dpk, cpk, seq, doc_date, sp) in inst_state.items():
                totals["open"] += open_fen > 0
                first, last = alloc_dates.get(ipk, (None, None))
                T["instalment"].add(ipk, cid, cpk, dpk, seq, as_date(doc_date), as_date(due), amt, open_fen, disc,
                                    as_date(disc_date), sp, as_date(first), as_date(last))
            for s in chunk:
                pk = cust_pk[s.index]
                T["customer"].add(pk, cid, s.code, s.name, s.short_name, s.name_initials, s.credit_code,
                                  groups.get(s.group), cust_pk.get(s.parent_index) if s.parent_index is not None else None,
                                  s.region, s.industry, s.address, owner[s.index], terms[s.term_code],
                                  sc.statuses.get(s.index, "active"), balances[pk][0], balances[pk][1])
                for c in s.contacts:
                    T["contact"].add(pk, c.name, c.title, c.phone, c.email, c.wechat_id, c.preferred_channel, c.language,
                                     c.is_primary)
            with transaction.atomic(), connection.cursor() as cur:
                for table in T.values():
                    table.flush(cur)
            bar.advance(task, len(chunk))

    with transaction.atomic():
        NumberSequence.objects.bulk_create([NumberSequence(company_id=cid, series=s, year=y, last=last)
                                            for (s, y), last in numbers.items()])
        with connection.cursor() as cur:
            for sql in connection.ops.sequence_reset_sql(no_style(), [Customer, Contact, ReceivableDocument, Instalment,
                                                                      Credit, Allocation, LedgerEntry, WriteOffRequest,
                                                                      Fapiao]):
                cur.execute(sql)
    load_s = time.perf_counter() - started
    cpu_s = time.process_time() - cpu_started
    if vendor == "sqlite":
        with connection.cursor() as cur:
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("ANALYZE")
    else:
        # the aging's running sums by due date merged as the daily job does (ledger.aging.compact_flow): the COPYs'
        # triggers appended ~430,000 rows at full scale, which the totals would otherwise read (0.03x -> 0.33x DuckDB)
        from huikuan.ledger.aging import compact_flow

        compact_flow(company=company)
        with connection.cursor() as cur:
            cur.execute("ANALYZE")
    # the per-customer aging summary (insight) as of today: the triggers marked every customer as changed
    from huikuan.common import clock
    from huikuan.insight.services import refresh_customer_aging

    started_aging = time.perf_counter()
    n_aging = refresh_customer_aging(company=company, as_of=clock.today(company))
    console.print(f"customer aging summary: {n_aging:,} customers in {time.perf_counter() - started_aging:.1f} s")
    rows = sum(t.written for t in T.values())
    console.print(f"[bold]{company.code}[/] on {vendor}: {rows:,} rows in {load_s:.1f} s ({cpu_s:.1f} s CPU in this "
                  f"process) = {rows / load_s:,.0f} rows/s "
                  f"({totals['documents']:,} documents, {totals['instalments']:,} instalments of which {totals['open']:,} open, "
                  f"{totals['payments']:,} payments)")
    for name, t in T.items():
        rate = f"{t.written / t.seconds:,.0f} rows/s written" if t.seconds else ""
        console.print(f"  {name:<11} {t.written:>10,}  {rate}")
    if not args.no_check:
        started = time.perf_counter()
        problems = check_ledger(company_id=cid)
        console.print(f"check_ledger: {len(problems)} problems in {time.perf_counter() - started:.1f} s")
        for p in problems[:20]:
            console.print(f"  {p}")
        if problems:
            sys.exit(1)


if __name__ == "__main__":
    main()
