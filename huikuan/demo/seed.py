"""Deterministic demo data: company, teams, users per role, payment terms, ~200 customers and ~6,000
documents over the 18 months before ``as_of`` — replayed through the real ledger services so every
balance, allocation, ledger entry and audit event is exactly what the product itself would write.

Same ``seed`` and ``as_of`` → same data. Running it again on a database that already has the demo
company's customers changes nothing.
"""

from __future__ import annotations

import datetime as dt
import gc
import random
import time
from contextlib import contextmanager
from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils.translation import gettext as _

from huikuan.accounts.models import Company, Role, Team, User
from huikuan.common.money import ZERO, round_money
from huikuan.customers.models import Contact, Customer, CustomerGroup, PaymentTerm
from huikuan.ledger import bulk, services
from huikuan.ledger import fapiao as ledger_fapiao
from huikuan.ledger.calculations import OpenItem, PlanLine, discount_available, plan_oldest_first
from huikuan.ledger.models import Instalment
from huikuan.onboarding.services import apply_company_defaults

from .names import generate_customers
from .scenario import Scenario, build_scenario

DEMO_PASSWORD = "huikuan-demo"
BASE_CUSTOMERS = 200
BASE_DOCUMENTS = 6000

USERS = [
    ("admin", Role.ADMIN, "管理员 Admin", None),
    ("finance", Role.FINANCE, "应收会计 陈敏", None),
    ("credit", Role.CREDIT_MANAGER, "信用经理 王强", None),
    ("collector", Role.COLLECTOR, "催收专员 李娜", None),
    ("sales1", Role.SALESPERSON, "业务员 张伟", "华东组"),
    ("sales2", Role.SALESPERSON, "业务员 刘洋", "华东组"),
    ("sales3", Role.SALESPERSON, "业务员 赵磊", "华南组"),
    ("sales4", Role.SALESPERSON, "业务员 孙丽", "华南组"),
    ("sales5", Role.SALESPERSON, "业务员 周杰", "华南组"),
    ("salesmgr", Role.SALES_MANAGER, "销售经理 吴刚", "华东组"),
    ("legal", Role.LEGAL, "法务 郑律", None),
    ("auditor", Role.AUDITOR, "审计 冯审", None),
]
TEAM_OF = {"east": "华东组", "south": "华南组"}


@transaction.atomic
def ensure_base(*, password: str = DEMO_PASSWORD) -> tuple[Company, list[tuple[str, str]]]:
    """Company, teams, users per role, and the company defaults of every new company (idempotent)."""
    company, _ = Company.objects.get_or_create(
        code="HK01",
        defaults=dict(name="杭州汇款科技有限公司", name_en="Hangzhou Huikuan Technology Co., Ltd.",
                      credit_code="91330100MA2CFW1X7F", bank_name="招商银行杭州分行",
                      bank_account_name="杭州汇款科技有限公司", bank_account_number="5719 0812 3410 601"),
    )
    teams = {}
    logins = []
    encoded = None  # one PBKDF2 run for all demo users (same password) instead of one per user
    for username, role, display, team_name in USERS:
        team = None
        if team_name:
            team = teams.get(team_name) or Team.objects.get_or_create(name=team_name)[0]
            teams[team_name] = team
        user, created = User.objects.get_or_create(username=username, defaults=dict(role=role, display_name=display, team=team))
        if created:
            encoded = encoded or make_password(password)
            user.password = encoded
            user.is_superuser = role == Role.ADMIN
            user.save()
            user.companies.add(company)
        logins.append((role.label if hasattr(role, "label") else role, username))
    mgr = User.objects.get(username="salesmgr")
    Team.objects.filter(name="华东组").update(manager=mgr)
    apply_company_defaults(company)  # the same starter terms, credit grades and dunning policy as `huikuan setup`
    return company, logins


def default_as_of() -> dt.date:
    """Today in the demo company's time zone (pass ``as_of`` to reproduce a load exactly)."""
    from huikuan.common import clock

    return clock.today()


