"""Issue 14: lines the statement line itself determines are applied without a person, never wrongly.

One test per kind of line (bank fees, part payments with a reference, combinations, personal payers,
typos, discount rounding, passes, money that is not a customer's), on statements shaped like a
Chinese corporate export (招商银行 CSV: 交易日期 / 贷方发生额 / 对方户名 / 用途).
"""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.urls import reverse
from django.utils import translation

from huikuan.banking import services as bs
from huikuan.banking.models import BankLine, LineStatus
from huikuan.common.models import AuditEvent
from huikuan.customers.models import Customer
from huikuan.ledger.checks import check_ledger
from huikuan.ledger.models import Credit, CreditKind, EntryKind, Instalment, LedgerEntry, Status

pytestmark = pytest.mark.django_db
ON = dt.date(2026, 3, 20)
HEAD = "招商银行企业网银 交易明细\n账号：755912345610001  币种：人民币\n交易日期,流水号,借方发生额,贷方发生额,对方户名,对方账号,用途\n"


def statement(company, finance, write, rows, name="m.csv"):
    path = write(name, (HEAD + "\n".join(rows) + "\n").encode("gbk"))
    return bs.import_statement(company=company, path=path, file_name=name, actor=finance, on=ON)


def line(serial):
    return BankLine.objects.get(serial=serial)


def open_of(doc):
    return Instalment.objects.get(document=doc).open_amount


# ---------------------------------------------------------------- 1. bank fees deducted


def test_bank_fee_within_tolerance_is_settled_as_a_bank_charge_and_undone_with_the_line(
        company, finance, account, customer, post, write):
    doc = post(customer, "12000.00", number="XS-2026-0311")
    post(customer, "3000.00", number="XS-2026-0312")
    statement(company, finance, write, ["2026年03月06日,F1,,11975.00,上海华东机械有限公司,6222021001001234,货款(已扣手续费)"])
    ln = line("F1")
    assert ln.status == LineStatus.AUTO_APPLIED, ln.proposals[:1]
    assert open_of(doc) == 0
    charge = Credit.objects.get(kind=CreditKind.BANK_CHARGE)
    assert charge.amount == D("25.00") and charge.parent_id == ln.credit_id and charge.status == Status.POSTED
    entry = LedgerEntry.objects.get(kind=EntryKind.BANK_CHARGE)
    assert entry.credit_amount == D("25.00")
    assert AuditEvent.objects.filter(verb="ledger.bank_charge.recorded").count() == 1
    with translation.override("zh-hans"):
        assert str(EntryKind.BANK_CHARGE.label) == "手续费"
    assert check_ledger(company_id=company.pk) == []
    bs.undo_line(company=company, line_id=ln.pk, actor=finance, on=ON, reason="客户说是另一张单")
    charge.refresh_from_db()
    assert charge.status == Status.REVERSED and open_of(doc) == D("12000.00")
    assert check_ledger(company_id=company.pk) == []


def test_shortfall_beyond_the_tolerance_is_not_a_bank_charge(company, finance, account, customer, post, write):
    doc = post(customer, "12000.00")
    statement(company, finance, write, ["2026-03-06,F2,,11900.00,上海华东机械有限公司,,货款"])
    ln = line("F2")
    assert ln.status == LineStatus.SUGGESTED
    assert not Credit.objects.filter(kind=CreditKind.BANK_CHARGE).exists()
    assert open_of(doc) == D("12000.00")


def test_a_small_item_is_never_settled_by_a_large_share_of_bank_charge(company, finance, account, customer, post,
                                                                       write):
    doc = post(customer, "120.00")
    statement(company, finance, write, ["2026-03-06,F3,,80.00,上海华东机械有限公司,,货款"])
    assert line("F3").status == LineStatus.SUGGESTED
    assert open_of(doc) == D("120.00")


