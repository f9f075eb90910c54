"""What each kind of import accepts: fields, types, header aliases, choices, and export presets.

Aliases are matched after normalisation (full-width → half-width, case, spaces, '*' and bracketed
notes such as "(元)" removed). Presets list the column names that typical exports of Zoho CRM,
纷享销客 (FxiaoKe), 金蝶 (Kingdee K/3 Cloud / 云星空) and 用友 (Yonyou U8 / YonSuite) use, to the best
of our knowledge: they are starting points for the mapping screen, not guarantees — every
installation can rename columns, and the user confirms the mapping before anything is read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.utils.translation import gettext_lazy as _

from huikuan.common.headers import header_key
from huikuan.customers.models import Channel, CustomerStatus
from huikuan.ledger.models import FapiaoType, Method

from .models import ImportKind
from .parsing import choice_key


@dataclass(frozen=True)
class Field:
    name: str
    label: object  # lazy translated
    type: str  # text | money | date | int | choice | phone
    required: bool = False
    aliases: tuple[str, ...] = ()
    choices: tuple[tuple[str, object, tuple[str, ...]], ...] = ()  # (code, label, synonyms)
    max_length: int | None = None
    example: str = ""

    def synonyms(self) -> dict[str, str]:
        out = {}
        for code, label, extra in self.choices:
            for word in (code, str(label), *extra):
                out[choice_key(word)] = code
        return out

    def option_labels(self) -> list[str]:
        """What a template's drop-down offers: the first synonym (Chinese) and the English label."""
        return [extra[0] if extra else code for code, _label, extra in self.choices]


@dataclass(frozen=True)
class Kind:
    code: str
    perm: str
    fields: tuple[Field, ...]
    notes: object = ""
    groups_instalments: bool = False
    creates_customers: bool = False  # rows may create the customers they name (the user's choice)
    extra: dict = field(default_factory=dict)

    @property
    def label(self):
        return ImportKind(self.code).label

    def field(self, name: str) -> Field:
        for f in self.fields:
            if f.name == name:
                return f
        raise KeyError(name)


# ---------------------------------------------------------------- shared fields

CUSTOMER_CODE_ALIASES = (
    "客户编码", "客户编号", "客户代码", "往来单位编码", "单位编码", "编码", "客户号", "付款单位编码",
    "Customer Code", "Customer No", "Customer Number", "Account Number", "Code", "customer_code",
)
CUSTOMER_NAME_ALIASES = (
    "客户名称", "单位名称", "往来单位", "往来单位名称", "客户", "客户全称", "公司名称", "名称", "客户名", "付款单位",
    "Customer Name", "Account Name", "Company", "Company Name", "Name", "customer_name",
)
AMOUNT_ALIASES = ("金额", "价税合计", "应收金额", "含税金额", "本币价税合计", "单据金额", "总金额", "Amount", "Total", "Grand Total")
DATE_ALIASES = ("日期", "单据日期", "业务日期", "开票日期", "制单日期", "Date", "Document Date", "Invoice Date")
EXTERNAL_KEY_ALIASES = ("外部编号", "外部ID", "唯一标识", "External Key", "External ID", "Record Id", "ID")

