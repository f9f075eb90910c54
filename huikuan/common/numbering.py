"""Next number in a series, e.g. INV-2026-000123. Call inside the caller's transaction."""

from django.db import IntegrityError, transaction
from django.db.models import F

from .models import NumberSequence


def next_number(*, company_id: int, series: str, year: int, width: int = 6) -> str:
    for _ in range(2):
        updated = NumberSequence.objects.filter(company_id=company_id, series=series, year=year).update(
            last=F("last") + 1
        )
        if updated:
            break
        try:
            with transaction.atomic():
                NumberSequence.objects.create(company_id=company_id, series=series, year=year, last=1)
            break
        except IntegrityError:
            continue
    last = NumberSequence.objects.get(company_id=company_id, series=series, year=year).last
    return f"{series}-{year}-{last:0{width}d}"
