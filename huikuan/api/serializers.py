"""Explicit input and output serializers, one pair per operation."""

from decimal import Decimal
from functools import partial

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field
from rest_framework import ISO_8601, serializers
from rest_framework.settings import api_settings

from huikuan.common.compiled import ValuesIn
from huikuan.common.money import to_decimal
from huikuan.customers.models import Channel, Contact, Customer, CustomerBankAccount, CustomerStatus
from huikuan.ledger.models import Credit, DocumentKind, Instalment, Method, ReceivableDocument

ID_MAX = 2**63 - 1
MAX_AMOUNT = Decimal("999999999999.99")
_MONEY_SCHEMA = {"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d{1,2})?$", "example": "1234.50"}


@extend_schema_field(_MONEY_SCHEMA)
class MoneyInput(serializers.Field):
    """Money as a JSON string ("1234.50") or integer; floats are refused to keep amounts exact."""

    default_error_messages = {"invalid": _("Enter an amount as a string such as \"1234.50\"."),
                              "float": _("Send amounts as strings, not floating-point numbers."),
                              "too_large": _("The amount is too large: at most 999,999,999,999.99.")}

    def to_internal_value(self, data):
        if isinstance(data, float):
            self.fail("float")
        try:
            value = to_decimal(data)
        except (ValueError, TypeError):
            self.fail("invalid")
        if not value.is_finite():
            self.fail("invalid")
        if abs(value) > MAX_AMOUNT:  # before any service quantizes it (1e30 would overflow the context)
            self.fail("too_large")
        return value

    def to_representation(self, value):
        return None if value is None else format(Decimal(value), "f")


@extend_schema_field(_MONEY_SCHEMA)
class MoneyOutput(serializers.Field):
    def __init__(self, **kw):
        kw.setdefault("read_only", True)
        super().__init__(**kw)

    def to_representation(self, value):
        return None if value is None else format(Decimal(value), "f")


# ------------------------------------------------------------------ customers


class CustomerOut(serializers.ModelSerializer):
    open_amount = MoneyOutput()
    unapplied_amount = MoneyOutput()
    owner = serializers.CharField(source="owner.username", default=None, read_only=True)
    collector = serializers.CharField(source="collector.username", default=None, read_only=True,
                                      help_text="username of the collector who chases this customer's money, or null")
    payment_terms = serializers.CharField(source="payment_term.code", default=None, read_only=True)
    group = serializers.CharField(source="group.name", default=None, read_only=True)

    class Meta:
        model = Customer
        fields = ["id", "code", "name", "short_name", "credit_code", "group", "region", "industry", "address", "owner",
                  "collector", "payment_terms", "currency", "status", "open_amount", "unapplied_amount", "external_source",
                  "external_key", "version", "created_at", "updated_at"]


class TermsRequestOut(serializers.Serializer):
    id = serializers.IntegerField()
    payment_terms = serializers.CharField(source="payment_term.code", default=None)
    terms_days = serializers.IntegerField()
    status = serializers.CharField()


class CustomerWritten(CustomerOut):
    """A created or changed customer; ``terms_request`` is the approval request recorded instead of
    payment terms beyond the credit grade's maximum (the terms were not set), else null."""

    terms_request = TermsRequestOut(allow_null=True, read_only=True, default=None)

    class Meta(CustomerOut.Meta):
        fields = [*CustomerOut.Meta.fields, "terms_request"]


class CustomerIn(serializers.Serializer):
    code = serializers.CharField(max_length=30)
    name = serializers.CharField(max_length=200)
    short_name = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    credit_code = serializers.CharField(max_length=18, required=False, allow_blank=True, default="")
    region = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
    industry = serializers.CharField(max_length=50, required=False, allow_blank=True, default="")
    address = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    owner = serializers.CharField(required=False, allow_null=True, default=None, help_text="username of the owner salesperson")
    payment_terms = serializers.CharField(required=False, allow_null=True, default=None, help_text="payment terms code")
    currency = serializers.CharField(max_length=3, required=False, default="CNY")
    status = serializers.ChoiceField(choices=CustomerStatus.choices, required=False, default=CustomerStatus.ACTIVE)
    external_key = serializers.CharField(max_length=100, required=False, allow_blank=True, default="",
                                         help_text="your system's id for the customer; posting it again answers 409 "
                                                   "`duplicate_external_key` with the existing id")


