"""Writes of the prediction app: invoice history facts, model versions (train, activate, roll back)."""

from __future__ import annotations

import datetime as dt
import pickle
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from django.db import transaction
from django.db.models import Max
from django.utils.translation import gettext as _

from huikuan.accounts.models import Company
from huikuan.common import audit
from huikuan.common.errors import DomainError
from huikuan.ledger import bulk

from . import engine, model
from .models import Delivery, DocumentFacts, ItemPrediction, ModelVersion


@dataclass(frozen=True, slots=True)
class FactsInput:
    document_id: int
    disputed: bool = False
    delivery: str = ""
    region: str = ""


@transaction.atomic(durable=True)
def record_document_facts(*, company, facts: Sequence[FactsInput], actor) -> int:
    """Store disputed / delivery channel / region of many documents (a history import), one audit event.

    Only the rows that say something are stored; a document already having facts is refused by the
    one-to-one constraint (the history import never posts a document twice). Returns rows written.
    """
    deliveries = set(Delivery.values)
    rows = [{"company_id": company.pk, "document_id": f.document_id, "disputed": f.disputed,
             "delivery": f.delivery if f.delivery in deliveries else "", "region": f.region[:50]}
            for f in facts if f.disputed or f.delivery or f.region]
    bulk.insert_rows(DocumentFacts, rows)  # 100,000 of them from a history file: no model instances
    if rows:
        audit.record(actor=actor, verb="prediction.facts.recorded", company_id=company.pk,
                     summary=f"{len(rows)}", data={"documents": len(rows)})
    return len(rows)


# ---------------------------------------------------------------- model versions


class NothingToTrain(DomainError):
    code = "prediction_nothing_to_train"


def _fit(*, company, as_of: dt.date, seed: int = 0):
    """Everything a version needs, computed outside the writing transaction (it takes seconds).

    Memory: the backtest runs first, then the final training set is copied out and the items and the full
    feature matrix are released before the final fit (at 2 M items the three together passed 1 GB)."""
    from .features import FEATURES, features, load_items

    items = load_items(company=company, until=as_of)
    n_train = int((items.due_date < as_of.toordinal() - engine.TRAIN_SETTLE_GAP).sum())  # len(training_set)
    if n_train < 50:
        raise NothingToTrain(_("Too little payment history to train on: %(n)d items due more than 30 days before "
                               "%(day)s (at least 50).") % {"n": n_train, "day": as_of}, field="as_of")
    X = features(items, items.document_date)
    first = dt.date.fromordinal(int(items.document_date.min()))
    cutoff = engine.default_cutoff(items)
    figures, live = {}, "model"
    if cutoff is not None:
        try:
            bt = engine.backtest(company=company, cutoff=cutoff, items=items, X=X, seed=seed)
            figures, live = bt.figures, bt.live
        except engine.BacktestError:
            cutoff = None
    Xt, dlt, known = engine.training_set(items, X, as_of.toordinal(), with_known=True)
    del items, X
    trained = model.train(Xt, dlt, seed=seed, known=known)
    return trained, {"window_start": first, "window_end": as_of, "cutoff": cutoff or as_of, "items": len(Xt),
                     "features": list(FEATURES), "backtest": figures, "live": live}


def train_model(*, company, as_of: dt.date, actor=None, activate: bool = True, seed: int = 0) -> ModelVersion:
    """Train a new version on everything known on ``as_of``, backtest it (cutoff three quarters into the
    data) and store it; ``activate`` makes it the live one. The fitting runs before the (short) writing
    transaction. Raises NothingToTrain when there is too little settled history."""
    started = time.monotonic()
    trained, meta = _fit(company=company, as_of=as_of, seed=seed)
    blob = pickle.dumps(trained, protocol=pickle.HIGHEST_PROTOCOL)
    version = _store(company=company, actor=actor, blob=blob, meta=meta, activate=activate,
                     seconds=Decimal(str(round(time.monotonic() - started, 2))))
    if activate:
        refresh_predictions(company=company, as_of=as_of, actor=actor, active=(version, trained))
    return version