def ensure_demo_data(*, scale: float = 1.0, seed: int = 20261130, stdout=None, as_of: dt.date | None = None):
    """Load the demo once. Returns the demo logins as (role label, username)."""
    company, logins = ensure_base()
    if Customer.objects.filter(company=company).exists():
        if stdout is not None:
            stdout.write(_("Demo customers already exist: nothing loaded."))
        return logins
    as_of = as_of or default_as_of()
    load_demo(company=company, scale=scale, seed=seed, as_of=as_of, stdout=stdout)
    return logins


def _salespeople() -> dict[str, list[User]]:
    out: dict[str, list[User]] = {}
    for key, team_name in TEAM_OF.items():
        out[key] = list(User.objects.filter(role=Role.SALESPERSON, team__name=team_name).order_by("username"))
    return out


@transaction.atomic
def create_customers(*, company, specs, terms: dict[str, PaymentTerm]) -> dict[int, int]:
    """Customers, groups, parents and contacts from ``names.CustomerSpec``; returns index → pk."""
    sales = _salespeople()
    groups = {}
    for name in sorted({s.group for s in specs if s.group}):
        groups[name] = CustomerGroup.objects.get_or_create(company=company, name=name)[0]
    objs = []
    for s in specs:
        people = sales[s.team] or sales["east"] or sales["south"]
        objs.append(Customer(
            company=company, code=s.code, name=s.name, short_name=s.short_name, name_initials=s.name_initials, name_pinyin=s.name_pinyin,
            credit_code=s.credit_code, region=s.region, industry=s.industry, address=s.address,
            owner=people[s.owner_slot % len(people)] if people else None, payment_term=terms[s.term_code],
            group=groups.get(s.group),
        ))
    Customer.objects.bulk_create(objs, batch_size=500)
    ids = dict(Customer.objects.filter(company=company, code__in=[s.code for s in specs]).values_list("code", "pk"))
    by_index = {s.index: ids[s.code] for s in specs}
    for s in specs:
        if s.parent_index is not None:
            Customer.objects.filter(pk=by_index[s.index]).update(parent_id=by_index[s.parent_index])
    Contact.objects.bulk_create([
        Contact(customer_id=by_index[s.index], name=c.name, title=c.title, phone=c.phone, email=c.email,
                wechat_id=c.wechat_id, preferred_channel=c.preferred_channel, language=c.language,
                is_primary=c.is_primary)
        for s in specs for c in s.contacts
    ], batch_size=500)
    return by_index


@contextmanager
def fast_sqlite_load():
    """During a bulk demo load on SQLite, don't wait for the disk on each commit (the load can be
    repeated from scratch if the machine crashes). Restored afterwards."""
    if connection.vendor != "sqlite" or connection.in_atomic_block:  # (tests run inside a transaction)
        yield
        return
    with connection.cursor() as cur:
        cur.execute("PRAGMA synchronous")
        before = cur.fetchone()[0]
        cur.execute("PRAGMA synchronous=OFF")
    try:
        yield
    finally:
        with connection.cursor() as cur:
            cur.execute(f"PRAGMA synchronous={int(before)}")