def test_settings_that_would_over_apply_are_refused(company, finance):
    with pytest.raises(bs.BankingError) as exc:
        bs.update_settings(company=company, actor=finance, auto_apply=True, threshold="0.95", margin="0.1",
                           fee_tolerance="5000")
    assert exc.value.field == "fee_tolerance"
    with pytest.raises(bs.BankingError) as exc:
        bs.update_settings(company=company, actor=finance, auto_apply=True, threshold="0.95", margin="0.1",
                           fee_tolerance="50", discount_rounding="0.05")
    assert exc.value.field == "discount_rounding"
    conf = bs.update_settings(company=company, actor=finance, auto_apply=True, threshold="0.95", margin="0.1",
                              fee_tolerance="30", discount_rounding="0")
    assert (conf.fee_tolerance, conf.discount_rounding) == (D("30.00"), D("0.00"))


def test_a_bank_charge_above_the_tolerance_is_refused_by_the_service(company, finance, account, customer, post,
                                                                     write):
    doc = post(customer, "5000.00")
    statement(company, finance, write, ["2026-03-06,F4,,4900.00,某人,,x"])
    inst = Instalment.objects.get(document=doc)
    with pytest.raises(bs.OverApplication):
        bs.apply_line(company=company, line_id=line("F4").pk, actor=finance, on=ON,
                      parts=[bs.Part(customer.pk, [(inst.pk, D("4900"), D(0))], charges=[(inst.pk, D("100"))])])
    assert open_of(doc) == D("5000.00") and not Credit.objects.exists()


# ---------------------------------------------------------------- 2. part payment with an exact reference


def test_part_payment_naming_the_document_is_applied_to_it(company, finance, account, customer, post, write):
    old = post(customer, "3000.00", number="XS-2026-0100", day=dt.date(2026, 1, 5))
    doc = post(customer, "20000.00", number="XS-2026-0131")
    statement(company, finance, write, ["2026-03-06,P1,,8000.00,上海华东机械有限公司,,部分货款 XS-2026-0131"])
    ln = line("P1")
    assert ln.status == LineStatus.AUTO_APPLIED, ln.proposals[:1]
    assert open_of(doc) == D("12000.00") and open_of(old) == D("3000.00")  # not the oldest: the one named


# ---------------------------------------------------------------- 3. several items, not the oldest


def test_unique_combination_of_items_that_are_not_the_oldest_is_applied(company, finance, account, customer, post,
                                                                         write):
    docs = [post(customer, amt, day=dt.date(2026, 1, d)) for d, amt in
            ((3, "1500.00"), (9, "2750.40"), (14, "980.00"), (20, "4410.10"), (27, "612.35"))]
    statement(company, finance, write, ["2026-03-06,K1,,5390.10,上海华东机械有限公司,,货款"])  # 980.00 + 4410.10
    ln = line("K1")
    assert ln.status == LineStatus.AUTO_APPLIED, ln.proposals[:1]
    assert [open_of(d) for d in docs] == [D("1500.00"), D("2750.40"), 0, 0, D("612.35")]


def test_several_combinations_are_suggestions_ranked_by_age(company, finance, account, customer, post, write):
    docs = [post(customer, amt, day=dt.date(2026, 1, d)) for d, amt in
            ((3, "4000.00"), (9, "700.00"), (14, "300.00"), (20, "500.00"), (27, "500.00"))]
    statement(company, finance, write, ["2026-03-06,K2,,1000.00,上海华东机械有限公司,,货款"])  # 700+300 or 500+500
    ln = line("K2")
    assert ln.status == LineStatus.SUGGESTED
    first = {int(i) for i, _a, _d, _n in ln.proposals[0]["allocations"]}
    assert first == {Instalment.objects.get(document=d).pk for d in docs[1:3]}  # the older pair first


def test_combination_search_is_bounded_and_finds_six_of_forty(company, finance, account, customer):
    import random

    from huikuan.banking import combos

    rng = random.Random(14)
    values = [rng.randint(20000, 5000000) for _k in range(40)]
    target = sum(values[k] for k in (2, 7, 11, 19, 30, 38))
    found = combos.exact_subsets(target, values, time_box=10)
    assert (2, 7, 11, 19, 30, 38) in found.found
    slow = combos.exact_subsets(target, values, time_box=0)
    assert not slow.unique  # a search cut short is never called unique


# ---------------------------------------------------------------- 4. the memo names some of the items