class CustomerPatch(CustomerIn):
    code = serializers.CharField(max_length=30, required=False)
    name = serializers.CharField(max_length=200, required=False)
    version = serializers.IntegerField(help_text="the version you read; a stale version is refused with 409")
    external_key = None  # set once, when the customer is created
    collector = serializers.CharField(required=False, allow_null=True, allow_blank=True,
                                      help_text="username of the collector (null or empty: none); needs the "
                                                "collections.assign right (administrator, credit manager)")

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        for f in self.fields.values():
            if f.field_name != "version":
                f.required = False
                f.default = serializers.empty


class ContactOut(serializers.ModelSerializer):
    customer = serializers.IntegerField(source="customer_id", read_only=True)

    class Meta:
        model = Contact
        fields = ["id", "customer", "name", "title", "phone", "email", "wechat_id", "preferred_channel", "language",
                  "is_primary", "is_active", "updated_at"]


class ContactIn(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    title = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    phone = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    email = serializers.EmailField(required=False, allow_blank=True, default="")
    wechat_id = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")
    preferred_channel = serializers.ChoiceField(choices=Channel.choices, required=False, default=Channel.PHONE)
    language = serializers.ChoiceField(choices=settings.LANGUAGES, required=False, default="zh-hans")
    is_primary = serializers.BooleanField(required=False, default=False)


class BankAccountOut(serializers.ModelSerializer):
    class Meta:
        model = CustomerBankAccount
        fields = ["id", "bank_name", "account_number", "account_name", "note", "created_at", "updated_at"]


class BankAccountIn(serializers.Serializer):
    bank_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="",
                                      help_text="开户行, e.g. 中国工商银行上海分行营业部")
    account_number = serializers.CharField(max_length=80, help_text="账号; spaces and hyphens are removed")
    account_name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="",
                                         help_text="户名 as printed by the bank")
    note = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class BankAccountPatch(serializers.Serializer):
    bank_name = serializers.CharField(max_length=100, required=False, allow_blank=True)
    account_number = serializers.CharField(max_length=80, required=False)
    account_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    note = serializers.CharField(max_length=200, required=False, allow_blank=True)


# ------------------------------------------------------------------ ledger


class InstalmentOut(serializers.ModelSerializer):
    amount = MoneyOutput()
    open_amount = MoneyOutput()
    discount_amount = MoneyOutput()

    class Meta:
        model = Instalment
        fields = ["id", "seq", "due_date", "amount", "open_amount", "discount_amount", "discount_date", "currency"]


class DocumentOut(serializers.ModelSerializer):
    total_amount = MoneyOutput()
    customer_code = serializers.CharField(source="customer.code", read_only=True)
    salesperson = serializers.CharField(source="salesperson.username", default=None, read_only=True)
    instalments = InstalmentOut(many=True, read_only=True)

    class Meta:
        model = ReceivableDocument
        fields = ["id", "number", "kind", "customer", "customer_code", "document_date", "currency", "total_amount",
                  "salesperson", "reference", "description", "status", "external_source", "external_key", "instalments",
                  "created_at", "updated_at"]


class LineIn(serializers.Serializer):
    description = serializers.CharField(max_length=200)
    quantity = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")
    unit_price = serializers.CharField(max_length=30, required=False, allow_blank=True, default="")
    amount = MoneyInput()


class ScheduleIn(serializers.Serializer):
    due_date = serializers.DateField()
    amount = MoneyInput()
    discount_amount = MoneyInput(required=False, default=Decimal("0"))
    discount_date = serializers.DateField(required=False, allow_null=True, default=None)


class DocumentIn(serializers.Serializer):
    customer = serializers.IntegerField(min_value=1, max_value=ID_MAX)
    kind = serializers.ChoiceField(choices=DocumentKind.choices, default=DocumentKind.INVOICE)
    number = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    document_date = serializers.DateField()
    currency = serializers.CharField(max_length=3, required=False, allow_null=True, default=None)
    total = MoneyInput(required=False, allow_null=True, default=None)
    lines = LineIn(many=True, required=False, default=list)
    payment_terms = serializers.CharField(required=False, allow_null=True, default=None, help_text="payment terms code")
    instalments = ScheduleIn(many=True, required=False, default=None, allow_null=True)
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    description = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    external_key = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class AllocationOut(serializers.Serializer):
    id = serializers.IntegerField()
    instalment = serializers.IntegerField(source="instalment_id")
    amount = MoneyOutput()
    date = serializers.DateField()
    reverses = serializers.IntegerField(source="reverses_id", allow_null=True)