def load_demo(*, company, scale: float, seed: int, as_of: dt.date, stdout=None) -> Scenario:
    rng = random.Random(seed)
    n_customers = max(10, round(BASE_CUSTOMERS * scale))
    n_documents = max(60, round(BASE_DOCUMENTS * scale))
    specs = generate_customers(rng, n_customers)
    scenario = build_scenario(rng, specs, documents=n_documents, as_of=as_of)
    terms = {t.code: t for t in PaymentTerm.objects.filter(company=company)}
    cust_ids = create_customers(company=company, specs=specs, terms=terms)
    replay = Replayer(company=company, customer_ids=cust_ids, terms=terms)
    events = scenario.events()
    started = time.perf_counter()
    cpu_started = time.process_time()
    gc_was_enabled = gc.isenabled()
    gc.disable()  # tens of thousands of short-lived ORM objects: the cyclic collector only costs time here
    try:
        with fast_sqlite_load(), _progress(stdout, len(events)) as advance:
            batch: list = []  # documents of one day are posted together through ledger.bulk
            for kind, plan in events:
                if kind == "document":
                    batch.append(plan)
                    continue
                if batch:
                    replay.documents(batch)
                    advance(len(batch))
                    batch = []
                getattr(replay, kind)(plan)
                advance()
            if batch:
                replay.documents(batch)
                advance(len(batch))
    finally:
        if gc_was_enabled:
            gc.enable()
    for index, status in scenario.statuses.items():
        Customer.objects.filter(pk=cust_ids[index]).update(status=status)
    from huikuan.banking.demo import load_demo_bank  # a statement waiting in the cash-application queue

    load_demo_bank(company=company, actor=replay.finance, as_of=as_of)
    if stdout is not None:
        took = time.perf_counter() - started
        cpu = time.process_time() - cpu_started
        stdout.write(_(
            "Loaded %(customers)s customers, %(documents)s documents, %(payments)s payments (%(manual)s applied "
            "manually), %(notes)s credit notes, %(write_offs)s write-off requests, %(fapiao)s fapiao as of %(as_of)s: "
            "%(calls)s service calls in %(seconds).1f s (%(cpu).1f s CPU, %(rate).0f calls/s)."
        ) % {
            "customers": len(specs), "documents": len(scenario.documents), "payments": replay.payments,
            "manual": replay.manual, "notes": len(scenario.credit_notes), "write_offs": len(scenario.write_offs),
            "fapiao": len(scenario.fapiaos), "as_of": as_of.isoformat(), "calls": replay.calls, "seconds": took,
            "cpu": cpu, "rate": replay.calls / took,
        })
    return scenario


@contextmanager
def _progress(stdout, total: int):
    if stdout is None:
        yield lambda n=1: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    console = Console(file=stdout)
    with Progress(TextColumn("[bold]" + _("Demo ledger")), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                  console=console, transient=False) as bar:
        task = bar.add_task("events", total=total)
        yield lambda n=1: bar.advance(task, n)


