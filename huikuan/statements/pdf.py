"""The statement PDF (对账单), drawn with ReportLab's canvas from one ``StatementData``.

Why not WeasyPrint, DESIGN's PDF engine: it spent ~37 s on 2,000 movements, about 3 ms of Python per
table cell (style cascade, box tree, one Pango layout per cell, drawing). The cost grows linearly with
the number of cells, so neither CSS changes nor paginating the table ourselves brings it near the 2 s
target (measurements in docs/PERFORMANCE.md, decision in docs/ARCHITECTURE.md). Here the layout is
ours: fixed column widths measured from the data, rows that never break across pages, the table
header repeated on every page, and "Page X / Y" written once the page count is known. The web page
(``statements/_body.html``) shows the same ``StatementData`` as HTML.

Layout runs in two passes: ``_Flow`` places blocks on pages (only measuring text), then every page
is drawn with the page count known. Text is measured and drawn in a TrueType CJK font embedded as a
subset (``fonts-wqy-microhei`` by default; ``settings.PDF_CJK_FONT`` may name another TrueType/TTC
file — OpenType/CFF fonts such as Noto CJK cannot be embedded by ReportLab).
"""

from __future__ import annotations

import functools
import io
import os
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext as _

from huikuan.common.money import round_money

FONT_NAME = "HuikuanCJK"
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
)

MM = 72 / 25.4
PAGE_W, PAGE_H = 210 * MM, 297 * MM  # A4
LEFT, RIGHT = 14 * MM, PAGE_W - 14 * MM
TOP, BOTTOM = PAGE_H - 16 * MM, 18 * MM
WIDTH = RIGHT - LEFT
PAD_X, PAD_Y = 1.5 * MM, 1.2 * MM
LEADING = 1.3  # line height as a multiple of the font size
RULE_GRAY, SHADE_GRAY = 0.6, 0.933
RULE_WIDTH = 0.5


@dataclass(frozen=True)
class Style:
    size: float = 9
    bold: bool = False
    gray: float = 0.067  # fill colour as a gray level (0 black, 1 white)


BODY = Style()
BOLD = Style(bold=True)
MUTED = Style(gray=0.4)
MARGIN_TEXT = Style(size=8, gray=0.4)
TITLE = Style(size=14, bold=True)
SUBTITLE = Style(size=11)
HEADING = Style(size=10, bold=True)


@functools.cache
def _font():
    """Register the CJK font once per process (parsing the TTC takes ~0.3 s)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    path = getattr(settings, "PDF_CJK_FONT", "") or next((p for p in FONT_CANDIDATES if os.path.exists(p)), "")
    if not path:
        raise ImproperlyConfigured(
            "No TrueType CJK font for PDFs: install fonts-wqy-microhei or set PDF_CJK_FONT to a .ttf/.ttc file."
        )
    pdfmetrics.registerFont(TTFont(FONT_NAME, path, subfontIndex=0))
    return pdfmetrics.getFont(FONT_NAME)


@functools.lru_cache(maxsize=100_000)
def _width(text: str, size: float) -> float:
    return _font().stringWidth(text, size)


def _amount(value) -> str:
    """Two decimals with thousands separators, after the project's rounding (Decimal format, no float)."""
    return format(round_money(value), ",.2f")


# --- text: a paragraph is a list of (text, Style) runs; a laid-out line is (width, [(text, Style, width)]) ---