@transaction.atomic(durable=True)
def _store(*, company, actor, blob: bytes, meta: dict, activate: bool, seconds: Decimal) -> ModelVersion:
    Company.objects.select_for_update().filter(pk=company.pk).first()  # versions numbered one at a time
    last = ModelVersion.objects.filter(company=company).aggregate(v=Max("version"))["v"] or 0
    if activate:
        ModelVersion.objects.filter(company=company, is_active=True).update(is_active=False)
    version = ModelVersion.objects.create(company=company, version=last + 1, trained_by=actor if getattr(actor, "pk", None)
                                          else None, blob=blob, is_active=activate, seconds=seconds,
                                          **{**meta, "backtest": _plain(meta["backtest"])})
    audit.record(actor=actor, verb="prediction.model.trained", target=version, company_id=company.pk,
                 summary=f"v{version.version} {meta['live']} {meta['items']}",
                 data={"version": version.version, "live": meta["live"], "items": meta["items"],
                       "accuracy": {k: v.get("accuracy") for k, v in meta["backtest"].items()}})
    return version


@transaction.atomic(durable=True)
def activate_version(*, company, version: int, actor) -> ModelVersion:
    """Make ``version`` the live model (a rollback is activating an earlier one)."""
    Company.objects.select_for_update().filter(pk=company.pk).first()
    target = ModelVersion.objects.filter(company=company, version=version).first()
    if target is None:
        raise NothingToTrain(_("There is no model version %(v)s.") % {"v": version}, field="version")
    ModelVersion.objects.filter(company=company, is_active=True).exclude(pk=target.pk).update(is_active=False)
    if not target.is_active:
        ModelVersion.objects.filter(pk=target.pk).update(is_active=True)
        target.is_active = True
    audit.record(actor=actor, verb="prediction.model.activated", target=target, company_id=company.pk,
                 summary=f"v{target.version}", data={"version": target.version})
    return target


def activate(*, company, version: int, actor, as_of: dt.date | None = None) -> ModelVersion:
    """Activate ``version`` and refresh the stored predictions with it (as of ``as_of``, default the
    company's business date) — what the versions page and ``huikuan predict activate`` call."""
    from huikuan.common import clock

    target = activate_version(company=company, version=version, actor=actor)
    refresh_predictions(company=company, as_of=as_of or clock.today(company), actor=actor)
    return target


def active_model(company) -> tuple[ModelVersion, model.Trained] | None:
    version = ModelVersion.objects.filter(company=company, is_active=True).first()
    if version is None:
        return None
    return version, pickle.loads(bytes(version.blob))  # noqa: S301 - our own bytes, written by train_model


def _plain(value):
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# ---------------------------------------------------------------- stored predictions

WRITE_CHUNK = 50_000  # rows formatted and sent at a time by ``refresh_predictions`` (bounds its memory)
_COLUMNS = ("company_id", "version_id", "source", "as_of", "updated_at", "instalment_id", "customer_id",
            "document_id", "due_date", "p_late", "p_late_30", "p_late_90", "predicted_date", "low_date", "high_date",
            "reasons")


def _p4(values) -> np.ndarray:
    """Probabilities as ten-thousandths (whole numbers, half-even as Python's ``round``) for the 4-place columns."""
    return np.rint(np.asarray(values, dtype=np.float64) * 10000).astype(np.int64)


def _p4_text(k: int) -> str:
    """Ten-thousandths as the decimal text of the column (what ``Decimal(k) * Decimal("0.0001")`` prints)."""
    return f"{'-' if k < 0 else ''}{abs(k) // 10000}.{abs(k) % 10000:04d}"


_P4_TEXT = np.array([_p4_text(k) for k in range(10001)], dtype=object)


def _p4_texts(k: np.ndarray) -> list[str]:
    if len(k) and (k.min() < 0 or k.max() > 10000):  # outside [0, 1] by a rounding hair: spelled out
        return [_p4_text(v) for v in k.tolist()]
    return _P4_TEXT[k].tolist()


def refresh_predictions(*, company, as_of: dt.date, actor=None, active=None, chunk: int = WRITE_CHUNK) -> int:
    """Replace ``company``'s stored predictions with the live model's output for every instalment open on
    ``as_of``. Set-wise: the open items and their features read once (``engine.open_items``), then, in one
    transaction with the company locked, the company's rows deleted and the new ones predicted and written ``chunk``
    rows at a time (the model, the reasons of the chunk's items at once — ``engine.reasons_json`` — then COPY on
    PostgreSQL, sent by a writer thread so the next chunk is predicted while the database stores this one; one
    prepared INSERT bound to every row on SQLite; no model instances, no Decimal or date object per row:
    probabilities are ten-thousandths rounded half-even, dates ISO texts looked up once per distinct day) — and
    one audit event. No active model: the stored rows are removed (nothing predicts). Then the worklist is
    recomputed. Returns rows stored."""
    active = active or active_model(company)
    if active is None:
        with transaction.atomic():
            deleted, _ = ItemPrediction.objects.filter(company=company).delete()
        _requeue(company, as_of)
        return 0
    version, trained = active
    opened = engine.open_items(company=company, as_of=as_of, trained=trained, live=version.live)
    n = store_predictions(company=company, version=version, pred=opened, actor=actor, chunk=chunk)
    _requeue(company, as_of)
    return n