def test_memo_naming_some_items_is_completed_from_a_unique_combination(company, finance, account, customer, post,
                                                                        write):
    a = post(customer, "1200.00", number="XS-2026-0201", day=dt.date(2026, 1, 3))
    b = post(customer, "830.50", number="XS-2026-0202", day=dt.date(2026, 1, 9))
    c = post(customer, "2210.00", number="XS-2026-0203", day=dt.date(2026, 1, 19))
    d = post(customer, "5000.00", number="XS-2026-0204", day=dt.date(2026, 1, 29))
    statement(company, finance, write, ["2026-03-06,R1,,4240.50,上海华东机械有限公司,,付XS-2026-0201等货款"])
    ln = line("R1")  # 1200.00 named + 830.50 + 2210.00
    assert ln.status == LineStatus.AUTO_APPLIED, ln.proposals[:1]
    assert [open_of(x) for x in (a, b, c, d)] == [0, 0, 0, D("5000.00")]
    assert Customer.objects.get(pk=customer.pk).unapplied_amount == 0


# ---------------------------------------------------------------- 6. reference typos, any numbering


@pytest.mark.parametrize("memo", ["发票607货款", "XS-2026-607", "0607", "INV2026-607", "XS-2026-0670 货款"])
def test_amount_wins_over_a_mistyped_reference_in_any_series(company, finance, account, customer, post, write, memo):
    wrong = post(customer, "9100.00", number="XS-2026-0670")
    right = post(customer, "6418.00", number="XS-2026-0607")
    post(customer, "6418.00", number="XS-2026-0611")
    statement(company, finance, write, [f"2026-03-06,T1,,6418.00,张伟,6217001234567890,{memo}"])
    ln = line("T1")
    assert ln.proposals[0]["customer_id"] == customer.pk
    first = {int(i) for i, _a, _d, _n in ln.proposals[0]["allocations"]}
    assert first == {Instalment.objects.get(document=right).pk}
    if "0670" in memo:  # an exact but wrong number: the amount wins, as a suggestion
        assert ln.status == LineStatus.SUGGESTED
    else:  # the typo'd number resembles the item with exactly this amount: certain
        assert ln.status == LineStatus.AUTO_APPLIED, ln.proposals[:2]
        assert open_of(right) == 0 and open_of(wrong) == D("9100.00")


# ---------------------------------------------------------------- 7. discount rounding


@pytest.mark.parametrize("paid", ["1209.85", "1209.87"])
def test_discount_computed_with_the_other_rounding_settles_the_item(company, finance, account, customer, post, write,
                                                                    paid):
    from huikuan.ledger.services import ScheduleInput

    doc = post(customer, "1234.56", day=dt.date(2026, 3, 1), schedule=[ScheduleInput(
        due_date=dt.date(2026, 3, 31), amount=D("1234.56"), discount_amount=D("24.70"),
        discount_date=dt.date(2026, 3, 11))])  # net 1209.86; the customer rounded 2 % to 24.69 or 24.71
    statement(company, finance, write, [f"2026-03-06,D1,,{paid},上海华东机械有限公司,,货款 2%折扣"])
    ln = line("D1")
    assert ln.status == LineStatus.AUTO_APPLIED, ln.proposals[:1]
    assert open_of(doc) == 0
    disc = Credit.objects.get(kind=CreditKind.DISCOUNT)
    assert disc.amount == D("1234.56") - D(paid)
    assert check_ledger(company_id=company.pk) == []


def test_discount_rounding_beyond_one_unit_is_not_taken(company, finance, account, customer, post, write):
    from huikuan.ledger.services import ScheduleInput

    doc = post(customer, "1234.56", day=dt.date(2026, 3, 1), schedule=[ScheduleInput(
        due_date=dt.date(2026, 3, 31), amount=D("1234.56"), discount_amount=D("24.70"),
        discount_date=dt.date(2026, 3, 11))])
    statement(company, finance, write, ["2026-03-06,D2,,1209.80,上海华东机械有限公司,,货款"])
    assert line("D2").status == LineStatus.SUGGESTED and open_of(doc) == D("1234.56")
    assert not Credit.objects.exists()


# ---------------------------------------------------------------- 5. paid from a person's account


