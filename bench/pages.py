"""bench/pages.py — the cost of one logged-in page under wrk (issue #18, goal 1).

The floor: a bare Django hello-world (bench/_hello_site.py) under the same gunicorn command line as
the portal (sync workers, `-w 3` by default). The portal runs beside it (DEBUG off,
HOMEPORTAL_TESTING=1 for the mail/SMS stand-ins, its own PostgreSQL database hp_bench_pages and
Redis DB 11, every request with `X-Forwarded-Proto: https` as behind the TLS proxy) on realistic
data: an organization with its cabinet user, a contract, applications and appeals with history
steps, notifications. A session is made without the login form (a session row, as `login()` leaves
it). Each round runs `wrk -c 50 -t 2 -d 5s` against the floor, the anonymous login page and every
page of the table with the session's cookie, one after the other: the machine is shared and its
load moves within a run, so each ratio is taken within a round and the median over the rounds is
printed.

Three runs of every page per round, printed as three tables: 1. production settings (the page
cache on: the session views the page again and nothing is written meanwhile, so it is served from
the cache), 2. the page cache off (a third gunicorn with PAGE_CACHE_SECONDS=0: every request
renders), 3. the page cache on while another organization's application, appeal and notification
are written `--writes` times a second in turn (the hit rate that remains).
Printed per page: req/s, × hello, × login, p50 and p95 latency (wrk's Lua `done()`), the share of
responses served by the page cache (its `X-Page-Cache: hit` header), responses
other than 200 (counted in wrk's `response()`: a 302 to the login page would be one) and transport
errors, the queries of one request and its time in-process (Django test client, one core, no
queueing: the page's own cost, steadier than req/s under other load) with login's time over it.
The load average is printed at the start and the end.
Goal: every logged-in page ≥ 0.08 × hello and ≥ 0.6 × login, p95 ≤ 300 ms. Exits 1 when a page
answered anything but 200 (the goal itself is reported, not enforced: the machine is shared).

    .venv/bin/python bench/pages.py [--connections 50] [--threads 2] [--duration 5] [--rounds 3]
        [--workers 3] [--pages "guarantee list,notifications"] [--writes 50]
    BENCH_QUICK=1: 1 round of 3 s unless given.
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
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
    "HEALTHZ_CACHE_SECONDS": "5",  # production's default (HOMEPORTAL_TESTING alone would make it 0)
    "PAGE_CACHE_PREFIX": "pc-bench",
})

# Each thread counts what was not a 200 (and the first such status); done() sums them and prints
# one JSON line. Latencies are in microseconds.
WRK_SCRIPT = """
local threads = {}
function setup(thread) table.insert(threads, thread) end
function init(args) bad = 0; first_bad = 0; hits = 0 end
function response(status, headers, body)
  if headers["X-Page-Cache"] == "hit" then hits = hits + 1 end
  if status ~= 200 then
    bad = bad + 1
    if first_bad == 0 then first_bad = status end
  end
end
function done(summary, latency, requests)
  local bad, first, hits = 0, 0, 0
  for _, t in ipairs(threads) do
    bad = bad + t:get("bad")
    hits = hits + t:get("hits")
    if first == 0 then first = t:get("first_bad") end
  end
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests": %d, "duration_us": %d, "non200": %d, "first_bad": %d, ' ..
    '"socket_errors": %d, "p50_us": %d, "p95_us": %d, "p99_us": %d, "hits": %d}\\n', summary.requests,
    summary.duration, bad, first, e.connect + e.read + e.write + e.timeout, latency:percentile(50),
    latency:percentile(95), latency:percentile(99), hits))
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
    # What the writer of the "with writes" run changes: another organization's rows, in the tables
    # these pages read (as the BPMS feed and other users do all day).
    other = OrganizationFactory()
    other_contract = ContractFactory(organization=other, kind="guarantee", developer=developer)
    writes = {
        "application": ApplicationFactory(organization=other, contract=other_contract).pk,
        "appeal": appeal_services.appeal_create(organization=other, user=UserFactory(organization=other),
                                                contract=other_contract, category=category).pk,
        "notification": Notification.objects.create(organization=other, title_ru="Чужое", title_kk="Бөтен").pk,
    }
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
    return {"cookie": f"{settings.SESSION_COOKIE_NAME}={session.session_key}", "urls": urls, "writes": writes}


