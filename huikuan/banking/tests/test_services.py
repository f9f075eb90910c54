"""Import (idempotent, all-or-nothing), auto-apply only when certain, confirmation, learning, undo."""

import datetime as dt
from decimal import Decimal as D

import pytest

from huikuan.banking import services as bs
from huikuan.banking.models import BankAlias, BankLine, BankPayerAccount, LineStatus
from huikuan.banking.parsers import StatementError
from huikuan.common.errors import NotAllowed
from huikuan.customers.models import Customer
from huikuan.ledger.models import Credit, CreditKind, Instalment, Status
from huikuan.ledger.services import ScheduleInput

from .conftest import SAMPLES

pytestmark = pytest.mark.django_db
ON = dt.date(2026, 3, 20)


def imp(company, finance, path, name=None, **kw):
    return bs.import_statement(company=company, path=path, file_name=name or path.name, actor=finance, on=ON, **kw)


def csv(rows):
    head = "交易日期,流水号,借方发生额,贷方发生额,对方户名,对方账号,用途\n"
    return head + "\n".join(rows) + "\n"


def test_import_auto_applies_exact_reference_and_amount(company, finance, account, customer, post):
    doc = post(customer, "12345.60", number="INV-2026-00001")
    res = imp(company, finance, SAMPLES / "cn_debit_credit_gbk.csv")
    assert (res.total, res.new, res.outgoing) == (4, 4, 2)
    line = BankLine.objects.get(serial="HK0302001")
    assert line.status == LineStatus.AUTO_APPLIED
    assert line.credit.amount == D("12345.60") and line.credit.customer_id == customer.pk
    assert Instalment.objects.get(document=doc).open_amount == 0
    assert BankLine.objects.get(serial="HK0302002").status == LineStatus.IGNORED  # outgoing fee
    assert BankPayerAccount.objects.filter(account_number="6222021001001234", customer=customer).exists()


def test_reimport_and_overlapping_period_never_duplicate(company, finance, account, customer, write):
    a = write("a.csv", csv(["2026-03-02,S1,,100.00,甲公司,,x", "2026-03-03,S2,,200.00,乙公司,,y"]))
    b = write("b.csv", csv(["2026-03-03,S2,,200.00,乙公司,,y", "2026-03-04,S3,,300.00,丙公司,,z"]))
    assert imp(company, finance, a).new == 2
    assert imp(company, finance, a).new == 0
    res = imp(company, finance, b)
    assert (res.new, res.duplicates) == (1, 1)
    assert BankLine.objects.count() == 3


def test_an_import_killed_after_storing_its_lines_is_completed_by_importing_the_file_again(
        company, finance, account, customer, other_customer, post, write, monkeypatch):
    """The lines are stored in one transaction, then matched and applied in many: a process killed in between
    leaves stored, unmatched lines. Importing the file again stores nothing twice and applies them."""
    a = post(customer, "100.00", number="INV-A")
    b = post(other_customer, "200.00", number="INV-B")
    path = write("s.csv", csv([f"2026-03-02,S1,,100.00,{customer.name},,INV-A",
                               f"2026-03-03,S2,,200.00,{other_customer.name},,INV-B"]))

    class Killed(BaseException):
        pass

    def killed(**kw):
        raise Killed

    with monkeypatch.context() as m:
        m.setattr(bs, "match_lines", killed)
        with pytest.raises(Killed):
            imp(company, finance, path)
    assert list(BankLine.objects.values_list("status", flat=True)) == [LineStatus.UNMATCHED] * 2
    res = imp(company, finance, path)
    assert (res.new, res.duplicates, res.matched["auto_applied"]) == (0, 2, 2)
    assert BankLine.objects.count() == 2
    assert set(BankLine.objects.values_list("status", flat=True)) == {LineStatus.AUTO_APPLIED}
    assert Credit.objects.filter(kind=CreditKind.PAYMENT).count() == 2
    assert Instalment.objects.get(document=a).open_amount == 0 and Instalment.objects.get(document=b).open_amount == 0
    # a third import finds nothing left to do
    res = imp(company, finance, path)
    assert (res.new, res.matched) == (0, {})
    assert Credit.objects.filter(kind=CreditKind.PAYMENT).count() == 2


def test_identical_rows_without_serial_are_kept_and_overlap_counts_occurrences(company, finance, account, write):
    row = "2026-03-05,,,5000.00,上海华东机械有限公司,6222,货款"
    one = write("one.csv", csv([row]).replace("交易日期,流水号", "交易日期,备注2"))
    two = write("two.csv", csv([row, row]).replace("交易日期,流水号", "交易日期,备注2"))
    assert imp(company, finance, one).new == 1
    assert imp(company, finance, two).new == 1  # the second identical transfer is new, the first was known
    assert imp(company, finance, two).new == 0
    assert BankLine.objects.count() == 2


def test_currency_mismatch_refuses_everything(company, finance, account):
    account.currency = "USD"
    account.save()
    with pytest.raises(bs.BankingError):
        imp(company, finance, SAMPLES / "camt053.xml")
    assert BankLine.objects.count() == 0


