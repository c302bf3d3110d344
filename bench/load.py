"""bench/load.py — simulated users against the portal under gunicorn (issue #18, «Goals»).

Starts the portal under gunicorn (2 sync workers, DEBUG off) on its own PostgreSQL database and
Redis DB, creates one company (organization, cabinet user with a password, a guarantee application
with a filled stage 1) per simulated user, then runs every user as an asyncio task over httpx's
async client for the duration. Each user loops:

    login page (GET) → BIN + password login (POST) → guarantee list → appeals list → notifications
    → wizard stage 1, tab «project» (GET) → save that tab (POST, action=save) → logout (POST)

with no think time (a worst case: each user is a busy browser). Alongside, one more task probes
/livez (liveness, no dependencies) in the same run: the floor. Printed: requests and errors (any
status other than the expected one, or a transport error), p50/p95 per step, each step's p50 as a
ratio to the floor's p50, and the RSS of each server process (master and workers) before and after
(goal: 0 errors, RSS growth ≤ 10 %). Signing an appeal is not part of the loop: the signature is
made in the browser now (docs/signing.md), the server side of it is bench/signing_costs.py.

Each login carries its own X-Forwarded-For address (TRUSTED_PROXY_COUNT=1), as 100 users behind
a proxy would, so the per-IP login limit counts per user rather than refusing the bench.
HOMEPORTAL_TESTING=1 keeps the mail/SMS stand-ins; it also selects the MD5 password hasher, so a
login here costs less than with production's PBKDF2.

    .venv/bin/python bench/load.py [--users 100] [--duration 300]
    BENCH_QUICK=1 (or `make bench`): 10 users × 15 s unless flags say otherwise.
"""

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench._common import free_port, proc_status, recreate_database, server_pids, start_gunicorn, stop  # noqa: E402

DB_NAME = os.environ.get("BENCH_DB_NAME", "hp_bench_load")
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
WORK = Path(tempfile.mkdtemp(prefix="hp-bench-load-"))
PASSWORD = "Bench-Passw0rd!"
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))

os.environ.update({
    "DATABASE_URL": f"{PG}/{DB_NAME}", "REDIS_URL": REDIS, "HOMEPORTAL_TESTING": "1", "DEBUG": "0",
    "STAGING_ALLOW_DEV_BACKENDS": "1", "SECRET_KEY": "bench-load-" + "k" * 50, "TRUSTED_PROXY_COUNT": "1",
    "DJANGO_SETTINGS_MODULE": "homeportal.settings", "PYTHONPATH": str(ROOT),
    "HOMEPORTAL_VAR_DIR": str(WORK / "var"),
})
CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')








def prepare(users: int) -> list[dict]:
    """Migrate, then per user: an organization, its cabinet user and a guarantee application."""
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, check=True)
    import django

    django.setup()
    from applications.tests.factories import ApplicationFactory, valid_tab_data
    from tests.factories import ContractFactory, OrganizationFactory, UserFactory

    people = []
    for _ in range(users):
        org = OrganizationFactory()
        user = UserFactory(organization=org)
        user.set_password(PASSWORD)
        user.save()
        ContractFactory(organization=org, kind="guarantee")
        app = ApplicationFactory(organization=org, data=valid_tab_data(company_bin=org.bin))
        people.append({"bin": org.bin, "stage": f"/applications/{app.public_id}/stage/1/",
                       "project": valid_tab_data(company_bin=org.bin)["project"]})
    return people






class Stats:
    def __init__(self):
        self.times = defaultdict(list)
        self.errors = defaultdict(int)
        self.samples: list[str] = []

    def note_error(self, step: str, what: str) -> None:
        self.errors[step] += 1
        if len(self.samples) < 10:
            self.samples.append(f"{step}: {what}")


class Browser:
    """One user's httpx client behind the TLS proxy: X-Forwarded-Proto https and the Secure cookies
    (the portal sets them with DEBUG off) kept here, since httpx would not send them over http."""

    def __init__(self, client, ip: str):
        self.client, self.ip, self.cookies = client, ip, {}

    async def send(self, method: str, url: str, **kwargs):
        origin = "https://" + self.client.base_url.netloc.decode()
        headers = {"X-Forwarded-For": self.ip, "X-Forwarded-Proto": "https", "Referer": origin + url}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        response = await self.client.request(method, url, headers=headers, **kwargs)
        for line in response.headers.get_list("set-cookie"):
            name, _, value = line.split(";", 1)[0].partition("=")
            if value.strip('"') and "max-age=0" not in line.lower():
                self.cookies[name.strip()] = value
            else:
                self.cookies.pop(name.strip(), None)
        return response


async def timed(stats: Stats, step: str, call, expect: int):
    t0 = time.perf_counter()
    try:
        response = await call
    except Exception as exc:  # noqa: BLE001 — transport errors count as errors
        stats.note_error(step, repr(exc))
        return None
    stats.times[step].append(time.perf_counter() - t0)
    if response.status_code != expect:
        stats.note_error(step, f"HTTP {response.status_code}")
        return None
    return response