def _wrap(runs, width: float) -> list:
    """Break styled runs into lines no wider than ``width``: at the last space when a Latin word would be
    cut, otherwise between any two characters (Chinese text breaks anywhere)."""
    if len(runs) == 1:
        text, style = runs[0]
        w = _width(text, style.size)
        if w <= width:
            return [(w, [(text, style, w)])]
    lines, cur, cur_w, last_space = [], [], 0.0, -1

    def flush(chars):
        merged = []
        for ch, st, _w in chars:
            if merged and merged[-1][1] is st:
                merged[-1][0].append(ch)
            else:
                merged.append(([ch], st))
        out = [("".join(t), st, _width("".join(t), st.size)) for t, st in merged]
        lines.append((sum(r[2] for r in out), out))

    for text, style in runs:
        for ch in text:
            cw = _width(ch, style.size)
            if cur and cur_w + cw > width:
                if ch == " ":
                    flush(cur)
                    cur, cur_w, last_space = [], 0.0, -1
                    continue
                if last_space > 0:
                    carry = cur[last_space + 1:]
                    flush(cur[:last_space])
                    cur = carry
                else:
                    flush(cur)
                    cur = []
                cur_w = sum(c[2] for c in cur)
                last_space = -1
            cur.append((ch, style, cw))
            cur_w += cw
            if ch == " ":
                last_space = len(cur) - 1
    if cur or not lines:
        flush(cur)
    return lines


def _line_height(lines) -> float:
    return max((max((r[1].size for r in line), default=BODY.size) for _w, line in lines), default=BODY.size) * LEADING


class _Cell:
    __slots__ = ("lines", "align", "height", "line_h")

    def __init__(self, paragraphs, width: float, align: str = "left"):
        self.lines = []
        for runs in paragraphs:
            self.lines.extend(_wrap(runs, width - 2 * PAD_X) if runs else [(0.0, [])])
        self.align = align
        self.line_h = _line_height(self.lines)
        self.height = len(self.lines) * self.line_h + 2 * PAD_Y


class _Row:
    """One table row: cells side by side (a cell spanning columns simply gets their summed width)."""

    __slots__ = ("widths", "cells", "height", "shade")

    def __init__(self, cells, widths, *, shade: bool = False, min_height: float = 0.0):
        self.widths = widths
        self.cells = [_Cell(paras, w, align) for (paras, align), w in zip(cells, widths, strict=True)]
        self.height = max(min_height, *(c.height for c in self.cells))
        self.shade = shade

    def draw(self, pen, top: float):
        bottom = top - self.height
        if self.shade:
            pen.fill_rect(LEFT, bottom, sum(self.widths), self.height, SHADE_GRAY)
        x = LEFT
        for cell, w in zip(self.cells, self.widths, strict=True):
            _draw_lines(pen, cell.lines, x + PAD_X, w - 2 * PAD_X, top - PAD_Y, cell.line_h, cell.align)
            x += w
        pen.grid(top, bottom, self.widths)


class _Para:
    """Text at the full width (headings, the remittance line, notes)."""

    __slots__ = ("lines", "align", "height", "line_h", "before", "after")

    def __init__(self, runs, *, align: str = "left", before: float = 0.0, after: float = 0.0):
        self.lines = _wrap(runs, WIDTH)
        self.align = align
        self.line_h = _line_height(self.lines)
        self.before, self.after = before, after
        self.height = before + len(self.lines) * self.line_h + after

    def draw(self, pen, top: float):
        _draw_lines(pen, self.lines, LEFT, WIDTH, top - self.before, self.line_h, self.align)


def _draw_lines(pen, lines, x: float, width: float, top: float, line_h: float, align: str):
    for i, (line_w, runs) in enumerate(lines):
        if align == "right":
            cx = x + width - line_w
        elif align == "center":
            cx = x + (width - line_w) / 2
        else:
            cx = x
        baseline = top - (i + 0.78) * line_h  # ascent of the font within the line box
        for text, style, w in runs:
            pen.text(cx, baseline, text, style)
            cx += w


