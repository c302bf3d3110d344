"""bench/pages.py — the cost of one logged-in page under wrk (issue #18, goal 1).

The floor: a bare Django hello-world (bench/_hello_site.py) under the same gunicorn command line as
the portal (sync workers, `-w 3` by default), measured with wrk before and after the pages; the
faster of the two runs is the floor, so a quiet moment never flatters a ratio. Then the portal
(DEBUG off, HOMEPORTAL_TESTING=1 for the mail/SMS stand-ins, its own PostgreSQL database
hp_bench_pages and Redis DB 11, every request with `X-Forwarded-Proto: https` as behind the TLS
proxy) on realistic data: an organization with its cabinet user, a contract, applications and
appeals with history steps, notifications. A session is made without the login form (a session
row, as `login()` leaves it) and each page of the table runs under
`wrk -c 50 -t 2 -d 10s` with its cookie.

Printed per page: req/s, × hello, × the anonymous login page of the same run, p50 and p95 latency
(wrk's Lua `done()`), responses other than 200 (counted in wrk's `response()`: a 302 to the login
page would be one) and transport errors, and the queries of one request (Django test client
in-process, after a warm-up request). The load average is printed at the start and the end.
Goal: every logged-in page ≥ 0.08 × hello and ≥ 0.6 × login, p95 ≤ 300 ms. Exits 1 when a page
answered anything but 200 (the goal itself is reported, not enforced: the machine is shared).

    .venv/bin/python bench/pages.py [--connections 50] [--threads 2] [--duration 10] [--workers 3]
        [--pages "guarantee list,notifications"]
    BENCH_QUICK=1 (`make bench`): --duration 5 unless given.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench._common import free_port, recreate_database, start_gunicorn, stop  # noqa: E402

DB_NAME = os.environ.get("BENCH_DB_NAME", "hp_bench_pages")
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/11")
WORK = Path(tempfile.mkdtemp(prefix="hp-bench-pages-"))

os.environ.update({
    "DATABASE_URL": f"{PG}/{DB_NAME}", "REDIS_URL": REDIS, "HOMEPORTAL_TESTING": "1", "DEBUG": "0",
    "STAGING_ALLOW_DEV_BACKENDS": "1", "SECRET_KEY": "bench-pages-" + "k" * 50,
    "DJANGO_SETTINGS_MODULE": "homeportal.settings", "PYTHONPATH": str(ROOT),
    "HOMEPORTAL_VAR_DIR": str(WORK / "var"),
})

# Each thread counts what was not a 200 (and the first such status); done() sums them and prints
# one JSON line. Latencies are in microseconds.
WRK_SCRIPT = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) bad = 0; first_bad = 0 end
function response(status, headers, body)
  if status ~= 200 then
    bad = bad + 1
    if first_bad == 0 then first_bad = status end
  end
end
function done(summary, latency, requests)
  local bad, first = 0, 0
  for _, t in ipairs(threads) do
    bad = bad + t:get("bad")
    if first == 0 then first = t:get("first_bad") end
  end
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests": %d, "duration_us": %d, "non200": %d, "first_bad": %d, ' ..
    '"socket_errors": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d}\\n', summary.requests, summary.duration, bad,
    first, e.connect + e.read + e.write + e.timeout, latency:percentile(50), latency:percentile(95),
    latency:percentile(99)))
end
"""

LOGGED_IN = ["guarantee list", "notifications", "appeal form", "appeals list", "appeal history", "wizard stage 1",
             "/healthz", "/livez"]


