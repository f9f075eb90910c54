import json
from decimal import Decimal as D
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from huikuan.credit import services
from huikuan.credit.models import CreditProfile, ScoreSnapshot

pytestmark = pytest.mark.django_db


def test_rescore_and_check(company, customer):
    out = StringIO()
    call_command("credit", "rescore", "--as-of", "2026-03-02", stdout=out)
    assert "scored 1 customers" in out.getvalue()
    assert ScoreSnapshot.objects.filter(customer=customer).count() == 1
    CreditProfile.objects.filter(customer=customer).update(limit_amount=D("100"))
    out = StringIO()
    call_command("credit", "--company", company.code, "check", customer.code, "150", "--as-of", "2026-03-02", "--json",
                 stdout=out)
    got = json.loads(out.getvalue())
    assert got["outcome"] == "hold" and got["available"] == "100.00"
    assert any(r["code"] == "over_limit" for r in got["reasons"])
    with pytest.raises(CommandError):
        call_command("credit", "--company", company.code, "check", "NOPE", "1")
    with pytest.raises(CommandError):
        call_command("credit", "--company", company.code, "check", customer.code, "-1")


def test_holds_command(company, customer):
    services.policy_of(company)
    out = StringIO()
    call_command("credit", "holds", "--as-of", "2026-03-02", stdout=out)
    assert "placed 0, lifted 0" in out.getvalue()
