"""Placeholder values of a notice, and the rendered email / SMS / robot text / PDF letter."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.template.loader import render_to_string
from django.utils import translation

from huikuan.common.calendar import next_working_day
from huikuan.common.money import ZERO
from huikuan.common.words import rmb_upper

from . import hooks
from .models import Channel, DunningSettings, DunningTemplate, Notice
from .render import render_text, to_html


@dataclass
class Item:
    number: str
    reference: str
    document_date: dt.date
    due_date: dt.date
    amount: Decimal
    days: int


def _fmt(amount: Decimal) -> str:
    return f"{amount:,.2f}"


def settings_of(company) -> DunningSettings:
    obj, _ = DunningSettings.objects.get_or_create(company=company)
    return obj


def penalty_to_date(customer, as_of: dt.date) -> Decimal:
    try:
        from huikuan.collections.interest import interest_to_date
    except ImportError:  # pragma: no cover - collections always installed
        return ZERO
    return interest_to_date(customer=customer, as_of=as_of) or ZERO


def build_context(*, company, customer, items: list[Item], as_of: dt.date, number: str, offset_days: int,
                  language: str, contact=None, personal_link: bool = False) -> dict:
    """``personal_link``: mint the contact's own one-time portal link (what is sent); else the company's
    configured portal address (previews and drafts mint nothing)."""
    conf = settings_of(company)
    portal = (hooks.portal_link(customer=customer, contact=contact) if personal_link else "") or conf.portal_url
    total = sum((i.amount for i in items), ZERO)
    penalty = penalty_to_date(customer, as_of)
    final = next_working_day(as_of + dt.timedelta(days=conf.final_payment_days))
    date_fmt = "%Y年%m月%d日" if language.startswith("zh") else "%Y-%m-%d"
    lines = []
    for i in items:
        if language.startswith("zh"):
            lines.append(f"- {i.number}  到期日 {i.due_date:%Y-%m-%d}  金额 {_fmt(i.amount)} 元"
                         + (f"  逾期 {i.days} 天" if i.days > 0 else ""))
        else:
            lines.append(f"- {i.number}  due {i.due_date:%Y-%m-%d}  {_fmt(i.amount)}"
                         + (f"  {i.days} days overdue" if i.days > 0 else ""))
    owner = customer.owner
    return {
        "customer_name": customer.name,
        "customer_code": customer.code,
        "company_name": company.name if language.startswith("zh") or not company.name_en else company.name_en,
        "notice_number": number,
        "notice_date": as_of.strftime(date_fmt),
        "total": _fmt(total),
        "total_upper": rmb_upper(total),
        "penalty_to_date": _fmt(penalty) if penalty > 0 else "",
        "total_with_penalty": _fmt(total + penalty),
        "overdue_list": "\n".join(lines),
        "items": [{"number": i.number, "reference": i.reference, "document_date": i.document_date, "due_date": i.due_date,
                   "amount": _fmt(i.amount), "days": i.days} for i in items],
        "item_count": len(items),
        "final_payment_date": final.strftime(date_fmt),
        "bank_name": company.bank_name,
        "bank_account_name": company.bank_account_name or company.name,
        "bank_account_number": company.bank_account_number,
        "contact_person": conf.contact_person or (owner.display_name or owner.username if owner else ""),
        "contact_phone": company.phone,
        "owner_name": (owner.display_name or owner.username) if owner else "",
        "portal_link": portal,
        "step_days": offset_days,
        # not placeholders: used by the letter layout
        "lt_total": total, "lt_penalty": penalty, "lt_items": items, "lt_customer": customer, "lt_company": company,
        "lt_contact": contact, "lt_address": customer.address,
    }


def notice_items(notice: Notice) -> list[Item]:
    rows = (notice.items.select_related("instalment__document").order_by("instalment__due_date", "instalment_id"))
    out = []
    for r in rows:
        inst = r.instalment
        doc = inst.document
        number = doc.number + (f"-{inst.seq}" if inst.seq and inst.seq > 1 else "")
        out.append(Item(number=number, reference=doc.reference or "", document_date=inst.document_date, due_date=inst.due_date,
                        amount=r.amount, days=(notice.cycle - inst.due_date).days))
    return out


def notice_context(notice: Notice, contact=None, personal_link: bool = False) -> dict:
    return build_context(company=notice.company, customer=notice.customer, items=notice_items(notice), as_of=notice.cycle,
                         number=notice.number, offset_days=notice.offset_days, language=notice.language, contact=contact,
                         personal_link=personal_link)


def template_for(company, key: str, channel: str, language: str) -> DunningTemplate | None:
    channel = Channel.WECOM if channel == Channel.DINGTALK else channel
    qs = DunningTemplate.objects.filter(company=company, key=key, channel=channel)
    return qs.filter(language=language).first() or qs.filter(language="zh-hans").first() or qs.first()


@dataclass
class Rendered:
    subject: str
    text: str
    html: str


def render(tpl: DunningTemplate | None, ctx: dict, *, subject: str = "", body: str = "") -> Rendered:
    subject_src = tpl.subject if tpl is not None else subject
    body_src = tpl.body if tpl is not None else body
    subject_out = render_text(subject_src, ctx).replace("\n", " ")[:200]
    text = render_text(body_src, ctx)
    return Rendered(subject=subject_out, text=text, html=to_html(text))


def letter_html(ctx: dict, rendered: Rendered, *, language: str) -> str:
    with translation.override(language):
        return render_to_string("dunning/letter_pdf.html", {"c": ctx, "r": rendered})


def letter_pdf(ctx: dict, rendered: Rendered, *, language: str) -> bytes:
    from weasyprint import HTML

    return HTML(string=letter_html(ctx, rendered, language=language)).write_pdf()


def join_pdfs(pdfs: list[bytes]) -> bytes:
    """Several PDFs (stored letters) as one printable file, each keeping its own pages."""
    import io

    from pypdf import PdfWriter

    writer = PdfWriter()
    for pdf in pdfs:
        writer.append(io.BytesIO(pdf))
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