@transaction.atomic(durable=True)
def store_predictions(*, company, version: ModelVersion, pred: engine.OpenPredictions | engine.OpenItems,
                      actor=None, chunk: int = WRITE_CHUNK) -> int:
    """The writing half of ``refresh_predictions``: with the company locked (one refresh at a time), its stored
    rows deleted and ``pred``'s written (``engine.OpenItems``: predicted chunk by chunk as they are written), one
    audit event, in one transaction. Returns rows stored."""
    from django.utils import timezone

    Company.objects.select_for_update().filter(pk=company.pk).first()
    ItemPrediction.objects.filter(company=company).delete()
    n = len(pred)
    _write_predictions(company=company, version=version, pred=pred, as_of=pred.as_of, now=timezone.now(), chunk=chunk)
    audit.record(actor=actor, verb="prediction.predictions.refreshed", target=version, company_id=company.pk,
                 summary=f"v{version.version} {pred.as_of} {n}", data={"version": version.version,
                                                                       "as_of": str(pred.as_of), "items": n,
                                                                       "source": pred.source})
    return n


def _write_predictions(*, company, version, pred, as_of: dt.date, now, chunk: int) -> None:
    """Insert one ``ItemPrediction`` row per item of ``pred`` (inside the caller's transaction), ``chunk`` items at a
    time: ``pred.rows(start, stop)`` gives (or computes) their predictions."""
    from django.db import connections, router

    connection = connections[router.db_for_write(ItemPrediction)]
    n = len(pred)
    if not n:
        return
    fields = {f.attname: f for f in ItemPrediction._meta.concrete_fields}
    # the columns equal on every row, in the database's form once (what the ORM would send)
    constant = [fields[name].get_db_prep_save(value, connection) for name, value in
                (("company_id", company.pk), ("version_id", version.pk), ("source", pred.source), ("as_of", as_of),
                 ("updated_at", now))]
    qn = connection.ops.quote_name
    table = qn(ItemPrediction._meta.db_table)
    columns = ", ".join(qn(fields[name].column) for name in _COLUMNS)

    def chunks():
        for s in range(0, n, chunk):
            part = pred.rows(s, min(s + chunk, n))
            it = part.items
            # every date column through one table of the chunk's distinct days (ISO text)
            day_cols = (it.due_date, part.predicted, part.low, part.high)
            days, inverse = np.unique(np.concatenate([np.asarray(c, dtype=np.int64) for c in day_cols]),
                                      return_inverse=True)
            iso = np.array([dt.date.fromordinal(int(d)).isoformat() for d in days.tolist()], dtype=object)
            day_index = inverse.reshape(len(day_cols), len(it))
            # JSON texts of the reasons (codes, numbers: never a tab, newline or backslash to escape for COPY)
            reasons = engine.reasons_json(part.X, as_of.toordinal() - it.due_date)
            yield zip(it.id.tolist(), it.customer.tolist(), it.document.tolist(), iso[day_index[0]].tolist(),
                      *(_p4_texts(_p4(p)) for p in (part.p_late, part.p_late_30, part.p_late_90)),
                      *(iso[day_index[k]].tolist() for k in range(1, 4)), reasons.tolist(), strict=True)

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            from psycopg.copy import QueuedLibpqWriter

            # one COPY for every chunk, sent by a writer thread: the backend stores a chunk while this process
            # predicts and formats the next (the model's trees and numpy run without the interpreter lock)
            head = "\t".join(str(v) for v in constant) + "\t"
            raw = cursor.cursor
            with raw.copy(f"COPY {table} ({columns}) FROM STDIN", writer=QueuedLibpqWriter(raw)) as copy:
                for rows in chunks():
                    copy.write("".join([head + "\t".join(map(str, row)) + "\n" for row in rows]))
        else:
            sql = f"INSERT INTO {table} ({columns}) VALUES ({', '.join(['%s'] * len(_COLUMNS))})"
            for rows in chunks():
                cursor.executemany(sql, [(*constant, *row) for row in rows])


def _requeue(company, as_of: dt.date) -> None:
    """The collections worklist's snapshot reads the stored predictions (its prediction column and factor):
    recompute it now rather than at tomorrow's daily job, which runs before this app's refresh."""
    from huikuan.collections.worklist import refresh_queue

    refresh_queue(company=company, as_of=as_of)
