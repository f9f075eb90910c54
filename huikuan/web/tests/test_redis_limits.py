"""REDIS_URL puts the cache on Redis, so sign-in limits and API throttles hold across processes: failures
recorded by two separate processes add up in a third."""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
REDIS = os.environ.get("HUIKUAN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")

FAIL = """
from django.test import RequestFactory
from huikuan.accounts import ratelimit
ratelimit.record_failure(None, request=RequestFactory().post("/login/", REMOTE_ADDR="198.51.100.7"))
"""
COUNT = """
from django.conf import settings
from django.test import RequestFactory
from huikuan.accounts import ratelimit
print(settings.CACHES["default"]["BACKEND"].rsplit(".", 1)[-1], ratelimit.failures(RequestFactory().post("/login/", REMOTE_ADDR="198.51.100.7")))
"""


def test_sign_in_failures_add_up_across_processes_through_redis(tmp_path):
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url(REDIS).ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("Redis is not reachable")
    env = {**os.environ, "REDIS_URL": REDIS, "HUIKUAN_CACHE_PREFIX": f"test-{uuid.uuid4().hex}",
           "HUIKUAN_DATA_DIR": str(tmp_path), "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}

    def shell(code):
        r = subprocess.run([sys.executable, "manage.py", "shell", "--no-imports", "-c", code], cwd=ROOT, env=env,
                           capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    shell(FAIL)
    shell(FAIL)
    assert shell(COUNT) == "RedisCache 2"
