"""`make run` without any service (SQLite, no Redis) is how a newcomer first sees the portal: the
demo data loads and every page of every demo user answers 200 there, in ru and kk. The suite
itself runs on PostgreSQL, so a query SQLite refuses would otherwise only show in the demo (a
UNION of LIMITed parts did: «LIMIT/OFFSET not allowed in subqueries of compound statements»)."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_demo_on_sqlite_answers_every_page(tmp_path):
    env = {k: v for k, v in os.environ.items()
           if k not in ("DATABASE_URL", "REDIS_URL", "TEST_DATABASE_NAME", "TEST_REDIS_URL", "HOMEPORTAL_TESTING")}
    env.update(HOMEPORTAL_VAR_DIR=str(tmp_path), DEBUG="True", DJANGO_SETTINGS_MODULE="homeportal.settings",
               NCA_SERVICES_URL="http://127.0.0.1:9/", PYTHONPATH=str(ROOT))
    for command in (["migrate", "--noinput", "-v", "0"], ["seed_demo", "-v", "0"]):
        subprocess.run([sys.executable, "manage.py", *command], cwd=ROOT, env=env, check=True, timeout=600,  # noqa: S603
                       capture_output=True)
    assert (tmp_path / "homeportal.sqlite3").exists()
    walked = subprocess.run([sys.executable, str(ROOT / "tests/sqlite_demo/walk.py")], cwd=ROOT, env=env,  # noqa: S603
                            capture_output=True, text=True, timeout=600)
    assert "PAGES-WALKED" in walked.stdout, walked.stderr[-3000:]
    failures = [line for line in walked.stdout.splitlines() if line.startswith("FAIL")]
    assert failures == [], "\n".join(failures) + walked.stderr[-3000:]
    assert int(walked.stdout.split("PAGES-WALKED", 1)[1].split()[0]) > 50  # every demo user's pages, ru + kk
