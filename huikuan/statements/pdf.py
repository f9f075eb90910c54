"""Render a statement as an A4 PDF (WeasyPrint, CJK font from the system: fonts-wqy-microhei or Noto CJK)."""

from django.template.loader import render_to_string


def render_statement_pdf(*, data, statement=None) -> bytes:
    from weasyprint import HTML

    html = render_to_string("statements/statement_pdf.html", {"s": data, "statement": statement})
    return HTML(string=html).write_pdf()
