"""Customer search through trigram indexes (issue 19, huikuan/customers/search.py): the same rows as the
plain LIKE conditions for terms of three or more characters, by prefix for one or two letters, the index
really used (PostgreSQL) and kept in sync by triggers (SQLite)."""

import pytest
from django.db import connection, transaction
from django.db.models import Q

from huikuan.customers import search, selectors, services
from huikuan.customers.models import Customer

pytestmark = pytest.mark.django_db

NAMES = [
    ("A001", "上海华东机械有限公司", "华东机械"),
    ("A002", "杭州西湖贸易有限公司", ""),
    ("A003", "宁波东海五金有限公司", "东海"),
    ("A004", "Marshall Trading Co., Ltd.", "Marshall"),
    ("A005", "Shanghai Hua Dong 100% Ltd", "HD_1"),
    ("A006", "成都西部物流有限公司", "西部"),
    ("SH01", "北京明珠科技有限公司", ""),
    ("A008", "深圳市南方电子科技有限公司", "南方电子"),
    ("A009", 'O\'Brien "Quotes" Ltd', ""),
]


@pytest.fixture
def book(company, users):
    for code, name, short in NAMES:
        services.create_customer(
            company=company,
            actor=users["admin"],
            code=code,
            name=name,
            short_name=short,
            owner=users["sales_east"],
        )
    return company


def _plain(company, q):
    """The conditions of customer_list before the trigram prefilter (the reference)."""
    initials = q.lower().replace(" ", "")
    contains = "contains" if q.upper() == q.lower() else "icontains"
    match = Q(code__istartswith=q) | Q(**{f"name__{contains}": q}) | Q(**{f"short_name__{contains}": q})
    if initials.isascii() and initials.isalnum():
        match |= Q(name_initials__startswith=initials) | Q(name_initials__contains=" " + initials)
    return sorted(Customer.objects.filter(company=company).filter(match).values_list("code", flat=True))


def _found(users, company, q):
    return sorted(
        selectors.customer_list(user=users["finance"], company=company, q=q).values_list("code", flat=True)
    )


@pytest.mark.parametrize(
    "q",
    [
        "华东机",
        "西湖贸",
        "有限公司",
        "东海五金",
        "shhd",
        "hzxh",
        "SHHD",
        "Marshall",
        "marsh",
        "trading co",
        "100%",
        "HD_1",
        "d_1",
        "00%",
        "A00",
        "a00",
        "SH0",
        "O'Brien",
        '"Quotes"',
        "Ltd",
        "zzz",
        "科技有",
    ],
)
def test_three_or_more_characters_give_the_plain_like_rows(users, book, q):
    assert _found(users, book, q) == _plain(book, q)


def test_the_prefilter_is_in_the_query(users, book):
    """Without the index's prefilter the search is a scan of every customer of the company."""
    sql = str(selectors.customer_list(user=users["finance"], company=book, q="西湖贸").query)
    if connection.vendor == "postgresql":
        assert search.search_text_sql("customers_customer") in sql
    else:
        assert search.FTS_TABLE in sql and "MATCH" in sql


@pytest.mark.parametrize(
    "q, expected",
    [
        ("sh", ["A001", "A005", "SH01"]),  # 上海华东's initials, name Shanghai…, code SH01; not "Marshall"
        ("hd", ["A001", "A005"]),  # 华东机械's initials (short name), short name HD_1
        ("A0", ["A001", "A002", "A003", "A004", "A005", "A006", "A008", "A009"]),
        ("m", ["A004"]),  # Marshall by its name's start
        ("西湖", ["A002"]),  # two Chinese characters: still anywhere in the name
        ("东", ["A001", "A003"]),  # one Chinese character: anywhere (华东…, 东海…)
        ("东海", ["A003"]),  # in the name and the short name
        ("机械", ["A001"]),
        ("公司", ["A001", "A002", "A003", "A006", "A008", "SH01"]),
        ("zz", []),
    ],
)
def test_one_or_two_characters(users, book, q, expected):
    assert _found(users, book, q) == expected


def test_the_picker_gives_the_plain_rows_and_prefixes_for_short_terms(users, book):
    def pick(q):
        return sorted(c.code for c in selectors.customer_pick(user=users["finance"], company=book, q=q))

    assert pick("huadong") == ["A001", "A005"]  # full pinyin anywhere (3+ characters: the index)
    assert pick("dongjixie") == ["A001"]
    assert pick("marsh") == ["A004"]
    assert pick("sh") == ["A001", "A005", "A008", "SH01"]  # a word's start (深圳 shenzhen), not Marshall
    assert pick("xh") == []  # 西湖 is inside 杭州西湖…'s initials, not at a start
    assert pick("hz") == ["A002"]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_trgm")
