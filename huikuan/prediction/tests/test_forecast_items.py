"""The rows behind the forecast's bars (issue 13): every bar and table cell opens the open items it sums, whose
total is the bar's figure to the fen; scoped like the forecast, sorted, paged, exported."""

import datetime as dt
import html
import io
import re
from decimal import Decimal

import pytest
from django.db.models import Sum
from openpyxl import load_workbook

from huikuan.customers.models import Customer, CustomerGroup
from huikuan.ledger.models import Instalment
from huikuan.prediction import forecast as fc
from huikuan.prediction import forecast_items as fi
from huikuan.prediction import services

from .conftest import END, spread_customers

pytestmark = pytest.mark.django_db

AMOUNT = re.compile(r'<td class="num" data-label="Open amount">([0-9,.]+)</td>')
DUE = re.compile(r'<td data-label="Due date"><span class="nowrap">(\d{4}-\d\d-\d\d)</span></td>')


@pytest.fixture
def small(company, users):
    return spread_customers(company, users, n_invoices=900, n_customers=24, seed=11)


def _listed(run, user, bucket, currency="CNY", few=False):
    return fi.items_total(fi.forecast_items(run=run, user=user, currency=currency, bucket=bucket, few=few), run=run)[0]


def _every_bucket_matches(run, user):
    f = fc.read_forecast(run=run, user=user)
    for s in fc.SCENARIOS:
        total = Decimal(0)
        for k in range(fc.BEYOND + 1):
            listed = _listed(run, user, fi.Bucket(scenario=s, week=k))
            assert listed == f.scenarios[s].weeks[k], (s, k)
            assert listed == fi.bar_value(run=run, user=user, currency=f.currency, bucket=fi.Bucket(scenario=s, week=k))
            total += listed
        assert total == f.open_amount  # 13 weeks + beyond = the open amount, to the fen
    assert _listed(run, user, fi.Bucket(week=fi.OVERDUE)) == f.overdue_amount
    assert _listed(run, user, fi.Bucket(week=fi.ALL)) == f.open_amount
    return f


@pytest.mark.parametrize("with_model", [False, True])
def test_the_items_of_each_bar_add_up_to_the_bar_and_all_of_them_to_the_open_amount(small, users, with_model):
    if with_model:
        services.train_model(company=small, as_of=END)  # stores the predictions of END, the forecast reads them
    run = fc.build_forecast(company=small, as_of=END, actor=users["finance"])
    f = _every_bucket_matches(run, users["finance"])
    assert f.open_amount == Instalment.objects.filter(company=small, open_amount__gt=0).aggregate(
        s=Sum("open_amount"))["s"]
    if with_model:  # the model spreads the items differently from their due dates: the buckets are not trivial
        assert f.scenarios["p50"].weeks != f.scenarios["naive"].weeks
        # a week narrowed first through the stored predictions' dates (few=True) holds the same items
        for user in (users["finance"], users["sales_east"]):
            fu = fc.read_forecast(run=run, user=user)
            for k in range(fc.BEYOND + 1):
                assert _listed(run, user, fi.Bucket(week=k), few=True) == fu.scenarios["p50"].weeks[k], k
        some = next(k for k in range(fc.BEYOND + 1) if f.scenarios["p50"].weeks[k])
        narrowed = fi.forecast_items(run=run, user=users["finance"], currency="CNY", bucket=fi.Bucket(week=some), few=True)
        # every open item has its stored prediction: the week is the instalments joined to those of its dates
        assert JOINED in str(narrowed.query).upper() and "UNION" not in str(narrowed.query).upper()
    # a salesperson sees their customers' part only, and it adds up too
    _every_bucket_matches(run, users["sales_east"])
    mine = fi.forecast_items(run=run, user=users["sales_east"], currency="CNY", bucket=fi.Bucket(week=fi.ALL))
    assert set(mine.values_list("customer__owner_id", flat=True)) == {users["sales_east"].pk}
    # the breakdown's lines: by salesperson and by group, every cell
    for by, field in (("salesperson", "salesperson"), ("group", "group")):
        fb = fc.read_forecast(run=run, user=users["finance"], by=by)
        for line in fb.lines:
            for k in range(fc.BEYOND + 1):
                bucket = fi.Bucket(week=k, **{field: line.key or 0})
                assert _listed(run, users["finance"], bucket) == line.weeks[k], (by, line.key, k)


