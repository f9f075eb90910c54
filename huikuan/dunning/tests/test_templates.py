import datetime as dt
from decimal import Decimal as D

import pytest

from huikuan.dunning import context, defaults, services
from huikuan.dunning.render import TemplateInvalid, compile_template, render_text, to_html

pytestmark = pytest.mark.django_db


def test_unknown_placeholder_and_forbidden_tags_are_errors():
    with pytest.raises(TemplateInvalid) as e:
        compile_template("尊敬的 {{ customer_nmae }}，{{ total }}")
    assert any("customer_nmae" in p for p in e.value.problems)
    for bad in ("{% include 'web/base.html' %}", "{% load static %}", "{{ items.0.__class__ }}", "{{ total|safe }}",
                "{% for i in items %}{{ i.secret }}{% endfor %}", "{% debug %}", "{{ settings.SECRET_KEY }}"):
        with pytest.raises(TemplateInvalid):
            compile_template(bad)
    # allowed: loops over items, if, whitelisted filters
    compile_template("{% for i in items %}{{ i.number }} {{ i.amount }}{% endfor %}{% if portal_link %}{{ portal_link }}{% endif %}"
                     "{{ customer_name|upper }}")


def test_every_default_template_is_valid():
    for by_channel in defaults.TEMPLATES.values():
        for by_lang in by_channel.values():
            for subject, body in by_lang.values():
                compile_template(subject)
                compile_template(body)


def test_unsafe_content_rendered_escaped():
    text = render_text("{{ customer_name }} <b>bold</b>", {"customer_name": "<script>alert(1)</script>"})
    assert text == "<script>alert(1)</script> <b>bold</b>"  # plain text keeps characters
    html = to_html(text)
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;b&gt;" in html


def test_context_amounts_words_and_portal_omitted(company, customer, invoice):
    items = [context.Item(number="INV-1", reference="", document_date=dt.date(2026, 1, 5), due_date=dt.date(2026, 2, 4),
                          amount=D("10000.00"), days=8)]
    ctx = context.build_context(company=company, customer=customer, items=items, as_of=dt.date(2026, 2, 12), number="DN-1",
                                offset_days=7, language="zh-hans")
    assert ctx["total"] == "10,000.00" and ctx["total_upper"] == "人民币壹万元整"
    assert ctx["bank_name"] == "招商银行" and ctx["portal_link"] == ""
    services.ensure_defaults(company)
    tpl = context.template_for(company, "reminder", "email", "zh-hans")
    out = context.render(tpl, ctx)
    assert "在线查看对账单" not in out.text  # no portal: the line is omitted cleanly
    conf = context.settings_of(company)
    conf.portal_url = "https://portal.example.cn/c/1"
    conf.save()
    ctx = context.build_context(company=company, customer=customer, items=items, as_of=dt.date(2026, 2, 12), number="DN-1",
                                offset_days=7, language="zh-hans")
    assert "https://portal.example.cn/c/1" in context.render(tpl, ctx).text


def test_save_template_refuses_invalid_and_changes_nothing(company, finance):
    services.ensure_defaults(company)
    from huikuan.dunning.models import DunningTemplate

    before = DunningTemplate.objects.get(company=company, key="reminder", channel="email", language="en").body
    with pytest.raises(TemplateInvalid):
        services.save_template(company=company, actor=finance, key="reminder", channel="email", language="en", subject="x",
                               body="{{ nope }}")
    assert DunningTemplate.objects.get(company=company, key="reminder", channel="email", language="en").body == before


def test_a_new_template_never_replaces_an_existing_one(company, users):
    """Issue 12 point 17: "new template" with the key, channel and language of an existing one is refused."""
    from huikuan.common.models import AuditEvent
    from huikuan.dunning.models import DunningTemplate

    services.ensure_defaults(company)
    admin = users["admin"]
    old = DunningTemplate.objects.get(company=company, key="reminder", channel="email", language="en")
    body = old.body
    with pytest.raises(services.TemplateExists) as e:
        services.save_template(company=company, actor=admin, key="reminder", channel="email", language="en",
                               subject="New", body="Hello {{ customer_name }}")
    assert e.value.field == "key"
    assert DunningTemplate.objects.get(pk=old.pk).body == body
    # editing that template is explicit (its id), and may not take another template's key/channel/language
    services.save_template(company=company, actor=admin, template_id=old.pk, key="reminder", channel="email",
                           language="en", subject="Reminder", body="Dear {{ customer_name }}")
    assert DunningTemplate.objects.get(pk=old.pk).body == "Dear {{ customer_name }}"
    ev = AuditEvent.objects.filter(verb="dunning.template.saved").latest("pk")
    assert ev.data["before"]["body"] == body and ev.data["after"]["body"] == "Dear {{ customer_name }}"
    zh = DunningTemplate.objects.get(company=company, key="reminder", channel="email", language="zh-hans")
    with pytest.raises(services.TemplateExists):
        services.save_template(company=company, actor=admin, template_id=zh.pk, key="reminder", channel="email",
                               language="en", subject="x", body="y")
    # a genuinely new one is created
    new = services.save_template(company=company, actor=admin, key="reminder-vip", channel="email", language="en",
                                 subject="VIP", body="Dear {{ customer_name }}")
    assert new.pk != old.pk


def test_new_template_form_refuses_a_duplicate_in_the_users_language(client, company, users):
    from django.urls import reverse

    from huikuan.dunning.models import DunningTemplate

    services.ensure_defaults(company)
    client.force_login(users["admin"])
    before = DunningTemplate.objects.get(company=company, key="reminder", channel="sms", language="zh-hans").body
    r = client.post(reverse("dunning:template-new"), {"key": "reminder", "channel": "sms", "language": "zh-hans",
                                                      "subject": "", "body": "新的 {{ total }}"},
                    HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert r.status_code == 422 and "已存在" in r.content.decode()
    assert DunningTemplate.objects.get(company=company, key="reminder", channel="sms", language="zh-hans").body == before


@pytest.mark.parametrize("source", ["{% for i in items %}{{ i.number }}", "{% bogus %}", "{{ }}", "{{ total x }}",
                                    "{% for x %}{% endfor %}"])
def test_preview_errors_are_in_the_users_language(client, company, users, source):
    """Issue 12 point 17: Django's English syntax errors never reach the live preview."""
    from django.urls import reverse

    client.force_login(users["admin"])
    import re

    for lang in ("zh-hans", "en"):
        r = client.post(reverse("dunning:template-preview"),
                        {"channel": "email", "language": "en", "subject": "x", "body": source},
                        HTTP_ACCEPT_LANGUAGE=lang)
        html = r.content.decode()
        assert r.status_code == 200 and 'role="alert"' in html
        for english in ("Invalid block tag", "Unclosed tag", "Could not parse", "Empty variable tag",
                        "statements should", "Template syntax error"):
            assert english not in html
        problems = re.findall(r"<li>(.*?)</li>", html.split('role="alert"')[1])
        assert problems
        if lang == "zh-hans":  # every problem in Chinese (the template itself is an English one)
            assert all(re.search("[\u4e00-\u9fff]", p) for p in problems), problems
