"""`huikuan backup` / `huikuan restore` on SQLite and PostgreSQL: a restore brings back exactly the backed-up
data and is verified by check-ledger; a file that is not a backup changes nothing."""

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
PG = os.environ.get("HUIKUAN_BACKUP_TEST_PG", "postgres://postgres@127.0.0.1:5432/postgres")

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


def _pg_database():
    if not shutil.which("pg_dump"):
        return None
    name = f"test_security_backup_{uuid.uuid4().hex[:8]}"
    base = PG.rsplit("/", 1)[0]
    r = subprocess.run(["psql", PG, "-c", f"CREATE DATABASE {name}"], capture_output=True, text=True)
    return (f"{base}/{name}", name) if r.returncode == 0 else None


@pytest.mark.parametrize("engine", ["sqlite", "postgresql"])
def test_backup_then_restore_brings_back_the_data_and_checks_the_ledger(tmp_path, engine):
    created = None
    if engine == "sqlite":
        url = f"sqlite:///{tmp_path / 'live.sqlite3'}"
    else:
        created = _pg_database()
        if created is None:
            pytest.skip("PostgreSQL is not reachable")
        url = created[0]
    env = {**os.environ, "DATABASE_URL": url, "HUIKUAN_DATA_DIR": str(tmp_path), "HUIKUAN_FAST_HASHER": "1"}
    try:
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
    finally:
        if created:
            subprocess.run(["psql", PG, "-c", f"DROP DATABASE IF EXISTS {created[1]} WITH (FORCE)"], capture_output=True)