def test_a_past_date_lists_the_open_amounts_of_that_day(small, users):
    past = END - dt.timedelta(days=75)
    run = fc.build_forecast(company=small, as_of=past, actor=users["finance"])  # no model: due dates
    f = _every_bucket_matches(run, users["finance"])
    now_open = Instalment.objects.filter(company=small, open_amount__gt=0, document_date__lte=past) \
        .aggregate(s=Sum("open_amount"))["s"]
    assert f.open_amount > now_open  # some of it was paid since: the rows are the amounts of that day


def _page(client, url, lang="en"):
    r = client.get(url, HTTP_ACCEPT_LANGUAGE=lang)
    assert r.status_code == 200, (url, r.status_code)
    return r.content.decode()


def test_the_chart_bars_and_table_cells_link_to_their_rows(client, small, users):
    services.train_model(company=small, as_of=END)
    run = fc.build_forecast(company=small, as_of=END, actor=users["finance"])
    client.force_login(users["finance"])
    page = _page(client, f"/forecast/?as_of={END}&by=salesperson")
    svg = page.split('<svg class="forecast-chart"')[1].split("</svg>")[0]
    bars = [html.unescape(h) for h in re.findall(r'<a class="bar" href="([^"]+)"><rect class="hit"[^>]*><title>', svg)]
    assert len(bars) == fc.WEEKS
    assert "open the items behind this bar" in svg and "<title>" in svg  # the tooltips stay
    f = fc.read_forecast(run=run, user=users["finance"], by="salesperson")
    for k, href in enumerate(bars):
        assert href == f"/forecast/items/?as_of={END}&currency=CNY&scenario=p50&week={k}"
        body = _page(client, href)
        shown = re.search(r'id="forecast-items-total">([^<]+)<', body).group(1)
        assert Decimal(shown.replace(",", "")) == f.scenarios["p50"].weeks[k]
        assert 'id="forecast-items-differ"' not in body
    table = page.split('id="forecast-table"')[1]
    cells = [html.unescape(h) for h in re.findall(r'<td class="num"><a href="([^"]+)">', table)]
    assert len(cells) == (len(fc.SCENARIOS) + len(f.lines)) * (fc.BEYOND + 2)
    sp = f.lines[0].key
    assert f"/forecast/items/?as_of={END}&currency=CNY&scenario=p50&salesperson={sp}&week=3" in cells
    assert f"/forecast/items/?as_of={END}&currency=CNY&scenario=p90&week=all" in cells
    for card in ("forecast-beyond", "forecast-overdue", "forecast-open"):
        assert re.search(rf'id="{card}"><a href="/forecast/items/\?', page)


def test_scoping_and_404s(client, small, users):
    run = fc.build_forecast(company=small, as_of=END, actor=users["finance"])
    client.force_login(users["sales_east"])
    base = f"/forecast/items/?as_of={END}&currency=CNY&scenario=p50"
    body = _page(client, f"{base}&week=all")
    listed = {int(pk) for pk in re.findall(r'href="/customers/(\d+)/"', body)}
    east = set(Customer.objects.filter(company=small, owner=users["sales_east"]).values_list("pk", flat=True))
    assert listed and listed <= east  # another salesperson's customer's item is not listed
    # another salesperson's line is not in this reader's forecast: 404, as are unknown dates, weeks, groups
    assert client.get(f"{base}&week=0&salesperson={users['sales_west'].pk}").status_code == 404
    assert client.get(f"{base}&week=0&salesperson={users['sales_east'].pk}").status_code == 200
    other = CustomerGroup.objects.create(company=small, name="空组")
    assert client.get(f"{base}&week=0&group={other.pk}").status_code == 404
    for bad in ("week=14", "week=-1", "week=x", "week=0&scenario=p99", "week=0&salesperson=x"):
        assert client.get(f"{base}&{bad}").status_code == 404, bad
    assert client.get("/forecast/items/?as_of=2001-01-01&week=0").status_code == 404
    client.force_login(users["finance"])
    assert client.get(f"{base}&week=0&salesperson={users['sales_west'].pk}").status_code == 200
    assert run.as_of == END


