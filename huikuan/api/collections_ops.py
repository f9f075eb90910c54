"""Collections operations for integrators (issue 18): promises to pay and disputes — list, record, read.
The same services, permissions and scoping as the collections screens (``huikuan.collections``)."""

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from huikuan.accounts.models import User
from huikuan.accounts.scoping import owner_q
from huikuan.collections import selectors as coll_selectors
from huikuan.collections import services as coll
from huikuan.collections import worklist
from huikuan.collections.models import (
    Activity,
    ActivityKind,
    Case,
    CaseStatus,
    DisputeReason,
    DisputeStatus,
    Outcome,
    PaymentPlan,
    PlanStatus,
    PromiseStatus,
    Task,
    TaskKind,
    TaskStatus,
)
from huikuan.common import clock
from huikuan.common.texts import render as render_text

from . import serializers as s
from . import sync
from .errors import ApiError
from .idempotency import idempotent
from .views import (
    Pagination,
    RowsList,
    _get,
    _limited,
    _query_date,
    _valid,
    _valid_id,
    company_of,
    customer_in_scope,
    customers_in_scope,
    documents,
    require,
)

ID = {"min_value": 1, "max_value": s.ID_MAX}


class PromiseIn(serializers.Serializer):
    customer = serializers.IntegerField(**ID)
    amount = s.MoneyInput()
    promised_date = serializers.DateField(help_text="today or later")
    instalments = serializers.ListField(child=serializers.IntegerField(**ID), required=False, default=list,
                                        help_text="the instalments promised for; none: the account")
    pause_dunning = serializers.BooleanField(required=False, default=False,
                                             help_text="no reminders for those instalments until the promised date")
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


class PromiseOut(serializers.Serializer):
    id = serializers.IntegerField()
    customer = serializers.IntegerField(source="customer_id")
    amount = s.MoneyOutput()
    promised_date = serializers.DateField()
    made_on = serializers.DateField()
    status = serializers.ChoiceField(choices=PromiseStatus.choices)
    pause_dunning = serializers.BooleanField()
    note = serializers.CharField()
    settled_on = serializers.DateField(allow_null=True)
    created_at = serializers.DateTimeField()


class DisputeIn(serializers.Serializer):
    customer = serializers.IntegerField(**ID)
    reason = serializers.ChoiceField(choices=DisputeReason.choices)
    amount = s.MoneyInput(help_text="the part disputed; excluded from dunning, shown apart in aging")
    document = serializers.IntegerField(required=False, allow_null=True, default=None, **ID,
                                        help_text="a document (spread over its open instalments, earliest first)")
    instalment = serializers.IntegerField(required=False, allow_null=True, default=None, **ID,
                                          help_text="or one instalment")
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class DisputeOut(serializers.Serializer):
    id = serializers.IntegerField()
    customer = serializers.IntegerField(source="customer_id")
    document = serializers.IntegerField(source="document_id", allow_null=True)
    instalment = serializers.IntegerField(source="instalment_id", allow_null=True)
    reason = serializers.ChoiceField(choices=DisputeReason.choices)
    amount = s.MoneyOutput()
    status = serializers.ChoiceField(choices=DisputeStatus.choices)
    resolution = serializers.CharField()
    resolution_note = serializers.CharField()
    credit = serializers.IntegerField(source="credit_id", allow_null=True)
    note = serializers.CharField()
    opened_on = serializers.DateField()
    resolved_on = serializers.DateField(allow_null=True)
    updated_at = serializers.DateTimeField()


def _promises(request):
    return _limited(request, coll_selectors.promises(user=request.user, company=company_of(request)))


def _disputes(request):
    return _limited(request, coll_selectors.disputes(user=request.user, company=company_of(request)))


def _filters(qs, request):
    p = request.query_params
    if p.get("status"):
        qs = qs.filter(status=p["status"])
    if p.get("customer"):
        qs = qs.filter(customer_id=int(p["customer"])) if _valid_id(p["customer"]) else qs.none()
    return qs


