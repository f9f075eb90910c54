"""`huikuan backup` / `huikuan restore` on SQLite and PostgreSQL: a restore brings back exactly the backed-up
data and is verified by check-ledger; a file that is not a backup changes nothing."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests import dbtemplate

ROOT = Path(__file__).resolve().parents[3]
SEED = """
import datetime as dt
from decimal import Decimal as D
from huikuan.accounts.models import Company, User
from huikuan.customers.models import Customer
from huikuan.ledger import services as s
c = Company.objects.first() or Company.objects.create(code="B01", name="备份测试有限公司")
u = User.objects.filter(username="fin").first() or User.objects.create_user(username="fin", password="pw-123456", role="finance")
u.companies.add(c)
cu = Customer.objects.first() or Customer.objects.create(company=c, code="C1", name="客户一")
s.post_document(company=c, customer_id=cu.pk, document_date=dt.date(2026, 1, 5), total=D("{amount}"), actor=u)
"""
COUNT = "from huikuan.ledger.models import ReceivableDocument as R; print(R.objects.count(), sum(r.total_amount for r in R.objects.all()))"


def _cli(env, *args, check=True):
    r = subprocess.run([sys.executable, "-m", "huikuan.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=600)
    if check:
        assert r.returncode == 0, r.stdout + r.stderr
    return r


def test_backup_then_restore_on_sqlite(tmp_path):
    _backup_then_restore_brings_back_the_data_and_checks_the_ledger(
        tmp_path, dbtemplate.migrated_sqlite(tmp_path / "live.sqlite3"), "sqlite")


def test_backup_then_restore_on_postgresql(tmp_path, pg_clone):
    """A clone of the run's migrated template (web/tests/conftest.py): runs in the PostgreSQL pass."""
    if not shutil.which("pg_dump"):
        pytest.skip("pg_dump is not installed")
    _admin, _name, url = pg_clone
    _backup_then_restore_brings_back_the_data_and_checks_the_ledger(tmp_path, url, "postgresql")


def _backup_then_restore_brings_back_the_data_and_checks_the_ledger(tmp_path, url, engine):
    """The database starts as a copy of the run's migrated template (tests/dbtemplate.py): `migrate` then has
    nothing left to do, as on an installation being backed up."""
    env = {**os.environ, "DATABASE_URL": url, "HUIKUAN_DATA_DIR": str(tmp_path), "HUIKUAN_FAST_HASHER": "1"}
    _cli(env, "migrate", "--verbosity", "0")
    _cli(env, "shell", "--no-imports", "-c", SEED.format(amount="100.00"))
    backup = tmp_path / ("b.sqlite3" if engine == "sqlite" else "b.dump")
    out = _cli(env, "backup", str(backup)).stdout
    assert "Backup written" in out and backup.stat().st_size > 0
    assert _cli(env, "backup", str(backup), check=False).returncode != 0  # never overwrites

    _cli(env, "shell", "--no-imports", "-c", SEED.format(amount="55.00"))
    assert _cli(env, "shell", "--no-imports", "-c", COUNT).stdout.split() == ["2", "155.00"]

    assert _cli(env, "restore", str(backup), check=False).returncode != 0  # needs --yes
    r = _cli(env, "restore", str(backup), "--yes")
    assert "Restored from" in r.stdout  # after check-ledger passed (it exits non-zero otherwise)
    assert _cli(env, "shell", "--no-imports", "-c", COUNT).stdout.split() == ["1", "100.00"]

    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"not a backup" * 100)
    assert _cli(env, "restore", str(junk), "--yes", check=False).returncode != 0
    assert _cli(env, "shell", "--no-imports", "-c", COUNT).stdout.split() == ["1", "100.00"]