def test_sorting_paging_and_xlsx(client, small, users, monkeypatch):
    from huikuan.prediction import views_forecast

    monkeypatch.setattr(views_forecast, "ITEMS_PER_PAGE", 10)
    run = fc.build_forecast(company=small, as_of=END, actor=users["finance"])
    client.force_login(users["finance"])
    url = f"/forecast/items/?as_of={END}&currency=CNY&scenario=p50&week=all"
    body = _page(client, url)
    assert 'aria-sort="descending"><a href="/forecast/items/?' in body  # the default: largest first
    amounts = [Decimal(a.replace(",", "")) for a in re.findall(AMOUNT, body)]
    open_items = Instalment.objects.filter(company=small, open_amount__gt=0).count()
    assert open_items > 10 and len(amounts) == 10 and amounts == sorted(amounts, reverse=True)
    assert "page=2" in body
    second = _page(client, url + "&page=2")
    more = [Decimal(a.replace(",", "")) for a in re.findall(AMOUNT, second)]
    assert more and max(more) <= min(amounts)
    # the queries do not grow with the rows shown (documents and customers joined, the total counted once)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ten:
        _page(client, url)
    monkeypatch.setattr(views_forecast, "ITEMS_PER_PAGE", 20)
    with CaptureQueriesContext(connection) as twenty:
        _page(client, url)
    assert len(ten.captured_queries) == len(twenty.captured_queries) <= 12
    monkeypatch.setattr(views_forecast, "ITEMS_PER_PAGE", 10)
    asc = _page(client, url + "&sort=due")
    dues = re.findall(DUE, asc)
    assert dues == sorted(dues) and len(dues) == 10
    r = client.get(url + "&sort=-due&format=xlsx", HTTP_ACCEPT_LANGUAGE="en")
    assert r.status_code == 200 and "spreadsheetml" in r["Content-Type"]
    ws = load_workbook(io.BytesIO(b"".join(r.streaming_content))).active
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0][0] == "Document" and rows[-1][0] == "Total"
    f = fc.read_forecast(run=run, user=users["finance"])
    assert Decimal(str(rows[-1][6])) == f.open_amount
    exported = [r[5] for r in rows[1:-1]]
    assert len(exported) == open_items
    assert exported == sorted(exported, reverse=True)


def test_empty_bucket_and_chinese(client, small, users):
    fc.build_forecast(company=small, as_of=END, actor=users["finance"])
    client.force_login(users["finance"])
    group = CustomerGroup.objects.get(company=small, name="华北客户")
    f = fc.read_forecast(run=fc.run_on(small, END), user=users["finance"], by="group")
    empty = next(k for k in range(fc.BEYOND + 1) if all(line.weeks[k] == 0 for line in f.lines))
    body = _page(client, f"/forecast/items/?as_of={END}&currency=CNY&scenario=p50&group={group.pk}&week={empty}",
                 lang="zh-hans")
    assert 'class="empty-state"' in body and "回款预测" in body and "华北客户" in body


