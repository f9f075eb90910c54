"""Issue 19 finding 1: the restricted renderer has an iteration and output budget, never loops over a string,
and the live preview needs the template-editing permission."""

import time
from decimal import Decimal as D

import pytest
from django.urls import reverse

from huikuan.dunning.render import TemplateInvalid, TemplateTooLarge, compile_template, render_text

ITEM = {"number": "INV-1", "reference": "", "document_date": None, "due_date": None, "amount": D("1.00"), "days": 3}


def test_a_nested_loop_over_many_items_stops_quickly_with_a_clear_error():
    ctx = {"items": [ITEM] * 400}
    source = "{% for a in items %}{% for b in items %}{% for c in items %}{{ c.number }}{% endfor %}{% endfor %}{% endfor %}"
    started = time.perf_counter()
    with pytest.raises(TemplateTooLarge) as err:
        render_text(source, ctx)
    assert time.perf_counter() - started < 2
    assert "20,000" in str(err.value)


def test_output_budget_applies_even_with_few_passes():
    ctx = {"items": [ITEM] * 3000, "overdue_list": "x" * 1000}
    with pytest.raises(TemplateTooLarge):
        render_text("{% for a in items %}{{ overdue_list }}{% endfor %}", ctx)


def test_a_single_loop_over_a_long_list_still_renders():
    ctx = {"items": [ITEM] * 5000}
    out = render_text("{% for i in items %}{{ i.number }} {{ i.days }}\n{% endfor %}", ctx)
    assert out.count("INV-1 3") == 5000


@pytest.mark.parametrize("source", [
    "{% for ch in customer_name %}{{ ch }}{% endfor %}",
    "{% for i in items %}{% for ch in i.number %}{{ ch }}{% endfor %}{% endfor %}",
    "{% for ch in items|first %}{{ ch }}{% endfor %}",
])
def test_strings_cannot_be_iterated(source):
    with pytest.raises(TemplateInvalid):
        compile_template(source)


def test_a_loop_variable_named_items_does_not_open_a_string(settings):
    ctx = {"items": ["abc"]}
    with pytest.raises(TemplateInvalid):
        render_text("{% for items in items %}{% for ch in items %}{{ ch }}{% endfor %}{% endfor %}", ctx)


@pytest.mark.django_db
def test_preview_needs_the_template_editing_permission(client, company, users):
    url = reverse("dunning:template-preview")
    client.force_login(users["salesperson"])
    r = client.post(url, {"channel": "email", "language": "en", "subject": "x", "body": "{{ total }}"})
    assert r.status_code == 403
    client.force_login(users["finance"])
    r = client.post(url, {"channel": "email", "language": "en", "subject": "x", "body": "{{ total }}"})
    assert r.status_code == 200


@pytest.mark.django_db
def test_preview_of_a_runaway_template_answers_fast_with_the_error(client, company, users):
    client.force_login(users["finance"])
    body = "{% for a in items %}" * 16 + "{{ a.number }}" + "{% endfor %}" * 16  # 2 sample items: 65,536 passes
    started = time.perf_counter()
    r = client.post(reverse("dunning:template-preview"), {"channel": "email", "language": "en", "subject": "x", "body": body})
    assert time.perf_counter() - started < 3
    assert r.status_code == 200 and 'role="alert"' in r.content.decode()
