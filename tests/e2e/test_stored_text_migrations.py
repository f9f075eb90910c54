"""Rows stored before texts became codes are converted by the data migrations: sentences the system wrote
(in either language) become codes, a person's words stay as they were."""

from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import translation

from huikuan.common.texts import Text

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("credit", "0001_initial"), ("collections", "0003_cap_kind_label")]
AFTER = [("credit", "0002_stored_texts"), ("collections", "0004_stored_texts")]


def _migrate(targets):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(targets)
    return executor.loader.project_state(targets).apps


def test_old_sentences_become_codes_and_typed_words_stay(company, customer, other_customer, users):
    with translation.override("zh-hans"):
        zh_rule = str(Text("credit.hold.overdue_rule", days=45, amount=Decimal("12345.60"), grade="C"))
        zh_broken = str(Text("collections.note.promise_broken", amount=Decimal("4000.00"), date="2026-02-01",
                             paid=Decimal("0.00")))
        zh_reason = str(Text("credit.check.over_limit", over=Decimal("1000.00")))
    with translation.override("en"):
        en_released = str(Text("credit.notify.order_released", ref="SO-9", note="ok", amount=Decimal("1"), requested=Decimal("1")))
    try:
        old = _migrate(BEFORE)
        Profile = old.get_model("credit", "CreditProfile")
        Profile.objects.create(company_id=company.pk, customer_id=customer.pk, on_hold=True, hold_source="automatic",
                               hold_reason=zh_rule)
        Profile.objects.create(company_id=company.pk, customer_id=other_customer.pk, on_hold=True, hold_source="manual",
                               hold_reason="支票退票")
        Order = old.get_model("credit", "SalesOrder")
        Order.objects.create(company_id=company.pk, customer_id=customer.pk, reference="SO-9", amount=5, requested_amount=5,
                             status="held", check_outcome="hold", decision_note="客户要求",
                             check_reasons=[{"severity": "hold", "code": "over_limit", "message": zh_reason}])
        Notification = old.get_model("credit", "Notification")
        Notification.objects.create(company_id=company.pk, user_id=users["admin"].pk, customer_id=customer.pk,
                                    message=en_released)
        Task = old.get_model("collections", "Task")
        Task.objects.create(company_id=company.pk, customer_id=customer.pk, kind="call", due="2026-03-02",
                            note=zh_broken, source="promise")
        Task.objects.create(company_id=company.pk, customer_id=customer.pk, kind="call", due="2026-03-02",
                            note="下午再打", source="manual")

        new = _migrate(AFTER)
        profiles = {p.customer_id: p.hold_reason for p in new.get_model("credit", "CreditProfile").objects.all()}
        assert profiles[customer.pk] == Text("credit.hold.overdue_rule", days=45, amount=Decimal("12345.60"), grade="C")
        assert profiles[other_customer.pk] == "支票退票"
        order = new.get_model("credit", "SalesOrder").objects.get()
        assert order.decision_note == "客户要求"
        assert order.check_reasons == [{"severity": "hold", "code": "over_limit",
                                        "text": {"code": "credit.check.over_limit", "params": {"over": {"money": "1000.00"}}}}]
        note = new.get_model("credit", "Notification").objects.get().message
        assert isinstance(note, Text) and note.code == "credit.notify.order_released"
        with translation.override("zh-hans"):
            assert "SO-9" in str(note) and "released" not in str(note)
        notes = {t.source: t.note for t in new.get_model("collections", "Task").objects.all()}
        assert isinstance(notes["promise"], Text) and notes["promise"].code == "collections.note.promise_broken"
        with translation.override("en"):
            assert str(notes["promise"]) == "Promise broken: 4,000.00 promised by 2026-02-01, 0.00 paid"
        assert notes["manual"] == "下午再打"
    finally:
        call_command("migrate", verbosity=0)
