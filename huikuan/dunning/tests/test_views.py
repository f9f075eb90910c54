import datetime as dt
import io

import pytest
from django.urls import reverse

from huikuan.dunning import services
from huikuan.dunning.models import CustomerDunning, Delivery, DunningPolicy, Notice

pytestmark = pytest.mark.django_db


def test_preview_shows_errors_and_escapes(client, company, finance, customer):
    client.force_login(finance)
    url = reverse("dunning:template-preview")
    r = client.post(url, {"channel": "email", "language": "zh-hans", "subject": "{{ total }}", "body": "{{ unknown_thing }}"},
                    HTTP_HX_REQUEST="true")
    assert r.status_code == 200 and "unknown_thing" in r.content.decode()
    r = client.post(url, {"channel": "email", "language": "zh-hans", "subject": "S", "body": "<script>x</script>{{ customer_name }}"})
    body = r.content.decode()
    assert "&lt;script&gt;x&lt;/script&gt;" in body and "<script>x</script>" not in body
    r = client.post(url, {"channel": "letter", "language": "en", "subject": "Demand", "body": "Pay {{ total }}",
                          "customer": customer.pk})
    assert r.status_code == 200 and "srcdoc" in r.content.decode()
    r = client.post(url, {"channel": "sms", "language": "zh-hans", "subject": "", "body": "{{ customer_name }} {{ total_upper }}"})
    assert "人民币" in r.content.decode()


def test_template_save_needs_permission_and_valid_text(client, company, users):
    services.ensure_defaults(company)
    client.force_login(users["collector"])
    r = client.post(reverse("dunning:template-new"), {"key": "x", "channel": "sms", "language": "en", "body": "hi"})
    assert r.status_code == 403
    client.force_login(users["finance"])
    r = client.post(reverse("dunning:template-new"), {"key": "x", "channel": "sms", "language": "en", "body": "{{ bad }}"})
    assert r.status_code == 422 and "bad" in r.content.decode()
    r = client.post(reverse("dunning:template-new"), {"key": "x", "channel": "sms", "language": "en", "body": "{{ total }}"})
    assert r.status_code == 302


def test_policy_editor_saves_steps(client, company, users):
    client.force_login(users["credit_manager"])
    data = {"name": "VIP", "grades": "AAA AA", "s0_offset": "3", "s0_channels": ["email"], "s0_template": "reminder",
            "s0_tone": "reminder", "s0_action": "notify", "s0_min": "0", "s1_offset": "30", "s1_channels": ["phone"],
            "s1_template": "demand", "s1_tone": "demand", "s1_action": "task", "s1_min": "1000"}
    services.ensure_defaults(company)
    r = client.post(reverse("dunning:policy-new"), data)
    assert r.status_code == 302
    p = DunningPolicy.objects.get(name="VIP")
    assert [s.offset_days for s in p.steps.all()] == [3, 30]
    assert sorted(p.grades.values_list("grade", flat=True)) == ["AA", "AAA"]
    bad = {**data, "name": "Bad", "s1_offset": "3"}
    assert client.post(reverse("dunning:policy-new"), bad).status_code == 422
    assert not DunningPolicy.objects.filter(name="Bad").exists()
    client.force_login(users["collector"])
    assert client.post(reverse("dunning:policy-new"), {**data, "name": "Z"}).status_code == 403


def test_grade_assignment(company, customer, invoice, finance, users):
    from huikuan.credit.models import CreditProfile

    services.ensure_defaults(company)
    services.save_policy(company=company, actor=users["credit_manager"], name="Strict", grades=["C"],
                         steps=[{"offset_days": 1, "channels": ["email"], "template_key": "demand", "tone": "demand",
                                 "action": "notify", "min_amount": "0"}])
    CreditProfile.objects.update_or_create(customer=customer, defaults={"company": company, "grade": "C"})
    services.run_dunning(company=company, as_of=dt.date(2026, 2, 6), enqueue=False)
    assert Notice.objects.get().offset_days == 1  # the default policy has no +1 step


def test_pause_customer_and_send_now(client, company, customer, invoice, users):
    client.force_login(users["collector"])
    r = client.post(reverse("dunning:customer", args=[customer.pk]), {"paused_until": "2099-01-01", "reason": "谈判"})
    assert r.status_code == 302 and CustomerDunning.objects.get(customer=customer).paused_until == dt.date(2099, 1, 1)
    r = client.post(reverse("dunning:send-now", args=[customer.pk]))
    assert r.status_code == 302 and not Notice.objects.exists()  # paused: nothing
    client.post(reverse("dunning:customer", args=[customer.pk]), {"paused_until": "", "reason": ""})
    r = client.post(reverse("dunning:send-now", args=[customer.pk]))
    assert Notice.objects.filter(customer=customer).count() == 1
    client.post(reverse("dunning:send-now", args=[customer.pk]))  # again: nothing new
    assert Notice.objects.filter(customer=customer).count() == 1
    client.force_login(users["sales_west"])
    assert client.post(reverse("dunning:send-now", args=[customer.pk])).status_code == 404
    client.force_login(users["auditor"])
    assert client.post(reverse("dunning:send-now", args=[customer.pk])).status_code == 403


def test_run_button_exports_and_letters(client, company, customer, invoice, users):
    from pypdf import PdfReader

    client.force_login(users["finance"])
    r = client.post(reverse("dunning:run-now"), {"as_of": "2026-03-06"})  # +30: letter
    run_id = int(r["Location"].rstrip("/").split("/")[-1])
    assert Notice.objects.get().offset_days == 30
    r = client.get(reverse("dunning:run-letters", args=[run_id]))
    assert r["Content-Type"] == "application/pdf"
    reader = PdfReader(io.BytesIO(r.content))
    assert len(reader.pages) >= 1 and Notice.objects.get().number in reader.pages[0].extract_text()
    for name in ("index", "notices", "outbox", "policies", "templates", "customers"):
        r = client.get(reverse(f"dunning:{name}") + "?export=xlsx")
        assert r.status_code == 200 and r["Content-Type"].startswith("application/vnd.openxmlformats"), name
    d = Delivery.objects.filter(channel="email").first()
    r = client.post(reverse("dunning:delivery-retry", args=[d.pk]))
    assert r.status_code == 302
    client.force_login(users["collector"])
    assert client.post(reverse("dunning:run-now"), {"as_of": "2026-03-06"}).status_code == 403
