"""Stored texts through the apps' services: a hold reason round-trips its column, a customer's field
changes read as old → new in the reader's language."""

import re
from decimal import Decimal

from django.utils import translation

from huikuan.common import audit
from huikuan.common.models import AuditEvent
from huikuan.common.texts import Text


def test_stored_text_field_round_trip(company, customer, users):
    from huikuan.credit import services
    from huikuan.credit.models import CreditProfile

    reason = Text("credit.hold.overdue_rule", days=40, amount=Decimal("900.00"), grade="C")
    services.place_hold(company=company, customer_id=customer.pk, reason=reason, source="automatic", actor=None)
    p = CreditProfile.objects.get(customer=customer)
    assert p.hold_reason == reason
    services.release_hold(company=company, customer_id=customer.pk, reason="", source="manual", actor=users["admin"])
    services.place_hold(company=company, customer_id=customer.pk, reason="  cheque bounced ", source="manual",
                        actor=users["admin"])
    assert CreditProfile.objects.get(customer=customer).hold_reason == "cheque bounced"


def test_field_changes_show_old_and_new_in_the_readers_language(company, customer, users):
    from huikuan.customers import services as cs

    cs.update_customer(customer_id=customer.pk, actor=users["admin"], expected_version=customer.version,
                       name="上海华东机械股份有限公司", owner=users["sales_west"], status="suspended")
    ev = AuditEvent.objects.filter(verb="customers.customer.updated").latest("id")
    with translation.override("en"):
        (d,) = audit.describe([ev])
    assert d.title == "Customer details changed"
    assert "上海华东机械有限公司 → 上海华东机械股份有限公司" in d.detail
    assert "sales_east → sales_west" in d.detail  # users by name, not by id
    with translation.override("zh-hans"):
        (z,) = audit.describe([ev])
    assert z.title != d.title and "→" in z.detail
    assert not re.search(r"\b(name|owner|status)\b", z.detail)