class PromiseList(RowsList):
    serializer_class = PromiseOut
    rows = s.Rows(PromiseOut)
    sync_field = "created_at"

    @extend_schema(parameters=[OpenApiParameter("status", str, enum=list(PromiseStatus.values)),
                               OpenApiParameter("customer", int), *sync.SYNC_PARAMETERS])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return _filters(_promises(self.request), self.request)

    @extend_schema(request=PromiseIn, responses={201: PromiseOut})
    @idempotent
    def post(self, request):
        data = _valid(PromiseIn, request)
        company = company_of(request)
        customer = customer_in_scope(request, data["customer"])
        promise = coll.record_promise(company=company, customer_id=customer.pk, amount=data["amount"],
                                      promised_date=data["promised_date"], today=clock.today(company),
                                      actor=request.user, instalment_ids=data["instalments"],
                                      pause_dunning=data["pause_dunning"], note=data["note"])
        return Response(PromiseOut(promise).data, status=status.HTTP_201_CREATED)


class PromiseDetail(APIView):
    @extend_schema(responses={200: PromiseOut})
    def get(self, request, pk):
        return Response(PromiseOut(_get(_promises(request), pk)).data)


class DisputeList(RowsList):
    serializer_class = DisputeOut
    rows = s.Rows(DisputeOut)
    @extend_schema(parameters=[OpenApiParameter("status", str, enum=list(DisputeStatus.values)),
                               OpenApiParameter("customer", int), *sync.SYNC_PARAMETERS])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return _filters(_disputes(self.request), self.request)

    @extend_schema(request=DisputeIn, responses={201: DisputeOut})
    @idempotent
    def post(self, request):
        data = _valid(DisputeIn, request)
        company = company_of(request)
        customer = customer_in_scope(request, data["customer"])
        if data["document"]:
            _get(documents(request).filter(customer=customer), data["document"])
        dispute = coll.open_dispute(company=company, customer_id=customer.pk, reason=data["reason"],
                                    amount=data["amount"], actor=request.user, today=clock.today(company),
                                    document_id=data["document"], instalment_id=data["instalment"], note=data["note"])
        return Response(DisputeOut(_disputes(request).get(pk=dispute.pk)).data, status=status.HTTP_201_CREATED)


class DisputeDetail(APIView):
    @extend_schema(responses={200: DisputeOut})
    def get(self, request, pk):
        return Response(DisputeOut(_get(_disputes(request), pk)).data)


# ------------------------------------------------------------------ payment plans (分期/展期)


class PlanLine(serializers.Serializer):
    due_date = serializers.DateField()
    amount = s.MoneyInput()


class PlanLineOut(serializers.Serializer):
    due_date = serializers.DateField()
    amount = s.MoneyOutput()


class PlanIn(serializers.Serializer):
    customer = serializers.IntegerField(**ID)
    instalments = serializers.ListField(child=serializers.IntegerField(**ID), min_length=1,
                                        help_text="the open instalments the plan replaces")
    lines = PlanLine(many=True, help_text="the new schedule: dates from today on, adding up to the open amount")
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class PlanOut(serializers.ModelSerializer):
    customer = serializers.IntegerField(source="customer_id")
    total_amount = s.MoneyOutput(help_text="the open amount replaced")
    instalments = serializers.PrimaryKeyRelatedField(many=True, read_only=True,
                                                     help_text="the instalments replaced")
    lines = serializers.SerializerMethodField(help_text="the new schedule")
    requested_by = serializers.CharField(source="requested_by.username", read_only=True)
    decided_by = serializers.CharField(source="decided_by.username", default=None, read_only=True)

    @extend_schema_field(PlanLineOut(many=True))
    def get_lines(self, plan) -> list:
        return [{"due_date": d, "amount": a} for d, a in plan.lines]

    class Meta:
        model = PaymentPlan
        fields = ["id", "customer", "status", "instalments", "lines", "total_amount", "note", "requested_by",
                  "requested_at", "decided_by", "decided_at", "decision_note", "effective_on", "broken_on",
                  "updated_at"]