def test_a_bar_of_many_items_shows_the_forecasts_figure_and_adds_up_on_demand(client, small, users, monkeypatch):
    """Above ADD_UP_TO items the page does not re-add the bucket on every view (a bar of ~850,000 items at full
    scale): it shows the forecast's figure and count and a link that adds the rows up, which still finds the
    difference when the books moved since the forecast."""
    from huikuan.ledger import services as ledger
    from huikuan.prediction import views_forecast

    monkeypatch.setattr(views_forecast, "ITEMS_PER_PAGE", 10)
    monkeypatch.setattr(views_forecast, "ADD_UP_TO", 5)
    run = fc.build_forecast(company=small, as_of=END, actor=users["finance"])
    f = fc.read_forecast(run=run, user=users["finance"])
    client.force_login(users["finance"])
    url = f"/forecast/items/?as_of={END}&currency=CNY&scenario=p50&week=all"
    open_items = Instalment.objects.filter(company=small, open_amount__gt=0).count()
    assert open_items > 11
    body = _page(client, url)
    assert 'id="forecast-items-total"' not in body and 'id="forecast-items-differ"' not in body
    card = body.split('id="forecast-items-not-added"')[1].split("</a>")[0]
    assert f"{open_items} items in the forecast" in card and "check=1" in card
    assert "more than 10 rows" in body  # the pager: counted up to the page asked, no further
    assert len(re.findall(AMOUNT, body)) == 10  # the rows are listed all the same
    footer = body.split("<tfoot>")[1]
    assert "the forecast's figure" in html.unescape(footer) and f"{f.open_amount:,.2f}" in footer
    # a bucket the cube does not count (not the P50 column): "more than"
    assert Instalment.objects.filter(company=small, open_amount__gt=0, due_date__lt=END).count() > 4
    monkeypatch.setattr(views_forecast, "ITEMS_PER_PAGE", 3)
    monkeypatch.setattr(views_forecast, "ADD_UP_TO", 2)
    assert "More than 2 items" in _page(client, url.replace("week=all", "week=overdue"))
    monkeypatch.setattr(views_forecast, "ITEMS_PER_PAGE", 10)
    monkeypatch.setattr(views_forecast, "ADD_UP_TO", 5)
    # added up on demand: the rows' own total, equal to the bar while the books did not move
    checked = _page(client, url + "&check=1")
    shown = re.search(r'id="forecast-items-total">([^<]+)<', checked).group(1)
    assert Decimal(shown.replace(",", "")) == f.open_amount and f"{open_items} items" in checked
    assert 'id="forecast-items-differ"' not in checked
    # a payment booked afterwards with the forecast's date: only the added-up page can tell, and it does
    item = Instalment.objects.filter(company=small, open_amount__gt=0).order_by("due_date", "pk").first()
    ledger.record_payment(company=small, customer_id=item.customer_id, amount=Decimal("10.00"), date=END,
                          actor=users["finance"], today=END)
    assert 'id="forecast-items-differ"' not in _page(client, url)
    checked = _page(client, url + "&check=1")
    assert 'id="forecast-items-differ"' in checked
    shown = re.search(r'id="forecast-items-total">([^<]+)<', checked).group(1)
    assert Decimal(shown.replace(",", "")) == f.open_amount - Decimal("10.00")
    # below the threshold nothing changes: the rows are added up on every view
    monkeypatch.setattr(views_forecast, "ADD_UP_TO", 10_000)
    assert 'id="forecast-items-differ"' in _page(client, url)


JOINED = 'INNER JOIN "PREDICTION_ITEMPREDICTION"'
SORTS = ("-amount", "amount", "due", "-due", "customer", "-customer", "document", "-document", "predicted",
         "-predicted", "p_late", "-p_late", "salesperson", "-salesperson")


def _counted_along_the_index_as_by_the_full_rule(run, user, bucket, stored, whole, salesperson):
    """The page's capped count (and its sum below the cap) of a joined bucket, walked along the predictions' date
    index (``joined_total``), equals the full rule's: below, at and above the cap, for the bucket and its lines."""
    if fi.placement(run, bucket, stored)[0] != "joined":
        return
    for limit in (1, max(1, whole[1]), whole[1] + 1, 10_001):
        v, n = fi.joined_total(run=run, user=user, currency="CNY", bucket=bucket, limit=limit)
        assert n == min(whole[1], limit), (bucket, limit)
        if n < limit:
            assert v == whole[0], (bucket, limit)
    for line in (fi.Bucket(week=bucket.week, salesperson=salesperson), fi.Bucket(week=bucket.week, group=0)):
        full = fi.items_total(fi.forecast_items(run=run, user=user, currency="CNY", bucket=line), run=run)
        assert fi.joined_total(run=run, user=user, currency="CNY", bucket=line, limit=10_001) == full, line