def test_postgresql_answers_the_search_from_the_trigram_index(users, book):
    """The prefilter's expression is the index's (a drift between the migration and the query would make it
    a scan): with scans of the table switched off, the planner reaches the rows through the index."""
    for pre, index in (
        (search.prefilter(["西湖贸"]), "customer_search_trgm"),
        (search.prefilter(["sh"], word_start=True), "customer_search_trgm"),
        (search.prefilter(["西湖"]), "customer_search_grams"),  # one or two Chinese characters
        (search.prefilter(["东"]), "customer_search_grams"),
    ):
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SET LOCAL enable_seqscan = off")
            plan = Customer.objects.filter(pre).values("pk").explain()
        assert index in plan, plan
    found = selectors.customer_list(user=users["finance"], company=book, q="西湖贸")
    assert search.search_text_sql("customers_customer") in str(found.query)


@pytest.mark.skipif(connection.vendor != "sqlite", reason="FTS5")
def test_sqlite_search_table_follows_inserts_updates_and_deletes(users, book):
    def fts(term):
        with connection.cursor() as cur:
            cur.execute(
                f"SELECT c.code FROM {search.FTS_TABLE} s JOIN customers_customer c ON c.id = s.rowid "
                f"WHERE {search.FTS_TABLE} MATCH %s ORDER BY c.code",
                ['"' + term + '"'],
            )
            return [r[0] for r in cur.fetchall()]

    assert fts("西湖贸") == ["A002"]
    a2 = Customer.objects.get(company=book, code="A002")
    services.update_customer(
        customer_id=a2.pk, actor=users["admin"], expected_version=a2.version, name="杭州钱塘贸易有限公司"
    )
    assert fts("西湖贸") == [] and fts("钱塘贸") == ["A002"]
    assert _found(users, book, "钱塘贸") == ["A002"]
    Customer.objects.filter(pk=a2.pk).update(open_amount=1)  # not a searched field: the index is not touched
    Customer.objects.filter(pk=a2.pk).delete()
    assert fts("钱塘贸") == []
    with connection.cursor() as cur:  # the integrity check of an external-content FTS5 table
        cur.execute(
            f"INSERT INTO {search.FTS_TABLE} ({search.FTS_TABLE}, rank) VALUES ('integrity-check', 1)"
        )


def test_a_frequent_term_is_read_in_order_once_counted():
    """The page of a frequent term by a scan in order: only in an indexed order, from the first quarter."""
    many = search.FREQUENT * 4
    assert search.scan_in_order(count=many, offset=0, limit=50)
    assert search.scan_in_order(count=many, offset=0, limit=50, sort="-open_amount")
    assert not search.scan_in_order(count=search.FREQUENT - 1, offset=0, limit=50)  # rare: the index
    assert not search.scan_in_order(count=many, offset=many, limit=50)  # deep page: the index
    assert not search.scan_in_order(count=many, offset=0, limit=50, sort="region")  # sorts every match anyway


@pytest.mark.skipif(connection.vendor != "postgresql", reason="pg_trgm")
def test_the_code_prefix_prefilter_is_a_word_start_from_the_index(users, book):
    """The picker's "code begins with" statement: a word start of the joined text (the code is its first word),
    answered by the trigram index for any term — "有限公司" is inside most names but starts none."""
    for term in ("有限公司", "上", "sh", "A00"):
        pre = search.code_prefilter(term)
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute("SET LOCAL enable_seqscan = off")
            plan = Customer.objects.filter(pre).values("pk").explain()
        assert "customer_search_trgm" in plan, (term, plan)
        assert "% " in str(Customer.objects.filter(pre).query)
    starts = Customer.objects.filter(company=book).filter(search.code_prefilter("有限公司"))
    assert not starts.exists()  # no code and no word begins with it: nothing to fetch
    for term in ("A00", "a0", "SH0", "s"):
        assert set(Customer.objects.filter(company=book, code__istartswith=term).values_list("pk", flat=True)) <= set(
            Customer.objects.filter(company=book).filter(search.code_prefilter(term)).values_list("pk", flat=True))
