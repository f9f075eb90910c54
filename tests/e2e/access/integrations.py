"""URL × role rows of the webhook screens (administrators only, other roles 403), vouchers and financing (finance)."""

from tests.e2e.access import GET_405, LEDGER_POST, only, post_only

ADMIN = {"admin"}

ROWS = {
    "integrations:webhook-list": ("/integrations/webhooks/", only(ADMIN), 302),
    "integrations:webhook-detail": ("/integrations/webhooks/{whe}/", only(ADMIN), 302),
    "integrations:webhook-action": ("/integrations/webhooks/{whe}/rotate/", post_only(ADMIN), 302),
    "integrations:delivery-detail": ("/integrations/deliveries/{whd}/", only(ADMIN), 302),
    "integrations:delivery-redeliver": ("/integrations/deliveries/{whd}/redeliver/", post_only(ADMIN), 302),
    "integrations:vouchers": ("/integrations/vouchers/", only(LEDGER_POST), 302),
    "integrations:voucher-download": ("/integrations/vouchers/{vx}/csv/", only(LEDGER_POST), 302),
    "integrations:financing": ("/integrations/financing/", only(LEDGER_POST), 302),
    "api:webhook-list": ("/api/v1/webhooks/", only(ADMIN), 401),
    "api:webhook-detail": ("/api/v1/webhooks/{whe}/", only(ADMIN), 401),
    "api:webhook-rotate": ("/api/v1/webhooks/{whe}/rotate-secret/", GET_405, 401),
    "api:webhook-deliveries": ("/api/v1/webhooks/{whe}/deliveries/", only(ADMIN), 401),
    "api:webhook-redeliver": ("/api/v1/webhook-deliveries/{whd}/redeliver/", GET_405, 401),
    "api:financing-eligible": ("/api/v1/financing/eligible/", only(LEDGER_POST), 401),
    "api:financing-item-list": ("/api/v1/financing/items/", only(LEDGER_POST), 401),
    "api:financing-item-detail": ("/api/v1/financing/items/{fin}/", only(LEDGER_POST), 401),
    "api:financing-item-release": ("/api/v1/financing/items/{fin}/release/", GET_405, 401),
}


def objects(*, world, company, customer, users, finance):
    from django.utils import timezone

    from huikuan.integrations.models import Delivery, Endpoint, Message

    endpoint = Endpoint.objects.create(company=company, url="https://crm.example.com/hooks", events=["payment.recorded"],
                                       secret="whsec_dGVzdHRlc3R0ZXN0dGVzdA==")
    message = Message.objects.create(company=company, msg_id="msg_access", event_type="payment.recorded", body="{}")
    d = Delivery.objects.create(message=message, endpoint=endpoint, window_start=timezone.now(),
                                next_attempt_at=timezone.now())
    from huikuan.integrations.models import VoucherExport

    vx = VoucherExport.objects.create(company=company, layout="u8", period_from=timezone.localdate(),
                                      period_to=timezone.localdate(), lines=[])
    from huikuan.integrations.models import FinancedItem

    fin = FinancedItem.objects.create(company=company, instalment_id=world["i"], bank="access bank",
                                      financed_on=timezone.localdate(), amount=1)
    return {"whe": endpoint.pk, "whd": d.pk, "vx": vx.pk, "fin": fin.pk}
