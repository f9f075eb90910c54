"""URL × role rows of the payment-prediction screens and API (issue 16; see tests/e2e/access/__init__.py)."""

from tests.e2e.access import GET_405, OK_ALL, OWN, only, post_only

ROWS = {
    "prediction:models": ("/predictions/", only({"admin", "finance", "credit_manager", "auditor"}), 302),
    "prediction:activate": ("/predictions/versions/{pmv}/activate/", GET_405, 302),
    "prediction:train": ("/predictions/train/", post_only({"admin", "finance"}), 302),
    "prediction:customer-panel": ("/predictions/customers/{c}/", OWN, 302),
    "prediction:document-panel": ("/predictions/documents/{d}/", OWN, 302),
    "api:prediction-list": ("/api/v1/predictions/", OK_ALL, 401),
    "api:prediction-detail": ("/api/v1/predictions/{pip}/", OWN, 401),
}


def objects(*, world, company, customer, users, finance):
    import datetime as dt
    from decimal import Decimal as D

    from django.utils import timezone

    from huikuan.ledger.models import Instalment
    from huikuan.prediction.models import ItemPrediction, ModelVersion

    day = dt.date(2026, 1, 5)
    v = ModelVersion.objects.create(company=company, version=7, window_start=day, window_end=day, cutoff=day, items=0,
                                    blob=b"", is_active=False)
    inst = Instalment.objects.get(pk=world["i"])
    p = ItemPrediction.objects.create(
        company=company, instalment=inst, customer_id=inst.customer_id, document_id=inst.document_id, version=v,
        as_of=day, due_date=inst.due_date, p_late=D("0.4"), p_late_30=D("0.2"), p_late_90=D("0.05"),
        predicted_date=inst.due_date, low_date=inst.due_date, high_date=inst.due_date, reasons=[["disputed", {}]],
        updated_at=timezone.now())
    return {"pmv": v.version, "pip": p.pk}
