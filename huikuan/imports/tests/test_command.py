import io

import pytest
from django.core.management import CommandError, call_command

from huikuan.imports.models import MappingProfile
from huikuan.ledger.models import ReceivableDocument

from .helpers import write_csv, write_xlsx

pytestmark = pytest.mark.django_db


def _call(*args):
    out = io.StringIO()
    call_command("import", *args, "--company", "T01", "--user", "finance", "--language", "en", stdout=out)
    return out.getvalue()


def test_cli_dry_run_then_commit(tmp_path, customer, finance):
    path = write_csv(tmp_path / "docs.csv", [["单据编号", "业务日期", "客户编码", "价税合计"],
                                             ["CLI1", "2026-01-05", "C001", "10"], ["CLI2", "2026-01-05", "C001", "20"]],
                     "gbk")
    out = _call("documents", str(path), "--dry-run")
    assert "nothing written" in out and ReceivableDocument.objects.count() == 0
    out = _call("documents", str(path), "--commit")
    assert "imported" in out and "2 new" in out
    assert ReceivableDocument.objects.count() == 2
    out = _call("documents", str(path), "--commit")
    assert "2 unchanged" in out and ReceivableDocument.objects.count() == 2


def test_cli_reports_bad_rows_and_fails(tmp_path, customer, finance):
    path = write_xlsx(tmp_path / "bad.xlsx", [["单据编号", "业务日期", "客户编码", "价税合计"],
                                              ["B1", "2026-01-05", "C001", "10"], ["B2", "tomorrow", "C001", "20"]])
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("import", "documents", str(path), "--commit", "--company", "T01", "--user", "finance",
                     "--language", "en", stdout=out)
    assert "line 3 [业务日期] “tomorrow”" in out.getvalue()
    assert ReceivableDocument.objects.count() == 0


def test_cli_uses_a_saved_profile(tmp_path, company, customer, finance):
    MappingProfile.objects.create(company=company, kind="documents", name="erp",
                                  mapping={"number": "n", "document_date": "d", "customer_code": "c", "total": "t"})
    path = write_csv(tmp_path / "p.csv", [["n", "d", "c", "t"], ["PR1", "2026-01-05", "C001", "10"]])
    out = _call("documents", str(path), "--profile", "erp", "--commit")
    assert "1 new" in out
