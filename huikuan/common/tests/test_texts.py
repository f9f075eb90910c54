"""Stored texts: a code with parameters, rendered in the reader's language; audit events described from
their verb and data (labels for every verb, field changes as old → new)."""

import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from huikuan.common import audit, texts
from huikuan.common.texts import Text

texts.register({
    "test.hold": _("%(days)s days overdue, %(amount)s overdue (grade %(grade)s rule)"),
    "test.plain": _("Overdue cleared"),
})


def test_text_renders_in_the_readers_language_with_typed_parameters():
    t = Text("test.hold", days=45, amount=Decimal("12345.60"), grade="C")
    with translation.override("en"):
        assert str(t) == "45 days overdue, 12,345.60 overdue (grade C rule)"
    with translation.override("zh-hans"):
        zh = str(t)
    assert "逾期" in zh and "12,345.60" in zh and "C" in zh
    assert t.as_data() == {"code": "test.hold", "params": {"days": 45, "amount": {"money": "12345.60"}, "grade": "C"}}
    assert Text.from_data(t.as_data()) == t


def test_nested_texts_lists_dates_and_msgids():
    outer = Text("credit.hold.event", source=Text("credit.hold_source.dunning"), reason=Text("test.plain"))
    with translation.override("en"):
        assert str(outer) == "Dunning: Overdue cleared"
    with translation.override("zh-hans"):
        assert "Dunning" not in str(outer) and "Overdue" not in str(outer)
    err = Text.of_msgid("Unknown customer.")
    with translation.override("zh-hans"):
        assert str(err) != "Unknown customer." and str(err)
    assert texts.render(err.as_data()) == str(err)
    with translation.override("en"):
        assert texts.render({"code": "test.hold", "params": {"days": 1, "amount": {"money": "1"}, "grade": ["A", "B"]}}) \
            == "1 days overdue, 1.00 overdue (grade A, B rule)"
        assert str(Text("credit.check.limit_expired", date=dt.date(2026, 1, 5))) == "The credit limit expired on 2026-01-05."


def test_unknown_codes_never_reach_the_reader_and_translated_strings_cannot_be_stored():
    with pytest.raises(KeyError):
        Text("no.such.code")
    with translation.override("en"):
        shown = texts.render({"code": "gone.code", "params": {"n": 3}})
    assert "gone.code" not in shown and "3" in shown
    with pytest.raises(TypeError):
        Text("test.plain", reason=_("Overdue cleared"))  # a lazy string would be stored in one language


def test_recognise_reads_old_sentences_back_in_either_language():
    for lang in ("en", "zh-hans"):
        with translation.override(lang):
            old = str(Text("test.hold", days=31, amount=Decimal("1200.00"), grade="B"))
        assert texts.recognise(old, {"test.hold": {"days": "int", "amount": "money"}}) == \
            Text("test.hold", days=31, amount=Decimal("1200.00"), grade="B")
    with translation.override("zh-hans"):
        label = str(_("Dunning"))
    got = texts.recognise(f"{label}: x", {"credit.hold.event": {"source": "choice:credit.hold_source"}})
    assert got == Text("credit.hold.event", source=Text("credit.hold_source.dunning"), reason="x")
    assert texts.recognise("cheque bounced", {"test.hold": {}}) is None


# ---------------------------------------------------------------- audit events


def _recorded_verbs() -> set[str]:
    verbs = set()
    root = Path(settings.BASE_DIR) / "huikuan"
    for path in root.rglob("*.py"):
        if "tests" in path.parts:
            continue
        source = path.read_text(encoding="utf-8")
        verbs.update(re.findall(r'verb="([a-z_.]+)"', source))
        verbs.update(re.findall(r'verb="([a-z_.]+)" if ', source))
        verbs.update(re.findall(r' else "([a-z_]+\.[a-z_.]+)"', source))
    return verbs


# verbs built with an f-string, spelled out
_DYNAMIC = {"calendar.override.work", "calendar.override.off", "calendar.override.remove",
            "credit.order.invoiced", "credit.order.cancelled", "statement.confirmed", "statement.disputed"}


def test_every_audit_verb_has_a_label():
    verbs = _recorded_verbs() | _DYNAMIC
    assert len(verbs) > 60
    missing = sorted(v for v in verbs if v not in audit.VERB_LABELS)
    assert not missing, f"audit verbs without a timeline label (they would show as raw codes): {missing}"
    with translation.override("zh-hans"):
        # technical names stay in Latin letters in Chinese too ("已添加 Webhook 端点"); anything else is English
        untranslated = sorted(v for v in verbs if re.search(r"[A-Za-z]*[a-z]{2}", re.sub(
            r"Webhook|API|XLSX|PDF|CSV", "", audit.verb_label(v))))
    assert not untranslated, untranslated


def test_unknown_verb_reads_as_other_change():
    with translation.override("en"):
        assert audit.verb_label("something.odd") == "Other change"


def test_text_summary_is_stored_as_code_and_rendered_per_reader(company, customer):
    ev = audit.record(actor=None, verb="credit.hold.placed", customer_id=customer.pk, company_id=company.pk,
                      summary=Text("credit.hold.event", source=Text("credit.hold_source.automatic"),
                                   reason=Text("credit.hold.overdue_cleared")))
    assert ev.data["_text"]["code"] == "credit.hold.event"
    assert ev.summary == "Automatic (policy): Overdue cleared"  # the column keeps English for table readers
    with translation.override("zh-hans"):
        (d,) = audit.describe([ev])
    assert "Automatic" not in d.detail and d.detail