def count_queries(ctx: dict, *, page_cache: bool) -> tuple[dict[str, int], dict[str, float]]:
    """Per page, in-process: the queries of one request (the second: the first one warms caches), the
    median time of one request (ms; the work of one page on one core, whatever wrk sees), and a check
    that the page is a 200 for this session (a redirect to the login page is not). `page_cache`
    False: every request renders (PAGE_CACHE_SECONDS=0)."""
    from django.test.utils import override_settings

    with override_settings(**({} if page_cache else {"PAGE_CACHE_SECONDS": 0})):
        return _count_queries(ctx)


def _count_queries(ctx: dict) -> tuple[dict[str, int], dict[str, float]]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    name, _, value = ctx["cookie"].partition("=")
    counts, cpu_ms = {}, {}
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
        times = []
        for _ in range(30):
            t0 = time.perf_counter()
            client.get(url)
            times.append(time.perf_counter() - t0)
        cpu_ms[page] = statistics.median(times) * 1000
    return counts, cpu_ms


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


def median(values):
    return statistics.median(values) if values else 0.0


class Writer:
    """Writes another organization's rows at `per_second` (an application, an appeal, a notification
    in turn) through the ORM, as the BPMS feed and other users do: each bumps its table's version."""

    def __init__(self, writes: dict, per_second: float):
        import threading

        self.writes, self.interval, self.count = writes, 1.0 / per_second, 0
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self):
        from django.db import connection
        from django.utils import timezone

        from appeals.models import Appeal
        from applications.models import Application
        from cabinets.models import Notification

        targets = [
            lambda n: Application.objects.filter(pk=self.writes["application"]).update(updated_at=timezone.now()),
            lambda n: Appeal.objects.filter(pk=self.writes["appeal"]).update(updated_at=timezone.now()),
            lambda n: Notification.objects.filter(pk=self.writes["notification"]).update(title_ru=f"Чужое {n}"),
        ]
        next_at = time.perf_counter()
        while not self.stopping.is_set():
            targets[self.count % len(targets)](self.count)
            self.count += 1
            next_at += self.interval
            self.stopping.wait(max(0.0, next_at - time.perf_counter()))
        connection.close()

    def __enter__(self):
        self.started = time.perf_counter()
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stopping.set()
        self.thread.join()
        self.rate = self.count / (time.perf_counter() - self.started)


def print_table(title: str, pages: list[str], rounds: list[dict], name: str, queries: dict, cpu_ms: dict,
                failed: list[str]) -> None:
    print(f"\n{title}")
    print(f"{'page':<16} {'req/s':>8} {'× hello':>8} {'× login':>8} {'p50 ms':>8} {'p95 ms':>8} {'hits':>6} "
          f"{'non-200':>8} {'sock err':>8} {'queries':>8} {'cpu ms':>7} {'cpu × login':>11}  goal")
    for page in pages:
        runs = [r[name][page] if page != "login" else r["login"] for r in rounds]
        rps = median([r["rps"] for r in runs])
        ratio_hello = median([(r[name][page] if page != "login" else r["login"])["rps"] / r["hello"]["rps"]
                              for r in rounds])
        ratio_login = median([(r[name][page] if page != "login" else r["login"])["rps"] / r["login"]["rps"]
                              for r in rounds])
        p50, p95 = median([r["p50_us"] for r in runs]) / 1000, median([r["p95_us"] for r in runs]) / 1000
        non200, sock = sum(r["non200"] for r in runs), sum(r["socket_errors"] for r in runs)
        hits = 100 * sum(r["hits"] for r in runs) / max(1, sum(r["requests"] for r in runs))
        goal = ""
        if page != "login":
            goal = "met" if ratio_hello >= 0.08 and ratio_login >= 0.6 and p95 <= 300 else "NOT met"
        if non200 or sock:
            first = next(r["first_bad"] for r in runs if r["first_bad"] or r["socket_errors"])
            failed.append(f"{title} {page}: {non200} non-200 (first {first}), {sock} socket errors")
        cpu = f"{cpu_ms[page]:>7.2f} {cpu_ms['login'] / cpu_ms[page]:>11.2f}" if page in cpu_ms else f"{'':>7} {'':>11}"
        print(f"{page:<16} {rps:>8.1f} {ratio_hello:>8.3f} {ratio_login:>8.2f} {p50:>8.1f} {p95:>8.1f} {hits:>5.0f}% "
              f"{non200:>8} {sock:>8} {queries.get(page, ''):>8} {cpu}  {goal}")