YES_NO = (("yes", _("Yes"), ("是", "Y", "true", "1", "yes")), ("no", _("No"), ("否", "N", "false", "0", "no")))
DELIVERY_CHOICES = (
    ("paper", _("Paper"), ("纸质", "纸质发票", "纸票", "paper")),
    ("electronic", _("Electronic"), ("电子", "电子发票", "数电", "数电票", "electronic", "e-invoice", "email")),
)
STATUS_CHOICES = tuple(
    (c, label, extra)
    for (c, label), extra in zip(
        CustomerStatus.choices,
        (("正常", "活跃", "active"), ("潜在", "prospect"), ("暂停", "冻结", "suspended"), ("关闭", "停用", "closed"),
         ("破产", "bankrupt")),
        strict=True,
    )
)
CHANNEL_CHOICES = tuple(
    (c, label, extra)
    for (c, label), extra in zip(
        Channel.choices,
        (("邮件", "电子邮件", "email"), ("短信", "sms"), ("电话", "phone"), ("微信", "wechat"), ("邮寄", "信函", "post")),
        strict=True,
    )
)
LANGUAGE_CHOICES = tuple(
    (code, label, extra)
    for (code, label), extra in zip(settings.LANGUAGES, (("中文", "简体中文", "zh", "zh-cn"), ("英文", "English", "en")), strict=False)
)
METHOD_SYNONYMS = {
    Method.TRANSFER: ("银行转账", "转账", "电汇", "网银", "银行存款", "transfer", "wire"),
    Method.BANK_ACCEPTANCE: ("银行承兑汇票", "银承", "银行承兑", "bank acceptance"),
    Method.COMMERCIAL_ACCEPTANCE: ("商业承兑汇票", "商承", "商业承兑", "commercial acceptance"),
    Method.CHEQUE: ("支票", "cheque", "check"),
    Method.CASH: ("现金", "cash"),
    Method.WECHAT: ("微信", "微信支付", "wechat"),
    Method.ALIPAY: ("支付宝", "alipay"),
    Method.OFFSET: ("抵账", "以货抵款", "对冲", "offset"),
}
METHOD_CHOICES = tuple((c, Method(c).label, METHOD_SYNONYMS[c]) for c in METHOD_SYNONYMS)
FAPIAO_CHOICES = (
    (FapiaoType.SPECIAL, FapiaoType.SPECIAL.label, ("专票", "增值税专用发票", "专用发票", "special")),
    (FapiaoType.ORDINARY, FapiaoType.ORDINARY.label, ("普票", "增值税普通发票", "普通发票", "ordinary")),
    (FapiaoType.DIGITAL, FapiaoType.DIGITAL.label, ("数电", "数电票", "全电发票", "电子发票", "digital")),
)


def _customer_code(required=True):
    return Field("customer_code", _("Customer code"), "text", required, CUSTOMER_CODE_ALIASES, max_length=30, example="C0001")


def _customer_name():
    # Identifies the customer when the file has no code column (exact, unique name match).
    return Field("customer_name", _("Customer name"), "text", False, CUSTOMER_NAME_ALIASES, max_length=200)


def _external_key():
    return Field("external_key", _("External key"), "text", False, EXTERNAL_KEY_ALIASES, max_length=100)