def prepare() -> dict:
    """Migrate; an organization with its user, contract, 30 applications (one with a filled stage 1),
    30 appeals (one draft «new appeal» and one with 12 history steps), 40 notifications; a session."""
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, check=True)
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.utils.module_loading import import_string

    from appeals import services as appeal_services
    from appeals.tests.factories import CategoryFactory
    from applications.tests.factories import ApplicationFactory, valid_tab_data
    from cabinets.backends import SESSION_BACKEND
    from cabinets.models import Notification
    from tests.factories import ContractFactory, OrganizationFactory, UserFactory

    org = OrganizationFactory()
    user = UserFactory(organization=org)
    developer = OrganizationFactory(kind="developer")
    contract = ContractFactory(organization=org, kind="guarantee", developer=developer)
    category = CategoryFactory(code="bench-term", contract_kind="guarantee")
    applications = [ApplicationFactory(organization=org, contract=contract,
                                       data=valid_tab_data(company_bin=org.bin)) for _ in range(30)]
    appeals = [appeal_services.appeal_create(organization=org, user=user, contract=contract, category=category)
               for _ in range(30)]
    busy = appeals[0]
    for i in range(11):  # «Сохранено» steps: each save with a change is one more history step
        appeal_services.appeal_update(appeal=busy, user=user, data={
            "change_subject": f"Срок ввода в эксплуатацию {i}", "value_from": "31.12.2025", "value_to": "30.06.2026",
            "justification": f"Перенос сроков поставки лифтов, шаг {i}"})
    Notification.objects.bulk_create([
        Notification(organization=org, title_ru=f"Уведомление {i}", title_kk=f"Хабарлама {i}",
                     body_ru="Текст уведомления", body_kk="Хабарлама мәтіні", read_at=None if i % 3 else busy.created_at)
        for i in range(40)])
    session = import_string(settings.SESSION_ENGINE + ".SessionStore")()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = SESSION_BACKEND  # what a cabinet login records
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    urls = {
        "login": "/login/",
        "guarantee list": "/applications/guarantee/",
        "notifications": "/notifications/",
        "appeal form": f"/appeals/{appeals[-1].public_id}/",
        "appeals list": "/appeals/",
        "appeal history": f"/appeals/{busy.public_id}/history/",
        "wizard stage 1": f"/applications/{applications[0].public_id}/stage/1/",
        "/healthz": "/healthz",
        "/livez": "/livez",
    }
    return {"cookie": f"{settings.SESSION_COOKIE_NAME}={session.session_key}", "urls": urls}


