"""The credit part of the daily run: re-score, then place and lift automatic holds by the hold rule."""

from __future__ import annotations

import datetime as dt

from huikuan.common.texts import Text

from . import calculations as calc
from . import selectors, services
from .models import CreditProfile, HoldSource


def apply_hold_rules(*, company, as_of: dt.date, actor=None) -> dict:
    """Automatic holds: place one where the grade's hold rule is met, lift our own where it no longer is.

    Manual, dunning and playbook holds are left alone. Overdue figures are one GROUP BY over the
    company's open instalments.
    """
    policy = services.policy_of(company)
    rules = {g.code: g for g in policy.grades.all() if g.hold_days_overdue is not None or g.hold_overdue_amount is not None}
    overdue = selectors.overdue_by_customer(company=company, as_of=as_of)
    placed = lifted = 0
    for prof in CreditProfile.objects.filter(company=company).only("customer_id", "grade", "on_hold", "hold_source"):
        grade = rules.get(prof.grade)
        od = overdue.get(prof.customer_id)
        hit = bool(grade and od and calc.hold_rule_triggered(
            max_days_overdue=od.max_days, overdue_amount=od.amount, hold_days=grade.hold_days_overdue,
            hold_amount=grade.hold_overdue_amount))
        if hit and not prof.on_hold:
            reason = Text("credit.hold.overdue_rule", days=od.max_days, amount=od.amount, grade=grade.code)
            services.place_hold(company=company, customer_id=prof.customer_id, reason=reason,
                                source=HoldSource.AUTOMATIC, actor=actor)
            placed += 1
        elif not hit and prof.on_hold and prof.hold_source == HoldSource.AUTOMATIC:
            services.release_hold(company=company, customer_id=prof.customer_id, reason=Text("credit.hold.overdue_cleared"),
                                  source=HoldSource.AUTOMATIC, actor=actor)
            lifted += 1
    return {"placed": placed, "lifted": lifted}


def run_daily(company, day: dt.date) -> str:
    from .scoring import rescore

    scored = rescore(company=company, as_of=day)
    holds = apply_hold_rules(company=company, as_of=day)
    reviews = CreditProfile.objects.filter(company=company, next_review_date__lt=day).count()
    expired = CreditProfile.objects.filter(company=company, valid_to__lt=day, limit_amount__gt=0).count()
    return (f"scored {scored['customers']}, grade changes {scored['grade_changes']}, holds placed {holds['placed']}, "
            f"lifted {holds['lifted']}, reviews overdue {reviews}, limits expired {expired}")


def daily(company, day: dt.date):
    return lambda: run_daily(company, day)