KINDS: dict[str, Kind] = {
    ImportKind.CUSTOMERS: Kind(
        ImportKind.CUSTOMERS,
        "customer.edit",
        (
            Field("code", _("Customer code"), "text", True, CUSTOMER_CODE_ALIASES, max_length=30, example="C0001"),
            Field("name", _("Customer name"), "text", True, CUSTOMER_NAME_ALIASES, max_length=200,
                  example="上海华东机械有限公司"),
            Field("short_name", _("Short name"), "text", False, ("简称", "客户简称", "Short Name"), max_length=60),
            Field("credit_code", _("Unified social credit code"), "text", False,
                  ("统一社会信用代码", "信用代码", "税号", "纳税人识别号", "Tax ID", "USCC"), max_length=18),
            Field("region", _("Region"), "text", False,
                  ("地区", "区域", "省份", "城市", "所属区域", "Region", "Billing City", "Billing State", "City"), max_length=50),
            Field("industry", _("Industry"), "text", False, ("行业", "所属行业", "Industry"), max_length=50),
            Field("address", _("Address"), "text", False, ("地址", "详细地址", "通讯地址", "Address", "Billing Street"),
                  max_length=300),
            Field("owner", _("Owner salesperson (login, employee number or name)"), "text", False,
                  ("负责人", "业务员", "销售员", "客户负责人", "专营业务员", "Owner", "Account Owner", "Salesperson"),
                  max_length=150),
            Field("payment_term", _("Payment terms"), "text", False,
                  ("收款条件", "付款条件", "账期", "结算方式", "信用期", "Payment Terms", "Terms"), max_length=100,
                  example="月结30天"),
            Field("currency", _("Currency"), "text", False, ("币别", "币种", "结算币别", "Currency"), max_length=10,
                  example="人民币"),
            Field("status", _("Status"), "choice", False, ("状态", "客户状态", "Status"), STATUS_CHOICES),
            Field("bank_name", _("Bank (开户行)"), "text", False,
                  ("开户银行", "开户行", "开户银行名称", "开户行名称", "Bank", "Bank Name"), max_length=100),
            Field("bank_account", _("Bank account number"), "text", False,
                  ("银行账号", "账号", "银行帐号", "帐号", "开户账号", "Bank Account", "Account No"), max_length=60),
            Field("bank_account_name", _("Account holder (户名)"), "text", False, ("户名", "账户名称", "开户名称",
                                                                                "Account Name Holder"), max_length=200),
            _external_key(),
        ),
        notes=_("Existing customers (same external key, else same code) are updated; new codes are created."),
    ),
    ImportKind.CONTACTS: Kind(
        ImportKind.CONTACTS,
        "customer.edit",
        (
            _customer_code(required=False),
            _customer_name(),
            Field("name", _("Contact name"), "text", True, ("联系人", "联系人姓名", "姓名", "Contact Name", "Full Name", "Name"),
                  max_length=100, example="王经理"),
            Field("title", _("Role"), "text", False, ("职务", "职位", "Title", "Job Title"), max_length=60),
            Field("phone", _("Phone"), "phone", False, ("电话", "手机", "手机号", "联系电话", "移动电话", "Phone", "Mobile"),
                  max_length=40, example="13800138000"),
            Field("email", _("Email"), "text", False, ("邮箱", "电子邮件", "Email", "E-mail"), max_length=254),
            Field("wechat_id", _("WeChat ID"), "text", False, ("微信", "微信号", "WeChat"), max_length=60),
            Field("preferred_channel", _("Preferred channel"), "choice", False, ("首选渠道", "联系方式", "Preferred Channel"),
                  CHANNEL_CHOICES),
            Field("language", _("Language"), "choice", False, ("语言", "Language"), LANGUAGE_CHOICES),
            Field("is_primary", _("Primary contact"), "choice", False, ("主联系人", "首要联系人", "Primary"), YES_NO),
        ),
        notes=_("A contact with the same name at the same customer is updated, not added again."),
    ),
    ImportKind.DOCUMENTS: Kind(
        ImportKind.DOCUMENTS,
        "ledger.post",
        (
            _customer_code(required=False),
            _customer_name(),
            Field("number", _("Document number"), "text", True,
                  ("单据编号", "单据号", "发票号", "销售单号", "应收单号", "订单号", "Invoice Number", "Document Number", "Number"),
                  max_length=40, example="INV-2026-0001"),
            Field("document_date", _("Document date"), "date", True, DATE_ALIASES, example="2026-01-05"),
            Field("total", _("Amount"), "money", False, AMOUNT_ALIASES, example="11,300.00"),
            Field("due_date", _("Due date (instalment)"), "date", False,
                  ("到期日", "到期日期", "应收日期", "计划收款日期", "收款日期", "Due Date"), example=""),
            Field("instalment_amount", _("Instalment amount"), "money", False,
                  ("分期金额", "计划收款金额", "应收款金额", "本期金额", "Instalment Amount"), example=""),
            Field("payment_term", _("Payment terms"), "text", False,
                  ("收款条件", "付款条件", "账期", "信用期", "Payment Terms", "Terms"), max_length=100),
            Field("reference", _("Contract / order reference"), "text", False,
                  ("合同号", "合同编号", "订单编号", "源单编号", "Reference", "PO Number", "Sales Order"), max_length=100),
            Field("description", _("Description"), "text", False, ("摘要", "备注", "说明", "Description", "Subject"),
                  max_length=300),
            Field("currency", _("Currency"), "text", False, ("币别", "币种", "Currency"), max_length=10),
            _external_key(),
        ),
        notes=_(
            "One row per document with its total (the schedule follows the payment terms), or one row per "
            "instalment with due date and instalment amount, grouped by document number."
        ),
        groups_instalments=True,
        creates_customers=True,
    ),
    ImportKind.PAYMENTS: Kind(
        ImportKind.PAYMENTS,
        "ledger.post",
        (
            _customer_code(required=False),
            _customer_name(),
            Field("date", _("Receipt date"), "date", True, ("收款日期", "到账日期", "交易日期", *DATE_ALIASES, "Payment Date"),
                  example="2026-02-01"),
            Field("amount", _("Amount"), "money", True, ("收款金额", "实收金额", "贷方发生额", *AMOUNT_ALIASES), example="5,000.00"),
            Field("number", _("Receipt number"), "text", False, ("收款单号", "收款单编号", "单据编号", "流水号", "Payment Number",
                                                                 "Receipt Number"), max_length=40, example="RCV-0001"),
            Field("method", _("Method"), "choice", False, ("结算方式", "收款方式", "付款方式", "Payment Method", "Method"),
                  METHOD_CHOICES),
            Field("reference", _("Reference"), "text", False, ("参考号", "银行流水号", "凭证号", "Reference"), max_length=100),
            Field("memo", _("Memo"), "text", False, ("摘要", "备注", "用途", "附言", "Memo", "Description"), max_length=300),
            Field("bill_number", _("Bill number"), "text", False, ("票据号", "票据号码", "汇票号码", "Bill Number"), max_length=40),
            Field("bill_maturity_date", _("Bill maturity"), "date", False, ("到期日", "票据到期日", "Maturity Date")),
            _external_key(),
        ),
        notes=_("Each payment needs a receipt number or an external key, so importing it again changes nothing."),
    ),
    ImportKind.OPENING: Kind(
        ImportKind.OPENING,
        "ledger.post",
        (
            _customer_code(required=False),
            _customer_name(),
            Field("amount", _("Opening balance"), "money", True, ("期初余额", "期初金额", "余额", "应收余额", "Opening Balance",
                                                                 "Balance", *AMOUNT_ALIASES), example="20,000.00"),
            Field("date", _("Balance date"), "date", True, ("期初日期", "截止日期", *DATE_ALIASES, "As Of"), example="2025-12-31"),
            Field("due_date", _("Due date"), "date", False, ("到期日", "Due Date")),
            Field("number", _("Document number"), "text", False, ("单据编号", "Number"), max_length=40),
            Field("description", _("Description"), "text", False, ("摘要", "备注", "Description"), max_length=300),
        ),
        notes=_("One opening balance (期初) per customer; importing it again changes nothing."),
    ),
    ImportKind.FAPIAO: Kind(
        ImportKind.FAPIAO,
        "ledger.post",
        (
            _customer_code(required=False),
            _customer_name(),
            Field("number", _("Fapiao number"), "text", True, ("发票号码", "发票号", "数电票号码", "Fapiao Number"), max_length=40,
                  example="24312000000012345678"),
            Field("fapiao_type", _("Fapiao type"), "choice", False, ("发票类型", "发票种类", "票种", "Fapiao Type"), FAPIAO_CHOICES),
            Field("issue_date", _("Issue date"), "date", True, ("开票日期", *DATE_ALIASES, "Issue Date"), example="2026-01-06"),
            Field("amount", _("Amount incl. tax"), "money", True, ("价税合计", "含税金额", *AMOUNT_ALIASES), example="11,300.00"),
            Field("document_number", _("Document number"), "text", False, ("应收单号", "单据编号", "源单编号", "关联单据",
                                                                          "Document Number"), max_length=40),
        ),
        notes=_("Fapiao are recorded, not issued; a number already recorded with the same data is skipped."),
    ),
    ImportKind.HISTORY: Kind(
        ImportKind.HISTORY,
        "ledger.post",
        (
            _customer_code(required=False),
            _customer_name(),
            Field("number", _("Document number"), "text", True,
                  ("单据编号", "单据号", "发票号", "发票号码", "应收单号", "Invoice Number", "Document Number", "Number"),
                  max_length=40, example="INV-2024-0001"),
            Field("document_date", _("Document date"), "date", True, DATE_ALIASES, example="2024-01-05"),
            Field("due_date", _("Due date"), "date", True, ("到期日", "到期日期", "应收日期", "Due Date"), example="2024-02-04"),
            Field("amount", _("Amount"), "money", True, AMOUNT_ALIASES, example="11,300.00"),
            Field("currency", _("Currency"), "text", False, ("币别", "币种", "Currency"), max_length=10),
            Field("settled_date", _("Settled date"), "date", True,
                  ("收款日期", "回款日期", "结清日期", "核销日期", "到账日期", "Settled Date", "Paid Date", "Payment Date"),
                  example="2024-02-20"),
            Field("settled_amount", _("Settled amount"), "money", False,
                  ("收款金额", "回款金额", "核销金额", "实收金额", "Settled Amount", "Paid Amount"), example=""),
            Field("disputed", _("Disputed"), "choice", False, ("争议", "是否争议", "有争议", "Disputed", "Dispute"), YES_NO),
            Field("delivery", _("Delivery channel"), "choice", False,
                  ("发票形式", "开票方式", "交付方式", "送达方式", "Delivery", "Channel", "Delivery Channel"), DELIVERY_CHOICES),
            Field("region", _("Region or country"), "text", False, ("地区", "区域", "国家", "省份", "Region", "Country"),
                  max_length=50),
        ),
        notes=_("Settled invoices of the old system, with their real dates: one row per payment (a row without a "
                "settled amount pays what is left of the invoice). Documents and payments are posted through the "
                "ledger, each payment applied to its own invoice."),
        groups_instalments=True,
        creates_customers=True,
    ),
}


