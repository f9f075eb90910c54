"""Issue 12 point 19 (import problems): every problem and warning is stored as a catalog msgid with its
parameters, never as a sentence in the uploader's language, and is shown (page, error report) in the reader's."""

import io

import pytest
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from huikuan.common.texts import render
from huikuan.imports.models import JobStatus
from huikuan.imports.services import preview_job

from .helpers import job_for, write_csv

pytestmark = pytest.mark.django_db


def test_problems_are_stored_as_msgids_and_read_in_each_language(tmp_path, client, company, finance, customer):
    rows = [["单据编号", "业务日期", "客户编码", "价税合计"],
            ["A1", "2026-01-05", "C001", "100.00"],
            ["A1", "2026-01-05", "C001", "100.00"],    # 3: duplicate of line 2 (a parameter)
            ["A2", "2026-02-30", "C001", "100.00"],    # 4: no such date
            ["A3", "2026-01-05", "NOPE", "100.00"]]    # 5: unknown customer
    with translation.override("zh-hans"):  # a Chinese clerk runs the preview
        job = preview_job(job=job_for(write_csv(tmp_path / "p.csv", rows), company=company, actor=finance,
                                      kind="documents"), actor=finance)
    assert job.status == JobStatus.INVALID
    by_line = {e["line"]: e["reason"] for e in job.errors}
    assert by_line[3] == {"msgid": "Duplicate of line %(line)d in this file.", "params": {"line": 2}}
    assert all(isinstance(r, dict) and "msgid" in r for r in by_line.values())
    with translation.override("en"):
        assert render(by_line[3]) == "Duplicate of line 2 in this file."
        assert render(by_line[4]) == "No such date."
    with translation.override("zh-hans"):
        assert "2" in render(by_line[3]) and "Duplicate" not in render(by_line[3])
    with translation.override("zh-hans"):
        shown = render(by_line[3])  # the reader (the default language here) reads it in Chinese
    client.force_login(finance)
    page = client.get(reverse("imports:job", args=[job.pk])).content.decode()
    assert shown in page and "msgid" not in page and "Duplicate of line" not in page
    report = client.get(reverse("imports:errors", args=[job.pk]))
    data = b"".join(report.streaming_content) if report.streaming else report.content
    cells = [c.value for row in load_workbook(io.BytesIO(data)).active.iter_rows() for c in row]
    assert shown in cells