def test_statement_for_another_account_is_refused(company, finance, account):
    other = bs.BankAccount.objects.create(company=company, bank="工行", account_number="999", currency="CNY")
    with pytest.raises(bs.BankingError):
        imp(company, finance, SAMPLES / "mt940.sta", account_id=other.pk)
    assert BankLine.objects.count() == 0


def test_missing_columns_change_nothing(company, finance, account, write):
    p = write("m.csv", "交易日期,金额\n2026-03-02,100\n")
    with pytest.raises(StatementError):
        imp(company, finance, p)
    assert BankLine.objects.count() == 0 and bs.BankStatement.objects.count() == 0


def test_only_finance_may_import(company, users, account):
    with pytest.raises(NotAllowed):
        imp(company, users["collector"], SAMPLES / "mt940.sta")


def test_same_amount_on_two_customers_is_decided_by_the_payer_name(company, finance, account, customer, other_customer,
                                                                    post, write):
    post(customer, "800.00")
    d2 = post(other_customer, "800.00")
    imp(company, finance, write("n.csv", csv(["2026-03-06,N1,,800.00,广州南方贸易有限公司,,货款"])))
    line = BankLine.objects.get(serial="N1")
    assert line.status == LineStatus.AUTO_APPLIED and line.credit.customer_id == other_customer.pk
    assert Instalment.objects.get(document=d2).open_amount == 0


def test_amount_only_is_a_suggestion_and_confirming_teaches_alias_and_account(company, finance, account, customer,
                                                                               post, write):
    doc = post(customer, "800.00")
    imp(company, finance, write("p.csv", csv(["2026-03-06,P1,,800.00,张伟,6217000011112222,代付货款"])))
    line = BankLine.objects.get(serial="P1")
    assert line.status == LineStatus.SUGGESTED
    assert line.proposals[0]["customer_id"] == customer.pk
    assert D(line.proposals[0]["confidence"]) < D("0.95")
    bs.confirm_proposal(company=company, line_id=line.pk, index=0, actor=finance, on=ON)
    line.refresh_from_db()
    assert line.status == LineStatus.CONFIRMED
    assert Instalment.objects.get(document=doc).open_amount == 0
    assert BankAlias.objects.get(name="张伟").customer_id == customer.pk
    assert BankPayerAccount.objects.get(account_number="6217000011112222").customer_id == customer.pk
    # next month the boss pays again from the same personal account: now certain
    post(customer, "950.00", day=dt.date(2026, 3, 1))
    imp(company, finance, write("q.csv", csv(["2026-04-06,P2,,950.00,张伟,6217000011112222,货款"])))
    assert BankLine.objects.get(serial="P2").status == LineStatus.AUTO_APPLIED


def test_combination_discount_fee_and_partial(company, finance, account, customer, post, write):
    a = post(customer, "100.00", day=dt.date(2026, 1, 1))
    b = post(customer, "250.00", day=dt.date(2026, 1, 15))
    imp(company, finance, write("c.csv", csv(["2026-03-06,C1,,350.00,上海华东机械有限公司,,货款"])))
    line = BankLine.objects.get(serial="C1")
    assert line.status == LineStatus.AUTO_APPLIED  # the two oldest items together
    assert Instalment.objects.get(document=a).open_amount == 0 and Instalment.objects.get(document=b).open_amount == 0
    disc = post(customer, "1000.00", day=dt.date(2026, 3, 1),
                schedule=[ScheduleInput(due_date=dt.date(2026, 3, 31), amount=D("1000.00"), discount_amount=D("20.00"),
                                        discount_date=dt.date(2026, 3, 10))])
    imp(company, finance, write("d.csv", csv(["2026-03-08,D1,,980.00,上海华东机械有限公司,,货款"])))
    assert BankLine.objects.get(serial="D1").status == LineStatus.AUTO_APPLIED
    assert Instalment.objects.get(document=disc).open_amount == 0
    assert Credit.objects.filter(kind=CreditKind.DISCOUNT, amount=D("20.00")).exists()
    fee = post(customer, "5000.00", day=dt.date(2026, 3, 2))
    imp(company, finance, write("e.csv", csv(["2026-03-09,E1,,4985.00,上海华东机械有限公司,,货款"])))
    line = BankLine.objects.get(serial="E1")  # short by a bank charge within the tolerance: settled
    assert line.status == LineStatus.AUTO_APPLIED and line.proposals[0]["kind"] == "fee"
    assert Instalment.objects.get(document=fee).open_amount == 0
    assert Credit.objects.get(kind=CreditKind.BANK_CHARGE).amount == D("15.00")