class CreditOut(serializers.ModelSerializer):
    amount = MoneyOutput()
    unapplied_amount = MoneyOutput()
    customer_code = serializers.CharField(source="customer.code", read_only=True)

    class Meta:
        model = Credit
        fields = ["id", "number", "kind", "customer", "customer_code", "date", "currency", "amount", "unapplied_amount",
                  "method", "reference", "memo", "bill_number", "bill_acceptor", "bill_maturity_date", "bill_status",
                  "cheque_status", "document", "status", "external_source", "external_key", "created_at", "updated_at"]


class PaymentIn(serializers.Serializer):
    customer = serializers.IntegerField(min_value=1, max_value=ID_MAX)
    amount = MoneyInput()
    date = serializers.DateField()
    method = serializers.ChoiceField(choices=[c for c in Method.choices if c[0]], default=Method.TRANSFER)
    currency = serializers.CharField(max_length=3, required=False, allow_null=True, default=None)
    number = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    reference = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    memo = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")
    bill_number = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    bill_acceptor = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    bill_maturity_date = serializers.DateField(required=False, allow_null=True, default=None)
    auto_allocate = serializers.BooleanField(required=False, default=True)
    post_dated = serializers.BooleanField(required=False, default=False,
                                          help_text="confirm a payment dated after today (at most a year ahead)")
    external_key = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class AllocationLineIn(serializers.Serializer):
    instalment = serializers.IntegerField(min_value=1, max_value=ID_MAX)
    amount = MoneyInput()


class AllocateIn(serializers.Serializer):
    date = serializers.DateField(required=False, allow_null=True, default=None)
    allocations = AllocationLineIn(many=True, required=False, allow_null=True, default=None,
                                   help_text="omit to apply oldest-due-first")


class CreditNoteIn(serializers.Serializer):
    customer = serializers.IntegerField(min_value=1, max_value=ID_MAX)
    amount = MoneyInput()
    date = serializers.DateField()
    reason = serializers.CharField(max_length=300)
    number = serializers.CharField(max_length=40, required=False, allow_blank=True, default="")
    document = serializers.IntegerField(required=False, allow_null=True, default=None, min_value=1, max_value=ID_MAX)
    apply = serializers.BooleanField(required=False, default=True)
    keep_rest_as_credit = serializers.BooleanField(
        required=False, default=False,
        help_text="against a document: allow an amount above its open amount and keep the rest as credit")
    external_key = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")


class ErrorOut(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))
    existing_id = serializers.IntegerField(
        required=False, allow_null=True,
        help_text="only with `duplicate_external_key`: the id of the object already recorded with that external key "
                  "(null when it is outside what the key may see)")


class ErrorEnvelope(serializers.Serializer):
    error = ErrorOut()


class AgingRowOut(serializers.Serializer):
    key = serializers.CharField(allow_null=True)
    label = serializers.CharField()
    buckets = serializers.ListField(child=MoneyOutput())
    total = MoneyOutput()
    disputed = MoneyOutput(help_text="part of total under dispute: Σ min(disputed amount, open)")


class AgingOut(serializers.Serializer):
    as_of = serializers.DateField()
    scheme = serializers.CharField()
    basis = serializers.CharField()
    group_by = serializers.CharField()
    buckets = serializers.ListField(child=serializers.CharField())
    rows = AgingRowOut(many=True)
    totals = serializers.ListField(child=MoneyOutput())
    total = MoneyOutput()
    disputed = MoneyOutput()
    row_count = serializers.IntegerField(help_text="number of groups (rows holds one page of them with page_size)")


class MovementOut(serializers.Serializer):
    date = serializers.DateField()
    reference = serializers.CharField()
    summary = serializers.CharField()
    debit = MoneyOutput()
    credit = MoneyOutput()
    balance = MoneyOutput()


class StatementOut(serializers.Serializer):
    customer = serializers.IntegerField(source="customer.pk")
    period_from = serializers.DateField()
    period_to = serializers.DateField()
    currency = serializers.CharField()
    opening = MoneyOutput()
    movements = MovementOut(many=True)
    total_debit = MoneyOutput()
    total_credit = MoneyOutput()
    closing = MoneyOutput()
    closing_words = serializers.CharField()
    aging_labels = serializers.ListField(child=serializers.CharField())
    aging_values = serializers.ListField(child=MoneyOutput())


