"""The precision guarantee on a labelled synthetic set: no wrong automatic application, ever."""

import datetime as dt
import random

import pytest

from huikuan.banking import labelled, services
from huikuan.banking.models import BankLine

pytestmark = pytest.mark.django_db
DAY = dt.date(2026, 3, 2)


@pytest.mark.parametrize("seed", [7, 2026])
def test_no_wrong_automatic_application_on_300_labelled_lines(company, users, seed):
    actor = users["finance"]
    rng = random.Random(seed)
    labelled.build_world(company=company, actor=actor, rng=rng, customers=120, day=DAY)
    truths = labelled.make_lines(company=company, rng=rng, count=300, day=DAY)
    assert len(truths) == 300
    assert len({t.scenario for t in truths.values()}) >= 10
    services.match_lines(company=company, line_ids=list(truths), actor=actor, on=DAY)
    score = labelled.evaluate(truths)
    assert score.wrong_auto == 0, score.wrong[:5]
    assert score.auto_share >= 0.35  # most exact, referenced and combined payments need nobody
    assert score.first_share >= 0.75
    assert BankLine.objects.filter(pk__in=truths, status="auto_applied").count() == score.auto