class PlanDecisionIn(serializers.Serializer):
    approve = serializers.BooleanField(help_text="true: the schedule is replaced now; false: rejected")
    note = serializers.CharField(max_length=300, required=False, allow_blank=True, default="")


def _plans(request):
    return _limited(request, coll_selectors.plans(user=request.user, company=company_of(request))) \
        .prefetch_related("instalments")


def _refresh(company, customer_id):
    worklist.refresh_queue(company=company, as_of=clock.today(company), customer_ids=[customer_id])


class PlanList(generics.ListAPIView):
    serializer_class = PlanOut
    pagination_class = Pagination

    @extend_schema(parameters=[OpenApiParameter("status", str, enum=list(PlanStatus.values)),
                               OpenApiParameter("customer", int), *sync.SYNC_PARAMETERS])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return _filters(_plans(self.request), self.request)

    @extend_schema(request=PlanIn, responses={201: PlanOut})
    @idempotent
    def post(self, request):
        require(request, "collections.plan.request")
        data = _valid(PlanIn, request)
        company = company_of(request)
        customer = customer_in_scope(request, data["customer"])
        plan = coll.request_plan(company=company, customer_id=customer.pk, instalment_ids=data["instalments"],
                                 lines=[(x["due_date"], x["amount"]) for x in data["lines"]], actor=request.user,
                                 today=clock.today(company), note=data["note"])
        return Response(PlanOut(_plans(request).get(pk=plan.pk)).data, status=status.HTTP_201_CREATED)


class PlanDetail(APIView):
    @extend_schema(responses={200: PlanOut})
    def get(self, request, pk):
        return Response(PlanOut(_get(_plans(request), pk)).data)


class PlanDecide(APIView):
    @extend_schema(request=PlanDecisionIn, responses={200: PlanOut})
    def post(self, request, pk):
        plan = _get(_plans(request), pk)
        require(request, "collections.plan.approve")
        data = _valid(PlanDecisionIn, request)
        company = company_of(request)
        coll.decide_plan(company=company, plan_id=plan.pk, approve=data["approve"], actor=request.user,
                         today=clock.today(company), note=data["note"])
        _refresh(company, plan.customer_id)
        return Response(PlanOut(_plans(request).get(pk=plan.pk)).data)


# ------------------------------------------------------------------ activities (the contact log) and tasks


class ActivityIn(serializers.Serializer):
    customer = serializers.IntegerField(**ID)
    kind = serializers.ChoiceField(choices=ActivityKind.choices, required=False, default=ActivityKind.CALL)
    outcome = serializers.ChoiceField(choices=[c for c in Outcome.choices if c[0]], required=False, allow_null=True,
                                      default=None, help_text="none: no outcome to record (a note, an e-mail)")
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")
    contact_name = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    occurred_at = serializers.DateTimeField(required=False, allow_null=True, default=None,
                                            help_text="when it happened (default: now)")
    next_action_date = serializers.DateField(required=False, allow_null=True, default=None,
                                             help_text="today or later: the customer comes back to the worklist then")
    promise_amount = s.MoneyInput(required=False, allow_null=True, default=None,
                                  help_text="a promise to pay made in this contact (with promise_date)")
    promise_date = serializers.DateField(required=False, allow_null=True, default=None)
    instalments = serializers.ListField(child=serializers.IntegerField(**ID), required=False, default=list,
                                        help_text="the instalments promised for; none: the account")
    pause_dunning = serializers.BooleanField(required=False, default=False)


class ActivityOut(serializers.ModelSerializer):
    customer = serializers.IntegerField(source="customer_id")
    outcome = serializers.CharField(help_text="reached, no_answer, promised, disputed, wrong_contact, refuses; "
                                              "blank when none was recorded")
    actor = serializers.CharField(source="actor.username", default=None, read_only=True)

    class Meta:
        model = Activity
        fields = ["id", "customer", "kind", "outcome", "note", "contact_name", "next_action_date", "occurred_at",
                  "actor", "updated_at"]


class ActivityWritten(ActivityOut):
    promise = PromiseOut(allow_null=True, read_only=True, default=None,
                         help_text="the promise to pay recorded with it, if any")

    class Meta(ActivityOut.Meta):
        fields = [*ActivityOut.Meta.fields, "promise"]