# ---------------------------------------------------------------- presets

PRESETS: dict[str, dict] = {
    "zoho": {
        "label": _("Zoho CRM export"),
        "source": "zoho",
        "columns": {
            ImportKind.CUSTOMERS: {"code": "Account Number", "name": "Account Name", "region": "Billing City",
                                   "address": "Billing Street", "industry": "Industry", "owner": "Account Owner",
                                   "external_key": "Record Id"},
            ImportKind.CONTACTS: {"customer_code": "Account Number", "name": "Full Name", "title": "Title",
                                  "phone": "Mobile", "email": "Email"},
            ImportKind.DOCUMENTS: {"customer_code": "Account Number", "number": "Invoice Number",
                                   "document_date": "Invoice Date", "due_date": "Due Date", "total": "Grand Total",
                                   "reference": "Sales Order", "description": "Subject", "external_key": "Record Id"},
        },
    },
    "fxiaoke": {
        "label": _("纷享销客 (FxiaoKe) export"),
        "source": "fxiaoke",
        "columns": {
            ImportKind.CUSTOMERS: {"code": "客户编号", "name": "客户名称", "region": "地区", "industry": "行业",
                                   "address": "详细地址", "owner": "负责人", "external_key": "唯一标识"},
            ImportKind.CONTACTS: {"customer_code": "客户编号", "name": "姓名", "title": "职务", "phone": "手机",
                                  "email": "邮箱"},
            ImportKind.DOCUMENTS: {"customer_code": "客户编号", "number": "销售订单编号", "document_date": "下单日期",
                                   "total": "订单金额", "external_key": "唯一标识"},
            ImportKind.PAYMENTS: {"customer_code": "客户编号", "number": "回款编号", "date": "回款日期",
                                  "amount": "回款金额", "method": "回款方式"},
        },
    },
    "kingdee": {
        "label": _("金蝶 K/3 Cloud / 云星空 export"),
        "source": "kingdee",
        "columns": {
            ImportKind.CUSTOMERS: {"code": "客户编码", "name": "客户名称", "short_name": "简称",
                                   "credit_code": "统一社会信用代码", "address": "通讯地址", "currency": "结算币别",
                                   "payment_term": "收款条件"},
            ImportKind.DOCUMENTS: {"customer_code": "客户编码", "number": "单据编号", "document_date": "业务日期",
                                   "due_date": "到期日", "total": "价税合计", "currency": "币别",
                                   "payment_term": "收款条件", "description": "备注"},
            ImportKind.PAYMENTS: {"customer_code": "付款单位编码", "number": "单据编号", "date": "业务日期",
                                  "amount": "实收金额", "method": "结算方式", "memo": "备注"},
            ImportKind.OPENING: {"customer_code": "客户编码", "amount": "期初余额", "date": "业务日期"},
            ImportKind.FAPIAO: {"customer_code": "客户编码", "number": "发票号", "issue_date": "开票日期",
                                "amount": "价税合计", "document_number": "源单编号"},
        },
    },
    "yonyou": {
        "label": _("用友 U8 / YonSuite export"),
        "source": "yonyou",
        "columns": {
            ImportKind.CUSTOMERS: {"code": "客户编码", "name": "客户名称", "short_name": "客户简称", "region": "地区名称",
                                   "industry": "所属行业", "credit_code": "税号", "address": "地址",
                                   "owner": "专营业务员"},
            ImportKind.DOCUMENTS: {"customer_code": "客户编码", "number": "单据号", "document_date": "单据日期",
                                   "due_date": "到期日", "total": "本币金额", "description": "摘要",
                                   "currency": "币种"},
            ImportKind.PAYMENTS: {"customer_code": "客户编码", "number": "单据号", "date": "单据日期",
                                  "amount": "本币金额", "method": "结算方式", "memo": "摘要"},
            ImportKind.OPENING: {"customer_code": "客户编码", "amount": "期初余额", "date": "单据日期"},
            ImportKind.FAPIAO: {"customer_code": "客户编码", "number": "发票号", "issue_date": "开票日期",
                                "amount": "价税合计"},
        },
    },
}