@pytest.mark.parametrize("memo", ["代华东机械付货款", "上海华东机械有限公司货款", "代付 91310115MA1K3YJ07X 货款"])
def test_person_paying_for_the_customer_named_in_the_memo(company, finance, account, customer, other_customer, post,
                                                          write, memo):
    customer.credit_code = "91310115MA1K3YJ07X"
    customer.short_name = "华东机械"
    customer.save()
    doc = post(customer, "7300.00")
    post(other_customer, "7300.00")  # the same amount is open elsewhere: only the memo decides
    statement(company, finance, write, [f"2026-03-06,M1,,7300.00,李建国,6217990012345678,{memo}"])
    ln = line("M1")
    assert ln.status == LineStatus.AUTO_APPLIED, ln.proposals[:2]
    assert ln.customer_id == customer.pk and open_of(doc) == 0


def test_memo_name_shared_by_two_customers_is_not_certain(company, finance, account, customer, other_customer, post,
                                                          write):
    customer.short_name = "南方机电"
    customer.save()
    other_customer.short_name = "南方机电"
    other_customer.save()
    post(customer, "7300.00")
    statement(company, finance, write, ["2026-03-06,M2,,7300.00,李建国,6217990012345678,代南方机电付货款"])
    assert line("M2").status == LineStatus.SUGGESTED


def test_personal_account_that_paid_for_two_customers_is_never_certain_alone(company, finance, account, customer,
                                                                             other_customer, post, write):
    from huikuan.banking.models import BankPayerAccount

    a1 = post(customer, "1000.00")
    b1 = post(other_customer, "2000.00")
    statement(company, finance, write, ["2026-03-06,S1,,1000.00,王芳,6217000099998888,x",
                                        "2026-03-06,S2,,2000.00,王芳,6217000099998888,y"], name="s1.csv")
    for serial, cust in (("S1", customer), ("S2", other_customer)):
        ln = line(serial)
        bs.apply_line(company=company, line_id=ln.pk, actor=finance, on=ON,
                      parts=[bs.Part(cust.pk, [(Instalment.objects.get(document=a1 if cust == customer else b1).pk,
                                                ln.amount, D(0))])])
    assert BankPayerAccount.objects.get(account_number="6217000099998888").shared
    post(customer, "3500.00")
    statement(company, finance, write, ["2026-03-08,S3,,3500.00,王芳,6217000099998888,货款"], name="s2.csv")
    ln = line("S3")
    assert ln.status == LineStatus.SUGGESTED and ln.proposals[0]["customer_id"] == customer.pk


# ---------------------------------------------------------------- 8. one run sees what it learned


def test_a_second_line_from_an_account_learned_in_the_same_run_is_applied(company, finance, account, customer,
                                                                          other_customer, post, write):
    customer.short_name = "华东机械"
    customer.save()
    first = post(customer, "4100.00", number="XS-2026-0801")
    second = post(customer, "2870.00", number="XS-2026-0802")
    post(other_customer, "2870.00")  # the second amount alone identifies nobody
    statement(company, finance, write, ["2026-03-06,L1,,4100.00,赵敏,6217123400005678,代华东机械付货款",
                                        "2026-03-06,L2,,2870.00,赵敏,6217123400005678,货款"])
    assert line("L1").status == LineStatus.AUTO_APPLIED
    assert line("L2").status == LineStatus.AUTO_APPLIED, line("L2").proposals[:2]
    assert open_of(first) == 0 and open_of(second) == 0


# ---------------------------------------------------------------- 9. not a customer's payment