def count_queries(ctx: dict) -> dict[str, int]:
    """Queries of one request per page, in-process (the second request: the first one warms caches),
    and a check that the page is a 200 for this session (a redirect to the login page is not)."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    name, _, value = ctx["cookie"].partition("=")
    counts = {}
    for page, url in ctx["urls"].items():
        client = Client(HTTP_X_FORWARDED_PROTO="https")
        if page != "login":
            client.cookies[name] = value
        first = client.get(url)
        if first.status_code != 200:
            raise SystemExit(f"{page} {url}: HTTP {first.status_code} in-process ({first.get('Location', '')})")
        with CaptureQueriesContext(connection) as queries:
            client.get(url)
        counts[page] = len(queries)
    return counts


def wrk(port: int, url: str, args, cookie: str | None) -> dict:
    script = WORK / "report.lua"
    script.write_text(WRK_SCRIPT)
    command = ["wrk", "-c", str(args.connections), "-t", str(args.threads), "-d", f"{args.duration}s",
               "--timeout", "10s", "-s", str(script), "-H", "X-Forwarded-Proto: https"]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    out = subprocess.run([*command, f"http://127.0.0.1:{port}{url}"], capture_output=True, text=True, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("WRKJSON "))
    result = json.loads(line.removeprefix("WRKJSON "))
    result["rps"] = result["requests"] / (result["duration_us"] / 1e6)
    return result


def warm(port: int, url: str, cookie: str | None, times: int) -> None:
    """Every worker imports, compiles its templates and opens its connections before the timing."""
    import http.client

    headers = {"X-Forwarded-Proto": "https", **({"Cookie": cookie} if cookie else {})}
    for _ in range(times):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", url, headers=headers)
        conn.getresponse().read()
        conn.close()


def hello_floor(args) -> dict:
    port = free_port()
    server = start_gunicorn(ROOT, port, workers=args.workers, timeout=30, app="bench._hello_site:application",
                            stderr=(WORK / "hello.log").open("ab"))
    try:
        warm(port, "/", None, args.workers * 3)
        return wrk(port, "/", args, None)
    finally:
        stop(server)


def main() -> int:
    quick = bool(os.environ.get("BENCH_QUICK"))
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--duration", type=int, default=5 if quick else 10, help="seconds per page")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers (both servers)")
    parser.add_argument("--pages", default="", help="comma-separated subset of: " + ", ".join(LOGGED_IN))
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed: bash scripts/ensure_system.sh --bench", file=sys.stderr)
        return 2
    pages = ["login", *([p.strip() for p in args.pages.split(",") if p.strip()] or LOGGED_IN)]
    server = None
    try:
        recreate_database(PG, DB_NAME)
        subprocess.run(["redis-cli", "-u", REDIS, "FLUSHDB"], check=False, capture_output=True)
        ctx = prepare()
        ctx["urls"] = {page: ctx["urls"][page] for page in pages}
        queries = count_queries(ctx)
        load_start = os.getloadavg()
        hello = [hello_floor(args)]
        port = free_port()
        server = start_gunicorn(ROOT, port, workers=args.workers, timeout=30, stderr=(WORK / "server.log").open("wb"))
        results = {}
        for page in pages:
            cookie = None if page == "login" else ctx["cookie"]
            warm(port, ctx["urls"][page], cookie, args.workers * 3)
            results[page] = wrk(port, ctx["urls"][page], args, cookie)
        stop(server)
        server = None
        hello.append(hello_floor(args))
        load_end = os.getloadavg()
        floor = max(hello, key=lambda r: r["rps"])
        login = results["login"]["rps"]
        print(f"wrk -c {args.connections} -t {args.threads} -d {args.duration}s; gunicorn -w {args.workers} sync; "
              f"load average {load_start[0]:.2f} {load_start[1]:.2f} → {load_end[0]:.2f} {load_end[1]:.2f} "
              "(2 cores shared)")
        print(f"hello-world floor: {hello[0]['rps']:.0f} req/s before, {hello[1]['rps']:.0f} after "
              f"(p95 {floor['p95_us'] / 1000:.1f} ms); ratios against {floor['rps']:.0f}")
        print(f"{'page':<16} {'req/s':>8} {'× hello':>8} {'× login':>8} {'p50 ms':>8} {'p95 ms':>8} "
              f"{'non-200':>8} {'sock err':>8} {'queries':>8}  goal")
        failed = []
        for page in pages:
            r = results[page]
            ratio_hello, ratio_login = r["rps"] / floor["rps"], r["rps"] / login
            goal = ""
            if page != "login":
                met = ratio_hello >= 0.08 and ratio_login >= 0.6 and r["p95_us"] <= 300_000
                goal = "met" if met else "NOT met"
            bad = r["non200"] + r["socket_errors"]
            if bad:
                failed.append(f"{page}: {r['non200']} non-200 (first {r['first_bad']}), {r['socket_errors']} socket errors")
            print(f"{page:<16} {r['rps']:>8.1f} {ratio_hello:>8.3f} {ratio_login:>8.2f} {r['p50_us'] / 1000:>8.1f} "
                  f"{r['p95_us'] / 1000:>8.1f} {r['non200']:>8} {r['socket_errors']:>8} {queries[page]:>8}  {goal}")
        print("goal: logged-in pages ≥ 0.08 × hello and ≥ 0.6 × login, p95 ≤ 300 ms")
        for line in failed:
            print("  error:", line)
        if failed:
            log = (WORK / "server.log").read_text(errors="replace").splitlines()
            print("server log (last 20 lines):", *log[-20:], sep="\n  ")
        return 1 if failed else 0
    finally:
        if server is not None:
            stop(server)
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
