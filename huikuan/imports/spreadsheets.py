"""Downloadable import templates and error reports (XLSX)."""

from __future__ import annotations

import tempfile

from django.http import FileResponse
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from huikuan.common import texts
from huikuan.common.export import XLSX_CONTENT_TYPE, neutralise, xlsx_response

from .kinds import KINDS
from .models import ImportJob


def template_response(kind_code: str) -> FileResponse:
    """A workbook with the kind's headers (in the active language; required ones marked *), an
    example row, drop-down lists for choice columns, and a second sheet explaining the columns."""
    from openpyxl import Workbook
    from openpyxl.styles import Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    kind = KINDS[kind_code]
    wb = Workbook()
    ws = wb.active
    ws.title = str(kind.label)[:31]
    help_ws = wb.create_sheet(_("Columns")[:31])
    help_ws.append([_("Column"), _("Required"), _("Type"), _("Also recognised")])
    bold = Font(bold=True)
    required_fill = PatternFill("solid", fgColor="FFF2CC")
    type_labels = {"text": _("Text"), "phone": _("Phone"), "money": _("Amount"), "date": _("Date (2026-01-05)"),
                   "int": _("Whole number"), "choice": _("Choose from the list")}
    headers, example = [], []
    for f in kind.fields:
        label = str(f.label) + (" *" if f.required else "")
        headers.append(label)
        example.append(f.example or (f.option_labels()[0] if f.choices else ""))
        help_ws.append([label, _("Yes") if f.required else _("No"), type_labels[f.type], " / ".join(f.aliases[:8])])
    ws.append(headers)
    ws.append(example)
    for index, f in enumerate(kind.fields, start=1):
        letter = get_column_letter(index)
        cell = ws[f"{letter}1"]
        cell.font = bold
        if f.required:
            cell.fill = required_fill
        ws.column_dimensions[letter].width = max(14, len(headers[index - 1]) * 2 + 2)
        if f.type == "date":
            ws[f"{letter}2"].number_format = "@"
        if f.choices:
            options = ",".join(f.option_labels())
            dv = DataValidation(type="list", formula1=f'"{options}"', allow_blank=not f.required)
            dv.error = _("Choose a value from the list.")
            dv.showErrorMessage = True
            ws.add_data_validation(dv)
            dv.add(f"{letter}2:{letter}10000")
    ws.freeze_panes = "A2"
    for cell in help_ws[1]:
        cell.font = bold
    fileobj = tempfile.TemporaryFile()
    wb.save(fileobj)
    fileobj.seek(0)
    return FileResponse(fileobj, as_attachment=True, filename=f"huikuan-import-{kind_code}.xlsx",
                        content_type=XLSX_CONTENT_TYPE)


def error_report_response(job: ImportJob) -> FileResponse:
    """Every problem, then every warning (line, column, value, reason, kind), each followed by the original
    cells of its line — the preview shows the first ones, the report all of them."""
    headers = [neutralise(h) for h in job.headers]
    columns = [(_("Line"), "int"), (_("Column"), "text"), (_("Value"), "text"), (_("Reason"), "text"),
               (pgettext("import report", "Kind"), "text")]
    columns += [(h or "-", "text") for h in headers]
    width = len(headers)
    kinds = ((job.errors, _("Error")), (job.warnings or [], _("Warning")))

    def rows():
        for problems, kind in kinds:
            for p in problems:
                cells = job.bad_rows.get(str(p["line"]), [])
                cells = (list(cells) + [""] * width)[:width]
                yield [p["line"] or None, p["column"], p["value"], texts.render(p["reason"]), kind, *cells]

    title = _("Errors and warnings") if job.warnings else _("Errors")
    return xlsx_response(filename=f"import-{job.pk}-errors", sheet_title=title, columns=columns, rows=rows())
