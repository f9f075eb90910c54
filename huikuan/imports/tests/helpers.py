"""Sample files written by the tests themselves."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from huikuan.imports.services import create_job


def write_csv(path: Path, rows, encoding="utf-8") -> Path:
    buf = io.StringIO()
    csv.writer(buf).writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, rows) -> Path:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def job_for(path: Path, *, company, actor, kind, **kw):
    data = path.read_bytes()
    return create_job(company=company, actor=actor, kind=kind, file_name=path.name, chunks=[data], size=len(data), **kw)
