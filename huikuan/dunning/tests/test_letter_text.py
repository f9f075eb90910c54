"""Issue 12 point 18: a letter's heading prints the notice number as it is (no ``u002D``)."""

import datetime as dt
import io

import pytest
from django.urls import reverse
from pypdf import PdfReader

from huikuan.dunning import services
from huikuan.dunning.models import Notice

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_letter_heading_and_footer_text(client, company, customer, invoice, users, lang):
    services.run_dunning(company=company, as_of=dt.date(2026, 3, 6), enqueue=False)
    notice = Notice.objects.get()
    assert "-" in notice.number
    client.force_login(users["finance"])
    r = client.get(reverse("dunning:notice-letter", args=[notice.pk]), HTTP_ACCEPT_LANGUAGE=lang)
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.content)).pages)
    assert notice.number in text and "u002D" not in text and "\\" not in text