def field_labels(f: Field) -> list[str]:
    """The field's label in every UI language (templates are downloaded in either)."""
    from django.utils import translation

    labels = []
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            labels.append(str(f.label))
    return labels


def known_headers(kind: Kind) -> frozenset[str]:
    """The ``header_key`` of every column name a file of this kind may use (aliases, labels in every
    language, field names, the presets' columns): what ``find_header`` looks for below title rows."""
    cached = _KNOWN.get(kind.code)
    if cached is None:
        names = [col for p in PRESETS.values() for col in p["columns"].get(kind.code, {}).values()]
        for f in kind.fields:
            names += [f.name, *field_labels(f), *f.aliases]
        cached = _KNOWN[kind.code] = frozenset(k for k in map(header_key, names) if k)
    return cached


_KNOWN: dict[str, frozenset[str]] = {}


def auto_mapping(kind: Kind, headers: list[str], preset: str = "") -> dict[str, str]:
    """{field: header} guessed from the preset's column names first, then each field's aliases.

    A header is given to at most one field; aliases earlier in a field's list win.
    """
    by_key: dict[str, str] = {}
    for h in headers:
        by_key.setdefault(header_key(h), h)
    taken: set[str] = set()
    out: dict[str, str] = {}
    preset_cols = PRESETS.get(preset, {}).get("columns", {}).get(kind.code, {})
    for name, col in preset_cols.items():
        h = by_key.get(header_key(col))
        if h is not None and h not in taken:
            out[name] = h
            taken.add(h)
    for f in kind.fields:
        if f.name in out:
            continue
        for alias in (f.name, *field_labels(f), *f.aliases):
            h = by_key.get(header_key(alias))
            if h is not None and h not in taken:
                out[f.name] = h
                taken.add(h)
                break
    return out