async def user_loop(httpx, base: str, person: dict, index: int, deadline: float, stats: Stats) -> None:
    round_no = 0
    while time.monotonic() < deadline:
        round_no += 1
        ip = f"10.{index // 250}.{index % 250}.{round_no % 250 + 1}"
        async with httpx.AsyncClient(base_url=base, timeout=60) as http:
            client = Browser(http, ip)
            page = await timed(stats, "login page", client.send("GET", "/login/?tab=bin"), 200)
            if page is None or not (token := CSRF_RE.search(page.text)):
                continue
            login = {"csrfmiddlewaretoken": token.group(1), "tab": "bin", "bin": person["bin"], "password": PASSWORD}
            if await timed(stats, "login", client.send("POST", "/login/", data=login), 302) is None:
                continue
            for step, url in (("guarantee list", "/applications/guarantee/"), ("appeals list", "/appeals/"),
                              ("notifications", "/notifications/")):
                await timed(stats, step, client.send("GET", url), 200)
            tab = await timed(stats, "wizard tab", client.send("GET", person["stage"] + "?tab=project"), 200)
            if tab is None or not (token := CSRF_RE.search(tab.text)):
                continue
            save = {**person["project"], "csrfmiddlewaretoken": token.group(1), "tab": "project", "action": "save"}
            await timed(stats, "wizard save", client.send("POST", person["stage"], data=save), 302)
            await timed(stats, "logout", client.send("POST", "/logout/", data={"csrfmiddlewaretoken": token.group(1)}), 302)


async def floor_loop(httpx, base: str, deadline: float, stats: Stats) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=60) as http:
        client = Browser(http, "10.255.0.1")
        while time.monotonic() < deadline:
            await timed(stats, "floor /livez", client.send("GET", "/livez"), 200)
            await asyncio.sleep(0.05)


async def run(base: str, people: list[dict], duration: float, stats: Stats) -> None:
    import httpx

    deadline = time.monotonic() + duration
    tasks = [user_loop(httpx, base, person, i, deadline, stats) for i, person in enumerate(people)]
    await asyncio.gather(floor_loop(httpx, base, deadline, stats), *tasks)


def pct(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def main() -> int:
    quick = bool(os.environ.get("BENCH_QUICK"))
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=10 if quick else 100)
    parser.add_argument("--duration", type=float, default=15 if quick else 300, help="seconds")
    args = parser.parse_args()
    server = None
    try:
        recreate_database(PG, DB_NAME)
        people = prepare(args.users)
        port = free_port()
        server = start_gunicorn(ROOT, port, workers=WORKERS, timeout=120, stderr=(WORK / "server.log").open("wb"))
        base = f"http://127.0.0.1:{port}"
        warm = Stats()
        asyncio.run(run(base, people[:WORKERS * 2], 3, warm))  # imports, templates, connections
        idle = Stats()  # the floor with nobody else on the server: what queueing adds shows against it
        asyncio.run(floor_loop(__import__("httpx"), base, time.monotonic() + 3, idle))
        pids = server_pids(server)
        before = {pid: proc_status(pid) for pid in pids}
        load_before = os.getloadavg()[0]
        stats = Stats()
        started = time.monotonic()
        asyncio.run(run(base, people, args.duration, stats))
        elapsed = time.monotonic() - started
        after = {pid: proc_status(pid) for pid in pids}
        total = sum(len(v) for v in stats.times.values()) + sum(stats.errors.values())
        errors = sum(stats.errors.values())
        floor = statistics.median(stats.times["floor /livez"]) if stats.times["floor /livez"] else 0
        print(f"{args.users} users × {args.duration:.0f} s, gunicorn {WORKERS} sync workers; "
              f"load average {load_before:.1f} → {os.getloadavg()[0]:.1f} (2 cores shared)")
        print(f"requests: {total} in {elapsed:.0f} s ({total / elapsed:.1f}/s); errors: {errors}")
        idle_p50 = statistics.median(idle.times["floor /livez"]) if idle.times["floor /livez"] else 0
        print(f"floor /livez alone before the run: p50 {idle_p50 * 1000:.1f} ms")
        print(f"{'step':<16} {'count':>6} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} {'p50/floor':>10}")
        order = ["login page", "login", "guarantee list", "appeals list", "notifications", "wizard tab",
                 "wizard save", "logout", "floor /livez"]
        for step in order:
            values = stats.times.get(step, [])
            p50 = statistics.median(values) if values else 0
            ratio = f"{p50 / floor:>9.1f}x" if floor else "-"
            print(f"{step:<16} {len(values):>6} {stats.errors.get(step, 0):>6} {p50 * 1000:>8.1f} "
                  f"{pct(values, 95) * 1000:>8.1f} {ratio:>10}")
        grown = False
        for pid in pids:
            role = "master" if pid == server.pid else "worker"
            growth = (after[pid] - before[pid]) / before[pid] if before[pid] else 0
            grown = grown or growth > 0.10
            print(f"RSS {role} {pid}: {before[pid] / 2**20:.1f} MB → {after[pid] / 2**20:.1f} MB ({growth:+.1%}, goal ≤ +10 %)")
        for sample in stats.samples:
            print("  error:", sample)
        if errors:
            log = (WORK / "server.log").read_text(errors="replace").splitlines()
            print("server log (last 20 warnings):", *[line for line in log if "WARNING" in line or "ERROR" in line][-20:], sep="\n  ")
        ok = errors == 0 and not grown
        print("RESULT:", "PASS" if ok else "FAIL")
        return 0 if ok else 1
    finally:
        if server is not None:
            stop(server)
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