# ------------------------------------------------------------------ fast list output


def _formatter(field):
    """The function a value row's field goes through: the field's ``to_representation``, or what it amounts to
    for the plainest fields (a call per value is most of a page's rendering)."""
    if isinstance(field, serializers.RelatedField):
        return lambda v: v
    kind = type(field)
    if kind is serializers.CharField:
        return str  # CharField.to_representation is str(value)
    if kind is serializers.IntegerField:
        return int
    output = getattr(field, "format", api_settings.DATETIME_FORMAT)
    if kind is serializers.DateTimeField and isinstance(output, str) and output.lower() == ISO_8601 \
            and not hasattr(field, "timezone"):
        return field  # rendered by _iso_datetime with the page's timezone
    return field.to_representation


def _iso_datetime(field, tz, value):
    """DateTimeField.to_representation in ISO 8601 for an aware value, the current timezone looked up once."""
    if isinstance(value, str) or value.tzinfo is None:
        return field.to_representation(value)
    try:
        text = value.astimezone(tz).isoformat()
    except OverflowError:
        return field.to_representation(value)  # the field's own error
    return text[:-6] + "Z" if text.endswith("+00:00") else text


class Rows:
    """The JSON of ``serializer_class(objects, many=True).data`` for a page of a list endpoint, built
    from ``QuerySet.values()`` rows: no model instance and no DRF field walk per row (the API load
    bench spent most of a list request there — docs/PERFORMANCE.md, "API under load"). Each field is
    still formatted by the serializer's own field (``to_representation``), and a test compares the
    two outputs field by field, so the schema stays the serializer's.

    ``nested`` names a many-serializer field and the foreign key of its rows to the parent
    (``{"instalments": "document_id"}``); those rows come in one more query, ordered as the related
    model orders them.
    """

    def __init__(self, serializer_class, nested: dict[str, str] | None = None):
        self.fields: list[tuple[str, str, object]] = []
        self.nested: list[tuple[str, str, ValuesIn, Rows]] = []
        nested = nested or {}
        for name, field in serializer_class().fields.items():
            if name in nested:
                child = field.child
                related = serializer_class.Meta.model._meta.get_field(field.source).related_model
                rows_of = Rows(type(child))
                statement = ValuesIn(related.objects.values(nested[name], "pk", *rows_of.lookups), nested[name])
                self.nested.append((name, nested[name], statement, rows_of))
                continue
            if isinstance(field, serializers.SerializerMethodField | serializers.BaseSerializer):
                raise TypeError(f"{serializer_class.__name__}.{name}: not supported by Rows")
            lookup = field.source.replace(".", "__")
            self.fields.append((name, lookup, _formatter(field)))
        self.lookups = [lookup for _n, lookup, _f in self.fields]
        self._by_pk: dict = {}  # model → its rows' statement by ids (by_pk)

    def values(self, qs):
        """The page's queryset as value rows (joins come from the lookups; no select_related needed)."""
        return qs.select_related(None).prefetch_related(None).values("pk", *self.lookups)

    def by_pk(self, model, ids) -> dict:
        """The value rows of ``model``'s rows ``ids``, by pk, unsorted. The statement is compiled once per model
        and number of ids (``common.compiled.ValuesIn``): building and compiling the lookups' joins was about
        a third of reading a page's rows."""
        statement = self._by_pk.get(model)
        if statement is None:
            statement = self._by_pk[model] = ValuesIn(self.values(model._default_manager.order_by()))
        return {row["pk"]: row for row in statement(ids)}

    def render(self, rows) -> list[dict]:
        tz = timezone.get_current_timezone()  # once per page, not per value as DateTimeField asks for it
        fields = [(name, lookup, partial(_iso_datetime, fmt, tz) if isinstance(fmt, serializers.DateTimeField) else fmt)
                  for name, lookup, fmt in self.fields]
        out = [{name: (None if (v := row[lookup]) is None else fmt(v)) for name, lookup, fmt in fields} for row in rows]
        for name, fk, statement, rows_of in self.nested:
            ids = [row["pk"] for row in rows]
            children: dict[int, list] = {i: [] for i in ids}
            for child in statement(ids):  # in the related model's order
                children[child[fk]].append(child)
            for parent, row in zip(out, rows, strict=True):
                parent[name] = rows_of.render(children[row["pk"]])
        return out
