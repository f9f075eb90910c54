"""Statement uploads waiting for their columns, and saved layouts (issue 11 point 7).

An upload is visible to the user who made it only (here finance; the administrator gets 404); the
mapping step needs the import permission, forgetting a layout the settings permission."""

from tests.e2e.access import STAFF, post_only

MAP = {r: 403 for r in STAFF} | {"finance": 200, "admin": 404}

ROWS = {
    "banking:upload-map": ("/bank/uploads/{bu}/map/", MAP, 302),
    "banking:upload-discard": ("/bank/uploads/{bu}/discard/", post_only({"admin", "finance"}), 302),
    "banking:layout-forget": ("/bank/layouts/{bla}/forget/", post_only({"admin", "finance"}), 302),
}

_CSV = "XX农村商业银行对账单\n账号：AM-2\n记账日,收款金额,对手名称\n2026/03/02,5000.00,上海华东机械有限公司\n"


def objects(*, world, company, customer, users, finance) -> dict:
    from huikuan.banking.models import BankAccount, StatementLayout, StatementUpload

    acct = BankAccount.objects.create(company=company, bank="XX农商银行", account_number="AM-2", currency="CNY")
    upload = StatementUpload.objects.create(company=company, file_name="rural.csv", content=_CSV.encode(),
                                            created_by=finance)
    layout = StatementLayout.objects.create(company=company, account=acct, signature="x",
                                            fields={"date": "记账日", "credit": "收款金额", "name": "对手名称"})
    return {"bu": upload.pk, "bla": layout.pk}
