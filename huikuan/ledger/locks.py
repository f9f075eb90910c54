"""Row locks in the project-wide order: customer → instalments by pk → credits by pk.

On PostgreSQL these are SELECT … FOR UPDATE; on SQLite the IMMEDIATE transaction already holds the
database write lock, so ``select_for_update`` is a no-op there and the order still holds.
"""

from collections.abc import Iterable

from huikuan.customers.models import Customer

from .models import Credit, Instalment


def customer(customer_id: int, *, company_id: int | None = None) -> Customer:
    qs = Customer.objects.select_for_update()
    if company_id is not None:
        qs = qs.filter(company_id=company_id)
    return qs.get(pk=customer_id)


def instalments(ids: Iterable[int]) -> list[Instalment]:
    return list(Instalment.objects.select_for_update().filter(pk__in=set(ids)).order_by("pk"))


def open_instalments_of(customer_id: int, *, document_id: int | None = None) -> list[Instalment]:
    qs = Instalment.objects.select_for_update().filter(customer_id=customer_id, open_amount__gt=0)
    if document_id is not None:
        qs = qs.filter(document_id=document_id)
    return list(qs.order_by("pk"))


def credits(ids: Iterable[int]) -> list[Credit]:
    return list(Credit.objects.select_for_update().filter(pk__in=set(ids)).order_by("pk"))


def credit(credit_id: int) -> Credit:
    return Credit.objects.select_for_update().get(pk=credit_id)