def test_over_application_is_refused_and_changes_nothing(company, finance, account, customer, post, write):
    d1 = post(customer, "500.00")
    d2 = post(customer, "700.00")
    imp(company, finance, write("o.csv", csv(["2026-03-06,O1,,600.00,某人,,x"])))
    line = BankLine.objects.get(serial="O1")
    i1, i2 = Instalment.objects.get(document=d1), Instalment.objects.get(document=d2)
    with pytest.raises(bs.OverApplication):
        bs.apply_line(company=company, line_id=line.pk, actor=finance, on=ON,
                      parts=[bs.Part(customer.pk, [(i1.pk, D("500"), D(0)), (i2.pk, D("200"), D(0))])])
    with pytest.raises(bs.OverApplication):
        bs.apply_line(company=company, line_id=line.pk, actor=finance, on=ON,
                      parts=[bs.Part(customer.pk, [(i1.pk, D("600"), D(0))])])
    line.refresh_from_db()
    assert line.status in (LineStatus.SUGGESTED, LineStatus.UNMATCHED)
    assert not Credit.objects.exists()
    assert Customer.objects.get(pk=customer.pk).open_amount == D("1200.00")


def test_split_across_customers_rest_on_account_then_undo(company, finance, account, customer, other_customer, post,
                                                          write):
    d1 = post(customer, "300.00")
    d2 = post(other_customer, "400.00")
    imp(company, finance, write("s.csv", csv(["2026-03-06,S9,,1000.00,集团总部,,两家货款"])))
    line = BankLine.objects.get(serial="S9")
    i1, i2 = Instalment.objects.get(document=d1), Instalment.objects.get(document=d2)
    bs.apply_line(company=company, line_id=line.pk, actor=finance, on=ON,
                  parts=[bs.Part(customer.pk, [(i1.pk, D("300"), D(0))]),
                         bs.Part(other_customer.pk, [(i2.pk, D("400"), D(0))], extra=D("0"))])
    line.refresh_from_db()
    assert line.status == LineStatus.CONFIRMED
    assert Customer.objects.get(pk=customer.pk).unapplied_amount == D("300.00")  # the rest on account
    assert sum(c.amount for c in Credit.objects.filter(kind=CreditKind.PAYMENT)) == D("1000.00")
    with pytest.raises(bs.AlreadyDecided):
        bs.confirm_proposal(company=company, line_id=line.pk, index=0, actor=finance, on=ON)
    bs.undo_line(company=company, line_id=line.pk, actor=finance, on=ON, reason="wrong split")
    line.refresh_from_db()
    assert line.status in (LineStatus.SUGGESTED, LineStatus.UNMATCHED) and line.credit is None
    assert not Credit.objects.filter(kind=CreditKind.PAYMENT, status=Status.POSTED).exists()
    assert Instalment.objects.get(pk=i1.pk).open_amount == D("300.00")


def test_on_account_and_ignore(company, finance, account, customer, write):
    imp(company, finance, write("u.csv", csv(["2026-03-06,U1,,88.00,上海华东机械有限公司,,预付款",
                                               "2026-03-06,U2,,1.23,招商银行,,利息"])))
    u1, u2 = BankLine.objects.get(serial="U1"), BankLine.objects.get(serial="U2")
    bs.post_on_account(company=company, line_id=u1.pk, customer_id=customer.pk, actor=finance, on=ON)
    u1.refresh_from_db()
    assert u1.status == LineStatus.UNAPPLIED and u1.credit.unapplied_amount == D("88.00")
    bs.ignore_line(company=company, line_id=u2.pk, actor=finance, note="interest")
    assert BankLine.objects.get(pk=u2.pk).status == LineStatus.IGNORED


def test_auditor_cannot_confirm(company, users, finance, account, customer, post, write):
    post(customer, "10.00")
    imp(company, finance, write("v.csv", csv(["2026-03-06,V1,,10.00,某人,,x"])))
    with pytest.raises(NotAllowed):
        bs.confirm_proposal(company=company, line_id=BankLine.objects.get(serial="V1").pk, index=0,
                            actor=users["auditor"], on=ON)


def test_large_company_name_lookup_in_sql(company, finance, account, customer, other_customer, post, write,
                                          monkeypatch):
    from huikuan.banking import matching

    monkeypatch.setattr(matching, "FULL_NAME_INDEX", 0)  # as for a company with > 20,000 customers
    assert set(matching.load_customer_names(company, ["广州南方贸易", "无关公司"])) == {other_customer.pk}
    d2 = post(other_customer, "800.00")
    post(customer, "800.00")
    imp(company, finance, write("big.csv", csv(["2026-03-06,BG1,,800.00,广州南方贸易有限公司,,货款"])))
    assert BankLine.objects.get(serial="BG1").status == LineStatus.AUTO_APPLIED
    assert Instalment.objects.get(document=d2).open_amount == 0


def test_demo_statement_waits_in_the_queue_with_suggestions(company, finance, customer, post):
    from huikuan.banking.demo import load_demo_bank

    for n in range(6):
        post(customer, f"{1000 + n}.00", number=f"INV-2026-{n + 1:05d}")
    st = load_demo_bank(company=company, actor=finance, as_of=ON, lines=6)
    assert st.lines.count() == 6
    assert st.lines.filter(status=LineStatus.SUGGESTED).count() >= 4
    assert not Credit.objects.exists()  # matched, not applied: the demo's ledger does not move