def _narrowed_as_the_full_rule(run, users, *, unpredicted=()):
    """Every P50 week and every week at once, as finance and as a salesperson: the bucket found through the stored
    predictions (what the page reads) holds the items the full placement rule (every open item joined to its
    prediction) puts there, with the same total, and every sort gives the same first rows in the same order.
    Returns the SQL of each narrowed week (finance)."""
    from huikuan.prediction.views_forecast import ITEM_SORTS

    stored = fi.stored_predictions(run, "CNY")
    assert {pk for pk, _ in stored.unpredicted} == set(unpredicted)
    sql = {}
    for user in (users["finance"], users["sales_east"]):
        for week in [*range(fc.BEYOND + 1), fi.ALL]:
            bucket = fi.Bucket(week=week)
            for sort in SORTS:
                by_name = sort.endswith("salesperson")
                full = fi.forecast_items(run=run, user=user, currency="CNY", bucket=bucket, by_name=by_name)
                narrowed = fi.forecast_items(run=run, user=user, currency="CNY", bucket=bucket, by_name=by_name,
                                             stored=stored)
                order = ITEM_SORTS.order({"sort": sort})
                key = sort.lstrip("-")
                first = [list(fi.for_order(q, run=run, key=key).order_by(*order).values_list("pk", flat=True)[:12])
                         for q in (full, narrowed)]
                assert first[0] == first[1], (user.username, week, sort)
                if key in fi.ENTRY_ORDERS and fi.placement(run, bucket, stored)[0] == "joined":
                    entries = fi.joined_order(run=run, user=user, currency="CNY", bucket=bucket, key=key,
                                              descending=sort.startswith("-"))
                    assert list(entries[:12]) == first[0], (user.username, week, sort)
                    assert list(entries[12:24]) == list(fi.for_order(full, run=run, key=key).order_by(*order)
                                                        .values_list("pk", flat=True)[12:24])
            assert set(narrowed.values_list("pk", flat=True)) == set(full.values_list("pk", flat=True)), week
            whole = fi.items_total(full, run=run)
            assert fi.items_total(narrowed, run=run) == whole, week
            _counted_along_the_index_as_by_the_full_rule(run, user, bucket, stored, whole, users["sales_east"].pk)
            if user == users["finance"]:
                sql[week] = str(fi.forecast_items(run=run, user=user, currency="CNY", bucket=bucket,
                                                  stored=stored).query).upper()
    return sql