@pytest.mark.parametrize(("payer", "memo", "category"), [
    ("中国工商银行上海分行", "活期结息", "interest"), ("国家金库上海分库", "增值税留抵退税", "tax_refund"),
    ("顺达快运有限公司", "多付运费退款", "refund"), ("测试科技有限公司", "资金归集", "internal"),
])
def test_money_that_is_not_a_customer_payment_gets_a_category_and_one_click_ignore(
        company, finance, account, customer, post, write, client, payer, memo, category):
    post(customer, "1520.36")
    statement(company, finance, write, [f"2026-03-06,N1,,1520.36,{payer},,{memo}"])
    ln = line("N1")
    assert ln.proposals == [] and ln.category == category and ln.status == LineStatus.UNMATCHED
    client.force_login(finance)
    page = client.get(reverse("banking:line", args=[ln.pk]), HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert page.status_code == 200 and 'name="category"' in page.content.decode()
    client.post(reverse("banking:line-ignore", args=[ln.pk]), {"category": category})
    ln.refresh_from_db()
    assert ln.status == LineStatus.IGNORED and ln.category == category
    assert AuditEvent.objects.filter(verb="banking.line.ignored").get().data["category"] == category


# ---------------------------------------------------------------- bad input: items changed meanwhile


def test_combination_that_no_longer_sums_falls_back_to_the_queue(company, finance, account, customer, post, write,
                                                                 monkeypatch):
    """A clerk settles part of an item between the proposals and the automatic application: the run
    re-checks under the locks and leaves the line in the queue — no partial application nobody proposed."""
    from huikuan.banking import matching

    docs = [post(customer, t, day=dt.date(2026, 1, d)) for d, t in ((3, "1000.00"), (13, "2000.00"), (23, "500.00"))]
    b = Instalment.objects.get(document=docs[1])
    statement(company, finance, write, ["2026-03-06,X1,,300.00,某某,,x"], name="x.csv")
    clerk_line = line("X1")
    original = matching.propose

    def propose_then_a_clerk_acts(*args, **kwargs):
        out = original(*args, **kwargs)
        if clerk_line.status != LineStatus.CONFIRMED:
            bs.apply_line(company=company, line_id=clerk_line.pk, actor=finance, on=ON,
                          parts=[bs.Part(customer.pk, [(b.pk, D("300.00"), D(0))])])
            clerk_line.status = LineStatus.CONFIRMED
        return out

    monkeypatch.setattr(matching, "propose", propose_then_a_clerk_acts)
    statement(company, finance, write, ["2026-03-06,X2,,2500.00,上海华东机械有限公司,,货款"], name="y.csv")
    ln = line("X2")
    assert ln.status == LineStatus.SUGGESTED  # proposed as 2000 + 500, no longer possible: back to the queue
    assert not ln.applications.exists()
    assert [open_of(d) for d in docs] == [D("1000.00"), D("1700.00"), D("500.00")]
    assert check_ledger(company_id=company.pk) == []
    # once the clerk's application is undone the combination holds again and the next run applies it
    monkeypatch.setattr(matching, "propose", original)
    bs.undo_line(company=company, line_id=clerk_line.pk, actor=finance, on=ON, reason="wrong customer")
    bs.match_lines(company=company, line_ids=[ln.pk], actor=finance, on=ON)
    assert line("X2").status == LineStatus.AUTO_APPLIED
    assert [open_of(d) for d in docs] == [D("1000.00"), 0, 0]


def test_bank_charges_are_reported_by_month_with_xlsx(company, finance, account, customer, post, write, client):
    from huikuan.banking.charges import bank_charges_by_month

    post(customer, "5000.00")
    post(customer, "8000.00")
    statement(company, finance, write, ["2026-02-26,C1,,4980.00,上海华东机械有限公司,,货款",
                                        "2026-03-04,C2,,7965.50,上海华东机械有限公司,,货款"])
    months = bank_charges_by_month(company=company, year=2026)
    assert [(m.month, m.count, m.amount) for m in months] == [
        (dt.date(2026, 2, 1), 1, D("20.00")), (dt.date(2026, 3, 1), 1, D("34.50"))]
    bs.undo_line(company=company, line_id=line("C2").pk, actor=finance, on=ON, reason="错了")
    march = bank_charges_by_month(company=company, year=2026)[1]
    assert (march.count, march.amount, march.reversed_count, march.reversed_amount) == (0, 0, 1, D("34.50"))
    client.force_login(finance)
    page = client.get(reverse("banking:charges") + "?year=2026")
    assert page.status_code == 200 and "2026-02" in page.content.decode() and "20.00" in page.content.decode()
    xlsx = client.get(reverse("banking:charges-export") + "?year=2026")
    assert xlsx.status_code == 200 and xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