def main() -> int:
    quick = bool(os.environ.get("BENCH_QUICK"))
    parser = argparse.ArgumentParser()
    parser.add_argument("--connections", type=int, default=50)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--duration", type=int, default=3 if quick else 5, help="seconds per page and round")
    parser.add_argument("--rounds", type=int, default=1 if quick else 3,
                        help="each round measures hello, login and every page once; ratios are per round, then the median")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn sync workers (both servers)")
    parser.add_argument("--pages", default="", help="comma-separated subset of: " + ", ".join(LOGGED_IN))
    parser.add_argument("--writes", type=float, default=50.0,
                        help="writes per second to other organizations' rows during the third run (0: no such run)")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed: bash scripts/ensure_system.sh --bench", file=sys.stderr)
        return 2
    pages = ["login", *([p.strip() for p in args.pages.split(",") if p.strip()] or LOGGED_IN)]
    servers = []
    try:
        recreate_database(PG, DB_NAME)
        subprocess.run(["redis-cli", "-u", REDIS, "FLUSHDB"], check=False, capture_output=True)
        ctx = prepare()
        ctx["urls"] = {page: ctx["urls"][page] for page in pages}
        queries, cpu_ms = count_queries(ctx, page_cache=True)
        render_queries, render_cpu_ms = count_queries(ctx, page_cache=False)
        # The servers stay up (an idle one costs nothing); each round measures the floor, the login
        # page and every page within seconds of each other, so the other work on the machine moves
        # them together and the ratios of one round compare like with like. "cached": production's
        # settings; "render": the same with the page cache off, every request renders.
        hello_port, port, render_port = free_port(), free_port(), free_port()
        servers.append(start_gunicorn(ROOT, hello_port, workers=args.workers, timeout=30,
                                      app="bench._hello_site:application", stderr=(WORK / "hello.log").open("wb")))
        servers.append(start_gunicorn(ROOT, port, workers=args.workers, timeout=30,
                                      stderr=(WORK / "server.log").open("wb")))
        servers.append(start_gunicorn(ROOT, render_port, workers=args.workers, timeout=30,
                                      stderr=(WORK / "render.log").open("wb"),
                                      env={**os.environ, "PAGE_CACHE_SECONDS": "0"}))
        warm(hello_port, "/", None, args.workers * 3)
        for page in pages:
            for p in (port, render_port):
                warm(p, ctx["urls"][page], None if page == "login" else ctx["cookie"], args.workers * 3)
        logged_in = [p for p in pages if p != "login"]
        load_start = os.getloadavg()
        rounds, write_rates = [], []
        for _ in range(args.rounds):
            one = {"hello": wrk(hello_port, "/", args, None), "login": wrk(port, ctx["urls"]["login"], args, None),
                   "cached": {}, "render": {}, "writes": {}}
            for page in logged_in:
                one["cached"][page] = wrk(port, ctx["urls"][page], args, ctx["cookie"])
                one["render"][page] = wrk(render_port, ctx["urls"][page], args, ctx["cookie"])
                if args.writes > 0:
                    with Writer(ctx["writes"], args.writes) as writer:
                        one["writes"][page] = wrk(port, ctx["urls"][page], args, ctx["cookie"])
                    write_rates.append(writer.rate)
            rounds.append(one)
        load_end = os.getloadavg()
        print(f"wrk -c {args.connections} -t {args.threads} -d {args.duration}s × {args.rounds} rounds; "
              f"gunicorn -w {args.workers} sync; load average {load_start[0]:.2f} {load_start[1]:.2f} → "
              f"{load_end[0]:.2f} {load_end[1]:.2f} (2 cores shared)")
        print("hello-world floor per round: " + ", ".join(f"{r['hello']['rps']:.0f}" for r in rounds) + " req/s")
        print("req/s, p50, p95: medians over the rounds; × hello, × login: the median of each round's ratio; hits: "
              "responses served by the page cache. cpu ms: one request in-process (median of 30), "
              "cpu × login: login's / the page's.")
        failed = []
        print_table("1. production settings (page cache on; the same session views the page again, nothing "
                    "written meanwhile)", pages, rounds, "cached", queries, cpu_ms, failed)
        print_table("2. page cache off (PAGE_CACHE_SECONDS=0): every request renders", pages, rounds, "render",
                    render_queries, render_cpu_ms, failed)
        if args.writes > 0:
            print_table(f"3. page cache on, while another organization's application, appeal and notification "
                        f"are written {median(write_rates):.0f} times a second in turn", pages, rounds, "writes",
                        {}, {}, failed)
        print("goal: logged-in pages ≥ 0.08 × hello and ≥ 0.6 × login, p95 ≤ 300 ms")
        for line in failed:
            print("  error:", line)
        if failed:
            log = (WORK / "server.log").read_text(errors="replace").splitlines()
            print("server log (last 20 lines):", *log[-20:], sep="\n  ")
        return 1 if failed else 0
    finally:
        for server in servers:
            stop(server)
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