class Replayer:
    """Turns scenario plans into service calls, tracking the ids the services assign."""

    def __init__(self, *, company, customer_ids: dict[int, int], terms: dict[str, PaymentTerm]):
        self.company = company
        self.customer_ids = customer_ids
        self.terms = terms
        self.finance = User.objects.get(username="finance")
        self.credit_manager = User.objects.get(username="credit")
        self.collector = User.objects.get(username="collector")
        self.docs: dict[int, tuple[int, str, Decimal]] = {}  # plan key → (pk, number, total)
        self.payments = 0
        self.manual = 0
        self.calls = 0

    def documents(self, plans) -> None:
        """Post documents (all of one day) in one ``ledger.bulk.post_documents`` transaction."""
        posted = bulk.post_documents(company=self.company, actor=self.finance, documents=[
            bulk.DocumentInput(
                customer_id=self.customer_ids[p.customer], document_date=p.date, total=p.total,
                payment_term_id=self.terms[p.term_code].pk, reference=p.reference, description=p.description,
            )
            for p in plans
        ])
        self.calls += 1
        for p, doc in zip(plans, posted, strict=True):
            self.docs[p.key] = (doc.pk, doc.number, p.total)

    def credit_note(self, plan) -> None:
        doc_id, number, total = self.docs[plan.doc]
        amount = round_money(total * plan.percent / Decimal(100))
        if amount <= 0:
            return
        services.issue_credit_note(
            company=self.company, customer_id=self.customer_ids[plan.customer], amount=amount, date=plan.date,
            reason=f"{plan.reason} ({number})", actor=self.finance, document_id=doc_id,
            keep_rest_as_credit=True,  # a 折让 on an invoice already paid stays as credit, as bench/generate.py plays it
        )
        self.calls += 1

    def _open_items(self, customer_id: int) -> dict[tuple[int, int], OpenItem]:
        """The customer's open instalments keyed by (document pk, seq)."""
        rows = Instalment.objects.filter(customer_id=customer_id, open_amount__gt=0).values_list(
            "document_id", "seq", "pk", "due_date", "open_amount", "amount", "discount_amount", "discount_date")
        return {(r[0], r[1]): OpenItem(*r[2:]) for r in rows}

    def payment(self, plan) -> None:
        customer_id = self.customer_ids[plan.customer]
        items = self._open_items(customer_id)
        intended: list[PlanLine] = []
        numbers = []
        for t in plan.targets:
            doc_id, number, _total = self.docs[t.doc]
            item = items.get((doc_id, t.seq))
            if item is None:
                continue
            numbers.append(number)
            disc = discount_available(item, plan.date) if t.take_discount and t.fraction == 1 else ZERO
            if disc > 0:
                intended.append(PlanLine(item.instalment_id, item.open_amount - disc, disc))
            else:
                amount = item.open_amount if t.fraction == 1 else round_money(item.open_amount * t.fraction)
                if amount > 0:
                    intended.append(PlanLine(item.instalment_id, amount))
        cash = sum((line.amount for line in intended), ZERO) + plan.extra
        if cash <= 0:
            return
        auto = plan_oldest_first(available=cash, items=list(items.values()), on=plan.date)
        key = lambda line: line.instalment_id  # noqa: E731
        use_auto = sorted(auto, key=key) == sorted(intended, key=key)
        if not use_auto and any(line.discount for line in intended):
            # the discount is only taken by oldest-first application; pay these in full instead
            intended = [PlanLine(line.instalment_id, line.amount + line.discount) for line in intended]
            cash = sum((line.amount for line in intended), ZERO) + plan.extra
        uniq = list(dict.fromkeys(numbers))
        memo = (" ".join(uniq[:3]) + " 货款") if uniq and len(plan.reference) % 2 == 0 else "货款"
        credit = services.record_payment(
            company=self.company, customer_id=customer_id, amount=cash, date=plan.date, actor=self.finance,
            method=plan.method, reference=plan.reference, memo=memo, bill_number=plan.bill_number,
            bill_acceptor=plan.bill_acceptor, bill_maturity_date=plan.bill_maturity_date, auto_allocate=use_auto,
        )
        self.calls += 1
        self.payments += 1
        if not use_auto and intended:
            services.allocate(
                company=self.company, credit_id=credit.pk, actor=self.finance, on=plan.date,
                plan=[services.AllocationInput(line.instalment_id, line.amount) for line in intended],
            )
            self.calls += 1
            self.manual += 1

    def write_off(self, plan) -> None:
        inst_id, open_amount = Instalment.objects.values_list("pk", "open_amount").get(
            document_id=self.docs[plan.doc][0], seq=plan.seq)
        if open_amount <= 0:
            return
        kwargs = dict(company=self.company, instalment_id=inst_id, amount=open_amount, reason=plan.reason)
        if plan.decision == "reject_then_approve":
            req = services.request_write_off(actor=self.collector, **kwargs)
            services.decide_write_off(company=self.company, request_id=req.pk, approve=False, actor=self.credit_manager,
                                      note="请先取得法院终结裁定", on=plan.date)
            self.calls += 2
        req = services.request_write_off(actor=self.finance, **kwargs)
        self.calls += 1
        if plan.decision != "pending":
            services.decide_write_off(company=self.company, request_id=req.pk, approve=True, actor=self.credit_manager,
                                      note="同意核销", on=plan.date)
            self.calls += 1

    def fapiao(self, plan) -> None:
        doc_id, _number, total = self.docs[plan.doc]
        f = ledger_fapiao.record_fapiao(
            company=self.company, customer_id=self.customer_ids[plan.customer], number=plan.number,
            fapiao_type=plan.fapiao_type, issue_date=plan.date, amount=total, actor=self.finance, document_id=doc_id,
        )
        self.calls += 1
        if plan.red_number:
            ledger_fapiao.red_reverse_fapiao(company=self.company, fapiao_id=f.pk, red_number=plan.red_number,
                                             issue_date=plan.red_date, actor=self.finance)
            self.calls += 1