class _Pen:
    """The canvas with its graphics state tracked, so a page of 40 rows sets the font and colours a few
    times instead of once per cell. Bold is drawn as fill + a thin stroke (the font has no bold face)."""

    def __init__(self, canvas):
        self.c = canvas
        self.font = self.fill = self.stroke = self.line_width = None

    def reset(self):
        self.font = self.fill = self.stroke = self.line_width = None

    def _line(self, gray: float, width: float):
        if self.stroke != gray:
            self.c.setStrokeGray(gray)
            self.stroke = gray
        if self.line_width != width:
            self.c.setLineWidth(width)
            self.line_width = width

    def text(self, x: float, y: float, text: str, style: Style):
        if not text:
            return
        if self.font != style.size:
            self.c.setFont(FONT_NAME, style.size)
            self.font = style.size
        if self.fill != style.gray:
            self.c.setFillGray(style.gray)
            self.fill = style.gray
        if style.bold:
            self._line(style.gray, style.size * 0.016)
            self.c.drawString(x, y, text, mode=2)
        else:
            self.c.drawString(x, y, text)

    def fill_rect(self, x, y, w, h, gray: float):
        self.c.setFillGray(gray)
        self.fill = gray
        self.c.rect(x, y, w, h, stroke=0, fill=1)

    def grid(self, top: float, bottom: float, widths):
        """The borders of one row: its outline and the lines between cells (collapsed borders)."""
        self._line(RULE_GRAY, RULE_WIDTH)
        right = LEFT + sum(widths)
        segments = [(LEFT, top, right, top), (LEFT, bottom, right, bottom), (LEFT, top, LEFT, bottom)]
        x = LEFT
        for w in widths:
            x += w
            segments.append((x, top, x, bottom))
        self.c.lines(segments)


class _Flow:
    """Places blocks top-down on A4 pages; the drawing happens later, once the page count is known."""

    def __init__(self):
        self.pages: list[list] = [[]]
        self.y = TOP

    def new_page(self):
        self.pages.append([])
        self.y = TOP

    def fits(self, height: float) -> bool:
        return self.y - height >= BOTTOM - 0.01

    def place(self, block):
        self.pages[-1].append((self.y, block))
        self.y -= block.height

    def keep_together(self, blocks):
        """Move the blocks to a new page unless they fit here (or the page is still empty)."""
        if not self.fits(sum(b.height for b in blocks)) and self.pages[-1]:
            self.new_page()
        for b in blocks:
            if not self.fits(b.height) and self.pages[-1]:
                self.new_page()
            self.place(b)

    def table(self, header: _Row, rows):
        """Rows never split; the header starts the table and every page it continues on."""
        rows = iter(rows)
        first = next(rows, None)
        self.keep_together([header] + ([first] if first else []))
        for row in rows:
            if not self.fits(row.height):
                self.new_page()
                self.place(header)
            self.place(row)


def _blocks_to_pdf(flow: _Flow, *, data, title: str) -> bytes:
    from reportlab.pdfgen.canvas import Canvas

    buf = io.BytesIO()
    c = Canvas(buf, pagesize=(PAGE_W, PAGE_H), pageCompression=1, invariant=1)
    c.setTitle(title)
    c.setAuthor(data.company.name)
    c.setCreator("Huikuan")
    pen = _Pen(c)
    total = len(flow.pages)
    left_head = f"{data.customer.name} ({data.customer.code})"
    for number, page in enumerate(flow.pages, start=1):
        pen.reset()
        head_y = PAGE_H - 8 * MM - MARGIN_TEXT.size / 2
        pen.text(LEFT, head_y, left_head, MARGIN_TEXT)
        pen.text(RIGHT - _width(data.company.name, MARGIN_TEXT.size), head_y, data.company.name, MARGIN_TEXT)
        for top, block in page:
            block.draw(pen, top)
        folio = f"{_('Page')} {number} / {total}"
        pen.text((PAGE_W - _width(folio, MARGIN_TEXT.size)) / 2, 9 * MM - MARGIN_TEXT.size / 2, folio, MARGIN_TEXT)
        c.showPage()
    c.save()
    return buf.getvalue()


def _column_widths(data, header_labels) -> list[float]:
    """Date and amounts as wide as their widest value; document number and summary share the rest
    in proportion to their widest text (what an automatic table layout would do), each capped."""
    pad = 2 * PAD_X
    size = BODY.size
    date_w = _width("0000-00-00", size) + pad
    amounts = [data.opening, data.total_debit, data.total_credit, data.closing, *(x.amount for x in data.extra_lines)]
    for m in data.movements:
        amounts += (m.debit, m.credit, m.balance)
    # the header labels fit on one line unless that would take more than 30 mm per column
    label_w = min(max(_width(label, BOLD.size) for label in header_labels[3:]) + pad + 2, 30 * MM)
    amount_w = max(max((_width(_amount(a), size) for a in amounts), default=0.0) + pad, 20 * MM, label_w)
    rest = WIDTH - date_w - 3 * amount_w
    ref_need = max((_width(m.reference, size) for m in data.movements), default=0.0) + pad
    sum_need = max([_width(m.summary, size) for m in data.movements] + [_width(_("Opening balance"), size)]) + pad
    if ref_need + sum_need <= rest:
        ref_w = rest * ref_need / (ref_need + sum_need)
    else:
        ref_w = min(ref_need, rest * 0.45)
    return [date_w, ref_w, rest - ref_w, amount_w, amount_w, amount_w]