def test_a_week_placed_by_the_model_is_found_through_its_predictions_exactly_as_by_the_full_rule(small, users):
    """The drill-down finds a P50 week (and every week, sorted by predicted date) through the stored predictions
    — an inner join ordered by their indexes — and never by asking every open item whether it has one. The items
    without one (posted or reopened since the refresh) are found from the instalment ids the refresh had not seen
    and the reversal allocations; each week is the same set, total and order as by the full rule: before, with a
    new invoice due in a week and one already overdue, with a settled item reopened, and when the stored
    predictions are another date's (every item then on its due date)."""
    from huikuan.ledger import services as ledger
    from huikuan.ledger.models import Allocation
    from huikuan.prediction.models import ItemPrediction

    services.train_model(company=small, as_of=END)  # stores the predictions of END, the forecast reads them
    run = fc.build_forecast(company=small, as_of=END, actor=users["finance"])
    assert run.version_id is not None
    sql = _narrowed_as_the_full_rule(run, users)
    assert all(JOINED in q and "UNION" not in q for q in sql.values())
    # posted after the refresh, dated on or before the forecast's date: one due in the fifth week, one overdue
    customer = Customer.objects.filter(company=small, owner=users["sales_east"]).order_by("code").first()
    new = []
    for day, due in ((END - dt.timedelta(days=3), END + dt.timedelta(days=30)),
                     (END - dt.timedelta(days=60), END - dt.timedelta(days=20))):
        doc = ledger.post_document(company=small, customer_id=customer.pk, document_date=day, total=Decimal("1234.56"),
                                   actor=users["finance"], schedule=[ledger.ScheduleInput(due, Decimal("1234.56"))])
        new.append(Instalment.objects.get(document=doc).pk)
    # a settled item reopened: its payment's allocation reversed on the forecast's date (the books do not move)
    settled = (Allocation.objects.filter(company=small, reverses__isnull=True, instalment__open_amount=0,
                                         instalment__customer__owner=users["sales_east"], date__lt=END)
               .order_by("-instalment_id").first())
    ledger.reverse_allocation(company=small, allocation_id=settled.pk, actor=users["finance"], on=END)
    assert not fi.books_moved(run) and not ItemPrediction.objects.filter(instalment_id=settled.instalment_id).exists()
    sql = _narrowed_as_the_full_rule(run, users, unpredicted=(*new, settled.instalment_id))
    due = Instalment.objects.filter(pk__in=[*new, settled.instalment_id]).values_list("due_date", flat=True)
    weeks = {min(fc.BEYOND, max(0, -(-(d - END).days // 7) - 1)) for d in due}
    assert {0, 4} <= weeks
    for week in range(fc.BEYOND + 1):  # the weeks an unpredicted item falls in add it; the others the join alone
        assert ("UNION" in sql[week]) == (week in weeks) and (JOINED in sql[week]) == (week not in weeks), week
    # the stored predictions of another date: nothing is the run's, every item on its due date
    ItemPrediction.objects.filter(company=small).update(as_of=END - dt.timedelta(days=1))
    assert not fi.stored_predictions(run, "CNY").of_run
    _narrowed_as_the_full_rule(run, users)


def test_a_joined_page_in_an_entry_order_asks_the_first_entries_only_and_equals_the_full_rule(small, users,
                                                                                              monkeypatch):
    """By probability or due date, a joined week's page is read from the week's first prediction entries in that
    order (``FirstFound``), their instalments asked only for those, widened while too few are the reader's: every
    slice — the first, in the middle, across the end, past it — is the full rule's, for finance and a salesperson
    (who sees about half of every week's entries), widened from a head of one entry and from the default head."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from huikuan.prediction.views_forecast import ITEM_SORTS

    services.train_model(company=small, as_of=END)
    run = fc.build_forecast(company=small, as_of=END, actor=users["finance"])
    stored = fi.stored_predictions(run, "CNY")
    weeks = [w for w in [*range(fc.BEYOND + 1), fi.ALL] if fi.placement(run, fi.Bucket(week=w), stored)[0] == "joined"]
    assert len(weeks) == fc.BEYOND + 2
    for head, widen in ((1, 2), (fi.HEAD_ROWS, fi.HEAD_WIDEN)):
        monkeypatch.setattr(fi, "HEAD_ROWS", head)
        monkeypatch.setattr(fi, "HEAD_WIDEN", widen)
        for user in (users["finance"], users["sales_east"]):
            for week in weeks:
                bucket = fi.Bucket(week=week)
                full = fi.forecast_items(run=run, user=user, currency="CNY", bucket=bucket)
                for sort in ("p_late", "-p_late", "due", "-due"):
                    key = sort.lstrip("-")
                    want = list(full.order_by(*ITEM_SORTS.order({"sort": sort})).values_list("pk", flat=True))
                    ids = fi.joined_order(run=run, user=user, currency="CNY", bucket=bucket, key=key,
                                          descending=sort.startswith("-"))
                    n = len(want)
                    for a, b in ((0, 3), (0, 50), (3, 9), (max(0, n - 4), n + 3), (n, n + 5), (n // 2, n // 2 + 1)):
                        assert ids[a:b] == want[a:b], (user.username, week, sort, a, b)
    # the first page of a week whose entries are all the reader's: one statement, which asks the first entries only
    bucket = fi.Bucket(week=fi.ALL)
    with CaptureQueriesContext(connection) as ctx:
        page = fi.joined_order(run=run, user=users["finance"], currency="CNY", bucket=bucket, key="p_late",
                               descending=True)[0:10]
    assert len(page) == 10 and len(ctx.captured_queries) == 1
    sql = ctx.captured_queries[0]["sql"].upper()
    assert re.search(r"IN \(SELECT .* LIMIT 256\)", sql), sql
    # a joined bucket under the cap is counted and summed in one statement, each entry's instalment asked once
    with CaptureQueriesContext(connection) as ctx:
        v, n = fi.joined_total(run=run, user=users["sales_east"], currency="CNY", bucket=bucket, limit=10_001)
    assert (v, n) == fi.items_total(fi.forecast_items(run=run, user=users["sales_east"], currency="CNY",
                                                      bucket=bucket), run=run)
    assert n and len(ctx.captured_queries) == 1


def test_a_large_bucket_by_salesperson_is_read_a_salesperson_at_a_time_exactly_as_the_full_sort(small, users):
    """Sorted by salesperson (the item's own, else its customer's owner; empty last), a bucket is read for a reader
    who sees the whole company a rank of names at a time in id order (``SalespersonPages``), and a joined week for a
    salesperson or a sales manager from its entries of their customers (``ScopedSalespersonPages``): every slice
    equals the full sort's — items with a salesperson of their own that is not the owner, items without one (their
    owner's), a customer without an owner, two salespeople of the same name (one rank, their items by id), a name from
    the username — for every week, every week at once, the overdue part, a P90 week, a salesperson's and a group's
    line, both ways; a salesperson's line for a salesperson is sorted whole as before."""
    from django.http import QueryDict

    from huikuan.prediction import views_forecast
    from huikuan.prediction.views_forecast import ITEM_SORTS

    east, west, manager = users["sales_east"], users["sales_west"], users["manager_east"]
    manager.display_name = east.display_name  # the same name as east: one rank
    manager.save()
    west.display_name = ""  # shown by the username
    west.save()
    items = list(Instalment.objects.filter(company=small, open_amount__gt=0).order_by("pk").values_list("pk", flat=True))
    Instalment.objects.filter(pk__in=items[::3]).update(salesperson=west)
    Instalment.objects.filter(pk__in=items[1::7]).update(salesperson=manager)
    lonely = Customer.objects.filter(company=small).order_by("code").last()
    Customer.objects.filter(pk=lonely.pk).update(owner=None)
    Customer.objects.filter(pk=Customer.objects.filter(company=small, owner=west).order_by("code").first().pk).update(
        owner=manager)  # a customer of the manager's own
    services.train_model(company=small, as_of=END)
    run = fc.build_forecast(company=small, as_of=END, actor=users["finance"])
    group = CustomerGroup.objects.get(company=small, name="华北客户")
    stored = fi.stored_predictions(run, "CNY")
    seen, kinds = set(), set()
    for user in (users["finance"], east, manager):
        buckets = [fi.Bucket(week=w) for w in [*range(fc.BEYOND + 1), fi.ALL, fi.OVERDUE]]
        buckets += [fi.Bucket(scenario="p90", week=2), fi.Bucket(week=fi.ALL, group=group.pk),
                    fi.Bucket(week=fi.ALL, salesperson=east.pk)]
        for bucket in buckets:
            qs = fi.forecast_items(run=run, user=user, currency="CNY", bucket=bucket, by_name=True, stored=stored)
            joined = (bucket.scenario == "p50" and bucket.week != fi.OVERDUE
                      and fi.placement(run, bucket, stored)[0] == "joined")
            for sort in ("salesperson", "-salesperson"):
                want = list(qs.order_by(*ITEM_SORTS.order({"sort": sort})).values_list("pk", flat=True))
                pages = fi.salesperson_order(qs=qs, run=run, user=user, currency="CNY", bucket=bucket,
                                             descending=sort.startswith("-"), joined=joined)
                if pages is None:
                    assert user != users["finance"] and (not joined or bucket.salesperson or bucket.week == fi.ALL), (
                        user, bucket)
                    continue
                kinds.add(type(pages))
                n = len(want)
                for a, b in ((0, 3), (0, 50), (5, 40), (n // 2, n // 2 + 7), (max(0, n - 3), n + 2), (n, n + 4), (0, n)):
                    assert pages[a:b] == want[a:b], (user.username, bucket, sort, a, b)
                seen |= set(Instalment.objects.filter(pk__in=want).values_list("salesperson_id", flat=True))
    assert {None, west.pk, manager.pk} <= seen
    assert kinds == {fi.SalespersonPages, fi.ScopedSalespersonPages}
    # the page takes it for a large bucket only (above ADD_UP_TO items: the rows are not added up)
    for user, week in ((users["finance"], "all"), (east, 0)):
        it = views_forecast._items_of(small, user, QueryDict(f"as_of={END}&currency=CNY&week={week}&sort=salesperson"))
        assert isinstance(it.page_ids(QueryDict("sort=salesperson"), large=True),
                          (fi.SalespersonPages, fi.ScopedSalespersonPages))
        assert not isinstance(it.page_ids(QueryDict("sort=salesperson")),
                              (fi.SalespersonPages, fi.ScopedSalespersonPages))
