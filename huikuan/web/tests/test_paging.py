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


@pytest.mark.parametrize("order", [("code",), ("-code",), ("name", "code"), ("-name", "-code")])
def test_ids_with_count_give_every_page_of_the_plain_paginator_in_one_statement(company, users, order,
                                                                                 django_assert_num_queries):
    """``ids_with_count`` (common.paging.count_and_page): under the cap the count's statement reads the page's ids
    too — the same ids, count and pages as counting and slicing apart, in one statement."""
    qs = _customers(company, users["salesperson"], 7).order_by(*order)
    ids = qs.values_list("pk", flat=True)
    for number in range(1, 5):
        plain = CappedPaginator(ids, 2, number=number, cap=10)
        expected = (plain.count, plain.capped, list(plain.page(number)))
        both = CappedPaginator(ids, 2, number=number, cap=10, count_queryset=qs, ids_with_count=True)
        with django_assert_num_queries(1):
            got = (both.count, both.capped, list(both.page(number)))
        assert got == expected
        assert len(got[2]) == (2 if number < 4 else 1)


def test_ids_with_count_past_the_cap_or_the_last_page_read_the_usual_way(company, users, django_assert_num_queries):
    from django.core.paginator import EmptyPage

    qs = _customers(company, users["salesperson"], 12)
    ids = qs.values_list("pk", flat=True)
    capped = CappedPaginator(ids, 2, number=2, cap=5, count_queryset=qs, ids_with_count=True)
    with django_assert_num_queries(2):  # counted up to 6 (capped): the 6 rows read are not all, the page is read again
        page = list(capped.page(2))
    assert (capped.count, capped.capped, page) == (6, True, list(ids[2:4]))
    past = CappedPaginator(ids, 2, number=9, cap=5, count_queryset=qs, ids_with_count=True)
    with pytest.raises(EmptyPage):
        past.page(9)  # the count's page came back empty: counted again, then the page is missing
    assert (past.count, past.capped) == (12, False)
    none = CappedPaginator(ids.filter(code="nothing"), 2, number=1, cap=5, ids_with_count=True)
    with django_assert_num_queries(1):
        assert (none.count, list(none.page(1))) == (0, [])
    for empty in (ids.none(), ids.filter(pk__in=[])):  # no statement can be made: none is run
        p = CappedPaginator(empty, 2, number=1, cap=5, ids_with_count=True)
        with django_assert_num_queries(0):
            assert (p.count, list(p.page(1))) == (0, [])


def test_ids_with_count_need_a_plain_ordering(company, users, django_assert_num_queries):
    """An ordering through a relation or an expression is counted and paged apart, as before."""
    from django.db.models.functions import Lower

    qs = _customers(company, users["salesperson"], 5)
    for ordering in (("owner__username", "code"), (Lower("name"), "code")):
        ids = qs.order_by(*ordering).values_list("pk", flat=True)
        p = CappedPaginator(ids, 2, number=1, cap=10, ids_with_count=True)
        with django_assert_num_queries(2):
            assert (p.count, len(list(p.page(1)))) == (5, 2)