def _activities(request):
    qs = Activity.objects.filter(company=company_of(request), customer__in=customers_in_scope(request).values("pk"))
    return qs.select_related("actor")


class ActivityList(generics.ListAPIView):
    serializer_class = ActivityOut
    pagination_class = Pagination

    @extend_schema(parameters=[OpenApiParameter("customer", int),
                               OpenApiParameter("kind", str, enum=list(ActivityKind.values)),
                               OpenApiParameter("outcome", str, enum=[v for v in Outcome.values if v]),
                               *sync.SYNC_PARAMETERS])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        p = self.request.query_params
        qs = _filters(_activities(self.request), self.request)
        for name, values in (("kind", ActivityKind.values), ("outcome", Outcome.values)):
            if p.get(name):
                if p[name] not in values:
                    raise ApiError(422, "invalid", _("Unknown option."), {name: [_("Unknown option.")]})
                qs = qs.filter(**{name: p[name]})
        return qs.order_by("-occurred_at", "-id")

    @extend_schema(request=ActivityIn, responses={201: ActivityWritten})
    @idempotent
    def post(self, request):
        require(request, "collections.work")
        data = _valid(ActivityIn, request)
        company = company_of(request)
        customer = customer_in_scope(request, data["customer"])
        act = coll.log_activity(company=company, customer_id=customer.pk, kind=data["kind"],
                                outcome=data["outcome"] or "",
                                note=data["note"].strip(), contact_name=data["contact_name"].strip(),
                                actor=request.user, at=data["occurred_at"], next_action_date=data["next_action_date"],
                                today=clock.today(company), promise_amount=data["promise_amount"],
                                promise_date=data["promise_date"], promise_instalment_ids=data["instalments"],
                                pause_dunning=data["pause_dunning"])
        _refresh(company, customer.pk)
        return Response(ActivityWritten(act).data, status=status.HTTP_201_CREATED)


class TaskIn(serializers.Serializer):
    customer = serializers.IntegerField(**ID)
    kind = serializers.ChoiceField(choices=TaskKind.choices, required=False, default=TaskKind.CALL)
    due = serializers.DateField()
    owner = serializers.CharField(required=False, allow_null=True, default=None,
                                  help_text="username of the person to do it (default: the customer's owner)")
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    instalments = serializers.ListField(child=serializers.IntegerField(**ID), required=False, default=list)


class TaskOut(serializers.ModelSerializer):
    customer = serializers.IntegerField(source="customer_id")
    owner = serializers.CharField(source="owner.username", default=None, read_only=True)
    note = serializers.SerializerMethodField(help_text="in the request's language when the system wrote it")
    instalments = serializers.ListField(source="instalment_ids", child=serializers.IntegerField(), read_only=True)

    def get_note(self, task) -> str:
        return render_text(task.note)

    class Meta:
        model = Task
        fields = ["id", "customer", "kind", "due", "owner", "note", "source", "status", "instalments", "created_at",
                  "done_at", "updated_at"]


class TaskCloseIn(serializers.Serializer):
    cancel = serializers.BooleanField(required=False, default=False, help_text="true: cancelled instead of done")


def _tasks(request):
    return _limited(request, Task.objects.filter(company=company_of(request)).filter(
        owner_q(request.user, "customer__owner"))).select_related("owner")