def _statement_flow(data, statement) -> _Flow:
    flow = _Flow()
    L, R = "left", "right"
    flow.place(_Para([(_("Statement of account") + " ", TITLE), ("往来款项对账确认函", SUBTITLE)],
                     align="center", after=6 * MM))

    # Parties: label columns as wide as their longest label, the rest shared like the movement columns
    pad = 2 * PAD_X
    statement_no = statement.number if statement is not None else ""
    label0 = max(_width(t, BOLD.size) for t in (_("To"), _("Customer code"), _("Statement no."))) + pad
    label2 = max(_width(t, BOLD.size) for t in (_("From"), _("Period"), _("Reply by"))) + pad
    need1 = max(_width(f"{data.customer.name} ({getattr(data.customer, 'credit_code', '')})", BODY.size),
                _width(data.customer.code, BODY.size), _width(statement_no, BODY.size)) + pad
    need3 = max(_width(data.company.name, BODY.size), _width("0000-00-00 — 0000-00-00", BODY.size)) + pad
    rest = WIDTH - label0 - label2
    col1 = rest * need1 / (need1 + need3) if need1 + need3 > rest else need1 + (rest - need1 - need3) / 2
    col1 = min(max(col1, rest * 0.35), rest * 0.65)
    pw = [label0, col1, label2, rest - col1]
    customer_runs = [(data.customer.name, BODY)]
    if getattr(data.customer, "credit_code", ""):
        customer_runs.append((f" ({data.customer.credit_code})", MUTED))

    def th(text, align=L):
        return [[(text, BOLD)]], align

    def td(text, style=BODY, align=L):
        return [[(text, style)]], align

    party_rows = [
        ([th(_("To")), ([customer_runs], L), th(_("From")), td(data.company.name)]),
        ([th(_("Customer code")), td(data.customer.code), th(_("Period")),
          td(f"{data.period_from.isoformat()} — {data.period_to.isoformat()}")]),
    ]
    if statement is not None:
        deadline = statement.reply_deadline.isoformat() if statement.reply_deadline else ""
        party_rows.append([th(_("Statement no.")), td(statement.number), th(_("Reply by")), td(deadline)])
    for cells in party_rows:
        flow.place(_PartyRow(_Row(cells, pw)))

    # Movements
    labels = [_("Date"), _("Document no."), _("Summary"), _("Debit (billed)"), _("Credit (received)"), _("Balance")]
    widths = _column_widths(data, labels)
    header = _Row([th(labels[0]), th(labels[1]), th(labels[2]), th(labels[3], R), th(labels[4], R), th(labels[5], R)],
                  widths, shade=True)
    rows = [_Row([td(data.period_from.isoformat()), td(""), td(_("Opening balance")), td(""), td(""),
                  td(_amount(data.opening), align=R)], widths)]
    for m in data.movements:
        rows.append(_Row([
            td(m.date.isoformat()), td(m.reference), td(m.summary),
            td(_amount(m.debit) if m.debit else "", align=R),
            td(_amount(m.credit) if m.credit else "", align=R),
            td(_amount(m.balance), align=R),
        ], widths))
    three, five = sum(widths[:3]), sum(widths[:5])
    rows.append(_Row([td(_("Period total"), BOLD), td(_amount(data.total_debit), BOLD, R),
                      td(_amount(data.total_credit), BOLD, R), td("")], [three, widths[3], widths[4], widths[5]]))
    closing_label = f"{_('Closing balance')} ({data.currency})"
    if data.closing_words:
        closing_label += f" · {data.closing_words}"
    rows.append(_Row([td(closing_label, BOLD), td(_amount(data.closing), BOLD, R)], [five, widths[5]]))
    for x in data.extra_lines:
        runs = [(str(x.label), BOLD)] + ([(f" ({x.note})", MUTED)] if x.note else [])
        rows.append(_Row([([runs], L), td(_amount(x.amount), BOLD, R)], [five, widths[5]]))
    flow.table(header, rows)

    # Aging strip, kept with its heading
    heading = _Para([(f"{_('Aging of the open balance')} ({_('as of %(d)s') % {'d': data.period_to.isoformat()}})",
                      HEADING)], before=5 * MM, after=2 * MM)
    n = max(len(data.aging_labels), 1)
    aw = [WIDTH / n] * n
    flow.keep_together([
        heading,
        _Row([th(str(label), R) for label in data.aging_labels], aw, shade=True),
        _Row([td(_amount(v), align=R) for v in data.aging_values], aw),
    ])

    # Remittance account, then the confirmation block kept with the reply deadline
    company = data.company
    if getattr(company, "bank_account_number", ""):
        parts = [company.bank_account_name or company.name, company.bank_name,
                 f"{_('account')} {company.bank_account_number}"]
        flow.keep_together([_Para([(f"{_('Please remit to')}:", BOLD), (" " + " · ".join(p for p in parts if p), BODY)],
                                  before=4 * MM, after=4 * MM)])
    else:
        flow.keep_together([_Spacer(4 * MM)])
    # The page the customer signs states the balance being confirmed, in figures and in words.
    confirm_line = _("Balance to confirm as of %(d)s: %(currency)s %(amount)s") % {
        "d": data.period_to.isoformat(), "currency": data.currency, "amount": _amount(data.closing)}
    if data.closing_words:
        confirm_line += f" · {data.closing_words}"
    tail = [_Para([(confirm_line, BOLD)], after=2 * MM)]
    sign = [[(f"{_('Seal')}：", BODY)], [], [(f"{_('Signed by')}：", BODY)], [(f"{_('Date')}：", BODY)]]
    tail.append(_Row([
        ([[(f"1. 信息证明无误 / {_('The above is correct.')}", BOLD)], []] + sign, L),
        ([[(f"2. 信息不符，请列明不符项目及金额 / {_('The above is not correct; differences:')}", BOLD)], [], []] + sign, L),
    ], [WIDTH / 2, WIDTH / 2], min_height=38 * MM + 2 * PAD_Y))
    if statement is not None and statement.reply_deadline:
        note = _("Please sign, seal and return this statement by %(d)s. If we do not hear from you by then, "
                 "we will take the balance as confirmed.") % {"d": statement.reply_deadline.isoformat()}
        tail.append(_Para([(note, MUTED)], before=3 * MM))
    flow.keep_together(tail)
    return flow


class _PartyRow:
    """A row of the parties table: label cells shaded like table headers."""

    __slots__ = ("row", "height")

    def __init__(self, row: _Row):
        self.row, self.height = row, row.height

    def draw(self, pen, top: float):
        x = LEFT
        for i, w in enumerate(self.row.widths):
            if i in (0, 2):
                pen.fill_rect(x, top - self.height, w, self.height, SHADE_GRAY)
            x += w
        self.row.draw(pen, top)


class _Spacer:
    __slots__ = ("height",)

    def __init__(self, height: float):
        self.height = height

    def draw(self, pen, top: float):
        pass


def render_statement_pdf(*, data, statement=None) -> bytes:
    """The A4 statement PDF for ``data`` (a ``StatementData``), numbered and with the reply deadline when
    ``statement`` (an issued ``Statement``) is given. Texts in the active language; amounts as rounded
    by ``common.money.round_money``; deterministic output for the same input."""
    flow = _statement_flow(data, statement)
    title = f"{_('Statement of account')} {statement.number if statement else ''} {data.customer.name}".replace("  ", " ")
    return _blocks_to_pdf(flow, data=data, title=title)
