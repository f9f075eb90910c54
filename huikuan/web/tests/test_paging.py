import pytest

from huikuan.common.paging import CappedPaginator
from huikuan.customers.models import Customer

pytestmark = pytest.mark.django_db


def _customers(company, owner, n):
    Customer.objects.bulk_create([Customer(company=company, code=f"PG{i:03d}", name=f"分页{i}", owner=owner) for i in range(n)])
    return Customer.objects.filter(company=company, code__startswith="PG").order_by("code")


def test_count_is_exact_below_the_cap(company, users):
    qs = _customers(company, users["salesperson"], 7)
    p = CappedPaginator(qs, 2, number="1", cap=10)
    assert (p.count, p.capped, p.num_pages) == (7, False, 4)
    assert [c.code for c in p.get_page(4)] == ["PG006"]


def test_count_stops_at_the_cap_and_the_next_page_stays_reachable(company, users, django_assert_max_num_queries):
    qs = _customers(company, users["salesperson"], 30)
    p = CappedPaginator(qs, 2, number=1, cap=5)
    assert (p.count, p.capped) == (6, True)  # "more than 5"
    page = p.get_page(1)
    assert page.has_next()
    # asking for a page past the cap counts just far enough to know whether one more page exists
    p = CappedPaginator(qs, 2, number="9", cap=5)
    page = p.get_page("9")
    assert p.count == 19 and p.capped
    assert [c.code for c in page] == ["PG016", "PG017"] and page.has_next()
    p = CappedPaginator(qs, 2, number="15", cap=5)
    page = p.get_page("15")
    assert (p.count, p.capped, page.has_next()) == (30, False, False)
    with django_assert_max_num_queries(1):
        CappedPaginator(qs, 2, number="x", cap=5).count  # noqa: B018  bad page numbers count like page 1


def test_a_huge_page_number_is_a_missing_page_not_an_error(company, users):
    from django.core.paginator import EmptyPage

    qs = _customers(company, users["salesperson"], 3)
    p = CappedPaginator(qs, 2, number="9223372036854775807", cap=5)
    assert p.count == 3
    with pytest.raises(EmptyPage):
        p.page("9223372036854775807")