class TaskList(generics.ListAPIView):
    serializer_class = TaskOut
    pagination_class = Pagination

    @extend_schema(parameters=[OpenApiParameter("status", str, enum=list(TaskStatus.values)),
                               OpenApiParameter("customer", int),
                               OpenApiParameter("owner", str, description="username; `me` for the key's user"),
                               OpenApiParameter("due_to", OpenApiTypes.DATE, description="due on or before"),
                               *sync.SYNC_PARAMETERS])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        p = self.request.query_params
        qs = _filters(_tasks(self.request), self.request)
        if p.get("owner"):
            qs = qs.filter(owner=self.request.user) if p["owner"] == "me" else qs.filter(owner__username=p["owner"])
        due_to = _query_date(self.request, "due_to")
        if due_to:
            qs = qs.filter(due__lte=due_to)
        return qs.order_by("due", "id")

    @extend_schema(request=TaskIn, responses={201: TaskOut})
    @idempotent
    def post(self, request):
        require(request, "collections.work")
        data = _valid(TaskIn, request)
        company = company_of(request)
        customer = customer_in_scope(request, data["customer"])
        owner = None
        if data["owner"]:
            owner = User.objects.filter(username=data["owner"], companies=company, is_active=True).first()
            if owner is None:
                raise ApiError(422, "invalid", _("Unknown user."), {"owner": [_("Unknown user.")]})
        task = coll.create_task(company=company, customer_id=customer.pk, kind=data["kind"], due=data["due"],
                                owner=owner, note=data["note"], actor=request.user, instalment_ids=data["instalments"])
        return Response(TaskOut(_tasks(request).get(pk=task.pk)).data, status=status.HTTP_201_CREATED)


class TaskClose(APIView):
    @extend_schema(request=TaskCloseIn, responses={200: TaskOut})
    def post(self, request, pk):
        task = _get(_tasks(request), pk)
        require(request, "collections.work")
        data = _valid(TaskCloseIn, request)
        coll.complete_task(company=company_of(request), task_id=task.pk, actor=request.user, cancel=data["cancel"])
        return Response(TaskOut(_tasks(request).get(pk=task.pk)).data)


# ------------------------------------------------------------------ escalation cases (read)


class CaseOut(serializers.ModelSerializer):
    customer = serializers.IntegerField(source="customer_id")
    claim_status = serializers.CharField(help_text="bankruptcy claim: to_file, filed, … ; blank when there is none")
    owner = serializers.CharField(source="owner.username", default=None, read_only=True)
    note = serializers.SerializerMethodField()
    instalments = serializers.PrimaryKeyRelatedField(many=True, read_only=True)
    claim_amount = s.MoneyOutput()
    fee_amount = s.MoneyOutput()
    recovered_amount = s.MoneyOutput()
    claim_principal_amount = s.MoneyOutput()
    claim_interest_amount = s.MoneyOutput()
    commission_percent = serializers.DecimalField(max_digits=5, decimal_places=2, coerce_to_string=True)

    def get_note(self, case) -> str:
        return render_text(case.note)

    class Meta:
        model = Case
        fields = ["id", "number", "customer", "kind", "status", "instalments", "claim_amount", "firm", "fee_amount",
                  "commission_percent", "recovered_amount", "owner", "note", "opened_on", "closed_on",
                  "stops_dunning", "court_accepted_on", "claim_deadline", "administrator", "claim_status",
                  "claim_principal_amount", "claim_interest_amount", "claim_filed_on", "updated_at"]


def _cases(request):
    return _limited(request, coll_selectors.cases(user=request.user, company=company_of(request))) \
        .prefetch_related("instalments")


class CaseList(generics.ListAPIView):
    serializer_class = CaseOut
    pagination_class = Pagination

    @extend_schema(parameters=[OpenApiParameter("status", str, enum=list(dict.fromkeys(["open", *CaseStatus.values])),
                                                description="`open`: every status but closed (as the cases "
                                                            "screen)"),
                               OpenApiParameter("customer", int), *sync.SYNC_PARAMETERS])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        p = self.request.query_params
        st = p.get("status", "")
        if st and st != "open" and st not in CaseStatus.values:
            raise ApiError(422, "invalid", _("Unknown option."), {"status": [_("Unknown option.")]})
        qs = _cases(self.request)
        qs = qs.exclude(status=CaseStatus.CLOSED) if st == "open" else qs.filter(status=st) if st else qs
        if p.get("customer"):
            qs = qs.filter(customer_id=int(p["customer"])) if _valid_id(p["customer"]) else qs.none()
        return qs


class CaseDetail(APIView):
    @extend_schema(responses={200: CaseOut})
    def get(self, request, pk):
        return Response(CaseOut(_get(_cases(request), pk)).data)
