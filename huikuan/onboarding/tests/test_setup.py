"""Company setup: service and the `huikuan setup` / `huikuan user` commands, and the "run setup" message."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from huikuan.accounts.models import Company, Role, User
from huikuan.common.models import AuditEvent
from huikuan.credit.models import CreditPolicy
from huikuan.customers.models import PaymentTerm
from huikuan.dunning.models import DunningPolicy
from huikuan.ledger.calculations import TermSpec, build_schedule
from huikuan.onboarding import services
from huikuan.onboarding.defaults import starter_terms

pytestmark = pytest.mark.usefixtures("_fast_password_hasher")


def _setup(**kw):
    values = dict(code="hk01", name="杭州回款科技有限公司", currency="CNY", time_zone="Asia/Shanghai",
                  admin=services.NewAdmin(username="boss", password="Boss-2026-pw", display_name="王总"))
    values.update(kw)
    return services.setup_company(**values)


def test_setup_creates_company_admin_terms_grades_and_dunning(db):
    result = _setup()
    company = Company.objects.get()
    assert (company.code, company.base_currency, company.timezone, company.roll_due_to_working_day) == (
        "HK01", "CNY", "Asia/Shanghai", True)
    admin = User.objects.get(username="boss")
    assert admin.role == Role.ADMIN and admin.is_superuser and list(admin.companies.all()) == [company]
    assert not admin.must_change_password  # the person running setup chose it
    codes = set(PaymentTerm.objects.filter(company=company).values_list("code", flat=True))
    assert codes == {"N30", "N60", "N90", "EOM30", "EOM60", "D210N30", "S3070"}
    assert result.terms and len(result.terms) == 7
    grades = list(CreditPolicy.objects.get(company=company).grades.values_list("code", flat=True))
    assert grades[:3] == ["AAA", "AA", "A"]
    assert DunningPolicy.objects.filter(company=company, is_default=True).count() == 1
    assert AuditEvent.objects.filter(verb="accounts.company.created", company_id=company.pk).exists()
    assert AuditEvent.objects.filter(verb="accounts.user.created", target_id=admin.pk).exists()


def test_starter_terms_mean_what_their_names_say(db):
    _setup()
    t = {x.code: x for x in PaymentTerm.objects.all()}
    day = dt.date(2026, 11, 5)

    def due(code):
        term = t[code]
        spec = TermSpec(kind=term.kind, days=term.days,
                        split=tuple((Decimal(x["percent"]), int(x["days"])) for x in term.split_lines),
                        discount_percent=term.discount_percent, discount_days=term.discount_days)
        return [(line.due_date, line.amount) for line in build_schedule(total=Decimal("1000.00"), document_date=day, terms=spec)]

    assert due("N90") == [(dt.date(2027, 2, 3), Decimal("1000.00"))]
    assert due("EOM60") == [(dt.date(2027, 1, 29), Decimal("1000.00"))]  # 60 days after 30 November
    assert due("S3070") == [(day, Decimal("300.00")), (dt.date(2027, 1, 4), Decimal("700.00"))]
    assert (t["D210N30"].discount_percent, t["D210N30"].discount_days, t["D210N30"].days) == (Decimal("2"), 10, 30)


def test_edited_terms_replace_the_starter_set(db):
    terms = starter_terms()[:2]
    terms[0]["name"] = "三十天"
    terms.append({"code": "COD", "name": "款到发货", "kind": "net", "days": 0})
    _setup(terms=terms)
    assert dict(PaymentTerm.objects.values_list("code", "name")) == {"N30": "三十天", "N60": "Net 60 / 60天",
                                                                      "COD": "款到发货"}


@pytest.mark.parametrize("kw, field", [
    ({"code": "HK 01"}, "code"),
    ({"name": " "}, "name"),
    ({"currency": "XYZ"}, "currency"),
    ({"time_zone": "Mars/Base"}, "time_zone"),
    ({"terms": [{"code": "S", "name": "bad split", "kind": "split",
                 "split_lines": [{"percent": "30", "days": 0}, {"percent": "60", "days": 30}]}]}, "terms"),
    ({"terms": [{"code": "A", "name": "a", "kind": "net", "days": 30},
                {"code": "a", "name": "b", "kind": "net", "days": 60}]}, "terms"),
    ({"admin": services.NewAdmin(username="boss", password="123")}, "password"),
])
def test_bad_setup_writes_nothing(db, kw, field):
    with pytest.raises(services.SetupError.__mro__[1]) as err:  # DomainError
        _setup(**kw)
    assert err.value.field == field
    assert not Company.objects.exists() and not User.objects.exists() and not PaymentTerm.objects.exists()


def test_setup_twice_is_refused_and_changes_nothing(db):
    _setup()
    with pytest.raises(services.CompanyExists):
        _setup(name="另一家", admin=services.NewAdmin(username="other", password="Other-2026-pw"))
    assert Company.objects.count() == 1 and not User.objects.filter(username="other").exists()


def test_an_administrator_adds_a_further_company(db):
    first = _setup().admin
    result = services.setup_company(code="SZ02", name="深圳回款贸易有限公司", admin=first, actor=first)
    assert set(first.companies.values_list("code", flat=True)) == {"HK01", "SZ02"}
    assert PaymentTerm.objects.filter(company=result.company).count() == 7
    clerk = User.objects.create_user(username="clerk", password="x-2026-pass", role=Role.FINANCE)
    with pytest.raises(services.SetupError.__mro__[1]):
        services.setup_company(code="SH03", name="上海", admin=clerk, actor=clerk)


# ---------------------------------------------------------------- commands


def test_setup_command_with_password_file(db, tmp_path, capsys):
    pw = tmp_path / "pw.txt"
    pw.write_text("Boss-2026-pw\n", encoding="utf-8")
    call_command("setup", "--company-code", "HK01", "--company-name", "杭州回款科技有限公司", "--admin", "boss",
                 "--password-file", str(pw), "--currency", "CNY", "--time-zone", "Asia/Shanghai", "--language", "en")
    out = capsys.readouterr().out
    assert "HK01" in out and "EOM60" in out
    assert User.objects.get(username="boss").check_password("Boss-2026-pw")
    with pytest.raises(CommandError, match="HK01"):
        call_command("setup", "--company-code", "hk01", "--company-name", "x", "--admin", "boss2",
                     "--password-file", str(pw), "--language", "en")
    assert Company.objects.count() == 1 and not User.objects.filter(username="boss2").exists()


def test_setup_command_password_from_environment_and_terms_file(db, tmp_path, monkeypatch, capsys):
    call_command("setup", "--print-terms")
    printed = capsys.readouterr().out
    assert printed.splitlines()[0] == "code,name,kind,days,split,discount"
    assert "S3070,30% 预付 + 70% 60天,split,0,\"30@0, 70@60\"," in printed and "D210N30,2/10 net 30,net,30,,2/10" in printed
    edited = "\n".join(line for line in printed.splitlines() if not line.startswith(("N90", "EOM60")))
    (tmp_path / "terms.csv").write_text(edited + "\nCOD,款到发货,net,0,,\n", encoding="utf-8")
    monkeypatch.setenv("HUIKUAN_ADMIN_PASSWORD", "Env-2026-pass")
    call_command("setup", "--company-code", "HK01", "--company-name", "杭州", "--admin", "boss",
                 "--terms-file", str(tmp_path / "terms.csv"), "--no-roll-due-dates")
    assert set(PaymentTerm.objects.values_list("code", flat=True)) == {"N30", "N60", "EOM30", "S3070", "D210N30", "COD"}
    assert PaymentTerm.objects.get(code="S3070").split_lines == [{"percent": "30", "days": 0}, {"percent": "70", "days": 60}]
    assert not Company.objects.get().roll_due_to_working_day
    assert User.objects.get(username="boss").check_password("Env-2026-pass")


def test_setup_command_without_password_or_required_options(db, monkeypatch):
    monkeypatch.delenv("HUIKUAN_ADMIN_PASSWORD", raising=False)
    with pytest.raises(CommandError, match="HUIKUAN_ADMIN_PASSWORD"):
        call_command("setup", "--company-code", "HK01", "--company-name", "杭州", "--admin", "boss", "--language", "en")
    with pytest.raises(CommandError, match="--company-name"):
        call_command("setup", "--company-code", "HK01", "--admin", "boss", "--language", "en")
    assert not Company.objects.exists()


@pytest.mark.parametrize("argv", [
    ["user", "list"], ["user", "add", "zw", "--role", "salesperson"], ["credit", "rescore"], ["credit", "holds"],
    ["collections", "review"], ["dunning", "run"],
])
def test_commands_needing_a_company_say_run_setup(db, argv):
    with pytest.raises(CommandError, match="huikuan setup"):
        call_command(*argv, "--language", "en") if argv[0] == "user" else call_command(*argv)


def test_user_command_add_list_set_role_deactivate(db, tmp_path, capsys, monkeypatch):
    _setup()
    monkeypatch.delenv("HUIKUAN_USER_PASSWORD", raising=False)
    call_command("user", "add", "zw", "--role", "salesperson", "--name", "张伟", "--employee-number", "E001",
                 "--team", "华东组", "--email", "zw@example.cn", "--language", "en")
    out = capsys.readouterr().out
    one_time = out.strip().splitlines()[-1].rsplit(" ", 1)[-1]
    zw = User.objects.get(username="zw")
    assert zw.check_password(one_time) and zw.must_change_password and zw.companies.get().code == "HK01"
    with pytest.raises(CommandError, match="E001"):
        call_command("user", "add", "zw2", "--role", "collector", "--employee-number", "E001", "--language", "en")
    call_command("user", "--company", "HK01", "list", "--json")  # option before the sub-command
    call_command("user", "list", "--company", "hk01")  # and after it
    lines = capsys.readouterr().out
    assert '"employee_number": "E001"' in lines and "张伟" in lines
    call_command("user", "set-role", "E001", "collector")
    call_command("user", "deactivate", "zw")
    zw.refresh_from_db()
    assert zw.role == Role.COLLECTOR and not zw.is_active
    capsys.readouterr()
    call_command("user", "list", "--json")
    assert "zw" not in capsys.readouterr().out.replace("zw@", "")
    pw = tmp_path / "pw"
    pw.write_text("Reset-2026-pw\n")
    call_command("user", "reset-password", "zw", "--password-file", str(pw))
    zw.refresh_from_db()
    assert zw.check_password("Reset-2026-pw")
    with pytest.raises(CommandError, match="last active administrator"):
        call_command("user", "deactivate", "boss", "--language", "en")


def test_user_reassign_command_moves_a_leavers_customers(company, users, customer, capsys):
    call_command("user", "reassign", "sales_east", "--to", "sales_west", "--language", "en")
    customer.refresh_from_db()
    assert customer.owner == users["sales_west"]
    assert "1 customers moved from sales_east to sales_west" in capsys.readouterr().out
    with pytest.raises(CommandError, match="active salesperson"):
        call_command("user", "reassign", "sales_west", "--to", "finance", "--language", "en")


def test_apikey_without_any_company_says_run_setup(db):
    User.objects.create_user(username="root", password="Root-2026-pw", role=Role.ADMIN)
    with pytest.raises(CommandError, match="huikuan setup"):
        call_command("apikey", "create", "--user", "root", "--name", "erp")
