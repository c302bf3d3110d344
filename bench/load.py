"""bench/load.py — simulated users against the portal under gunicorn, driven by locust (issue #18, «Goals»).

Starts the portal under gunicorn (2 sync workers, DEBUG off) behind a pretend TLS proxy on its own
PostgreSQL database and Redis DB, with the NCA stand-in (TSA, OCSP: the trust step of a signature)
as its own process, and creates one company per simulated user: an organization, its head (a
cabinet user with a password), a guarantee contract, a guarantee application with a filled stage 1
and the head's own ЭЦП key (a SIGN certificate of the test PKI carrying the company's BIN and the
head's IIN). Then locust — run here as a library (locust.env.Environment, a local runner, one
FastHttpUser per simulated user, stats from env.stats) — runs every user for the duration. Each
user loops, with no think time (a worst case: each user is a busy browser):

    login page (GET) → BIN + password login (POST) → guarantee list → appeals list → notifications
    → wizard stage 1, tab «project» (GET) → save that tab (POST, action=save)
    → appeal: new (the contract + category form) → create (POST) → form (GET) → upload the letter
      → «Подписать заявку» (POST, action=sign: the consent modal) → consent (the signing modal)
      → ЭЦП panel → to-sign (POST: what to sign) → the CMS made here → sign submit (POST: only the
      CMS) → the appeal's history page shows the status «sent» → logout (POST)

The signature is made as the browser makes it (docs/signing.md, signing/tests/helpers.py): the key
never leaves the user's machine — this locust process — which asks the server what to sign and
sends back only the CMS. The key file is opened once per simulated user (as NCALayer keeps it
open), so the PKCS#12 decryption does not stall the other users' greenlets.

Alongside, one more user probes /livez (liveness, no dependencies) in the same run: the floor; it
is also timed alone before the run. Printed: requests and errors (any status other than the
expected one, a page without what the step needs, or a transport error), p50/p95 per step, each
step's p50 as a ratio to the floor's p50, req/s, the load average at the start and the end, and the
RSS (VmRSS) of each server process (gunicorn master and workers, the NCA stand-in) before and after
(goal: 0 errors, RSS growth ≤ 10 %). Exits 1 on any error or a growth over 10 %.

Each round carries its own X-Forwarded-For address (TRUSTED_PROXY_COUNT=1) and X-Forwarded-Proto
https, as users behind the TLS proxy would, so the per-IP login limit counts per user rather than



HOMEPORTAL_TESTING=1 keeps the mail/SMS stand-ins; it also selects the MD5 password hasher, so a
login here costs less than with production's PBKDF2.

    .venv/bin/python bench/load.py [--users 100] [--duration 300]
    BENCH_QUICK=1: 10 users × 15 s unless flags say otherwise.
"""

import argparse
import base64
import itertools
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# locust monkey-patches the standard library for gevent when it is imported: before anything
# opens a socket or starts a thread (Django, psycopg, the subprocesses below).
import gevent
from locust import FastHttpUser, constant, task
from locust.env import Environment

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench._common import free_port, proc_status, recreate_database, server_pids, start_gunicorn, stop  # noqa: E402

DB_NAME = os.environ.get("BENCH_DB_NAME", "hp_bench_load")
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
WORK = Path(tempfile.mkdtemp(prefix="hp-bench-load-"))
PASSWORD = "Bench-Passw0rd!"
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
NCA_PORT = free_port()

os.environ.update({
    "DATABASE_URL": f"{PG}/{DB_NAME}", "REDIS_URL": REDIS, "HOMEPORTAL_TESTING": "1", "DEBUG": "0",
    "STAGING_ALLOW_DEV_BACKENDS": "1", "SECRET_KEY": "bench-load-" + "k" * 50, "TRUSTED_PROXY_COUNT": "1",
    "DJANGO_SETTINGS_MODULE": "homeportal.settings", "PYTHONPATH": str(ROOT),
    "HOMEPORTAL_VAR_DIR": str(WORK / "var"),
    # the test PKI's certificates name the stand-in's OCSP/CRL addresses; the portal's TSA is there too
    "NCA_SERVICES_URL": f"http://127.0.0.1:{NCA_PORT}",
})
CSRF_RE = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
APPEAL_RE = re.compile(r"^/appeals/([0-9a-f-]{36})/$")
REQUEST_RE = re.compile(r'action="/signing/r/([0-9a-f-]{36})/"')
TO_SIGN_RE = re.compile(r'data-to-sign-url="([^"]+)" data-submit-url="([^"]+)"')
LETTER = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"  # the scan of the official letter
STEPS = ["login page", "login", "guarantee list", "appeals list", "notifications", "wizard tab", "wizard save",
         "appeal new", "appeal create", "appeal form", "appeal upload", "appeal sign", "appeal consent",
         "ecp panel", "to-sign", "sign submit", "appeal status", "logout", "floor /livez"]

PEOPLE: list[dict] = []
NEXT_PERSON = itertools.count()


def prepare(users: int) -> list[dict]:
    """Migrate, the test PKI, then per user: an organization, its head with a password and a SIGN key
    of the organization, a guarantee contract and a guarantee application."""
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, check=True)
    import django

    django.setup()
    from appeals.models import AppealCategory
    from applications.tests.factories import ApplicationFactory, valid_tab_data
    from signing import pki
    from tests.factories import ContractFactory, OrganizationFactory, UserFactory

    pki.ensure_pki()
    other = AppealCategory.objects.get(code="other")  # «Иное»: the text and the letter
    people = []
    for _ in range(users):
        org = OrganizationFactory()
        user = UserFactory(organization=org, surname="Нагрузов", name="Тест", patronymic="Бенчевич")
        user.set_password(PASSWORD)
        user.save()
        contract = ContractFactory(organization=org, kind="guarantee")
        app = ApplicationFactory(organization=org, data=valid_tab_data(company_bin=org.bin))
        head = pki.DemoPerson(f"bench_{org.bin}", "НАГРУЗОВ", "ТЕСТ", "БЕНЧЕВИЧ", user.iin, ("organization", "head"),
                              org.bin, org.name_ru)
        people.append({"bin": org.bin, "stage": f"/applications/{app.public_id}/stage/1/",
                       "project": valid_tab_data(company_bin=org.bin)["project"], "contract": contract.pk,
                       "category": other.pk, "p12": pki.issue_test_key(person=head), "key_password": pki.DEMO_PASSWORD})
    django.db.connections.close_all()
    return people


class Cabinet(FastHttpUser):
    """One company's head at their browser (and their ЭЦП key on their machine)."""

    wait_time = constant(0)
    network_timeout = connection_timeout = 120.0

    def on_start(self):
        from signing.certs import pkcs12_open

        self.index = next(NEXT_PERSON) % len(PEOPLE)
        self.person = PEOPLE[self.index]
        self.key = pkcs12_open(data=self.person["p12"], password=self.person["key_password"])
        self.origin = "https://" + self.host.split("://", 1)[1]
        self.round_no = 0
        self.ip = ""
        # The portal's cookies are Secure (DEBUG off, behind TLS): kept here and sent over plain HTTP as the
        # proxy would pass them on; the stdlib cookie jar locust's client uses would not send them.
        self.client.client.cookiejar = None
        self.cookies: dict[str, str] = {}

    def step(self, name: str, method: str, url: str, expect: int, *, need=None, headers=None, **kwargs):
        """One request, named `name` in the stats; a failure when the status is not `expect` or
        `need(response)` names a problem. Returns the response, or None on a failure."""
        sent = {"X-Forwarded-For": self.ip, "X-Forwarded-Proto": "https", "Referer": self.origin + url, **(headers or {})}
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        with self.client.request(method, url, name=name, headers=sent, allow_redirects=False, catch_response=True,
                                 **kwargs) as response:
            for line in (response.headers.getlist("set-cookie") if response.headers else []):
                cookie, _, value = line.split(";", 1)[0].partition("=")
                if value.strip('"') and "max-age=0" not in line.lower():
                    self.cookies[cookie.strip()] = value
                else:
                    self.cookies.pop(cookie.strip(), None)
            if response.status_code != expect:
                response.failure(f"HTTP {response.status_code}{' ' + repr(response.error) if response.error else ''}")
                return None
            problem = need(response) if need else None
            if problem:
                response.failure(problem)
                return None
            return response

    @task
    def round(self):
        self.round_no += 1
        self.ip = f"10.{self.index // 250}.{self.index % 250}.{self.round_no % 250 + 1}"
        self.cookies.clear()  # a new browser session each round
        person = self.person
        page = self.step("login page", "GET", "/login/?tab=bin", 200, need=lambda r: None if CSRF_RE.search(r.text) else "no CSRF token")
        if page is None:
            return
        token = CSRF_RE.search(page.text).group(1)
        login = {"csrfmiddlewaretoken": token, "tab": "bin", "bin": person["bin"], "password": PASSWORD}
        if self.step("login", "POST", "/login/", 302, data=login) is None:
            return
        for name, url in (("guarantee list", "/applications/guarantee/"), ("appeals list", "/appeals/"),
                          ("notifications", "/notifications/")):
            self.step(name, "GET", url, 200)
        tab = self.step("wizard tab", "GET", person["stage"] + "?tab=project", 200,
                        need=lambda r: None if CSRF_RE.search(r.text) else "no CSRF token")
        if tab is None:
            return
        token = CSRF_RE.search(tab.text).group(1)
        save = {**person["project"], "csrfmiddlewaretoken": token, "tab": "project", "action": "save"}
        self.step("wizard save", "POST", person["stage"], 302, data=save)
        self.appeal(token)
        self.step("logout", "POST", "/logout/", 302, data={"csrfmiddlewaretoken": token})

    def appeal(self, token: str) -> None:
        """A new appeal «Иное» with its letter, signed with the head's key as the page signs it."""
        from django.utils import timezone

        from signing.cms import cms_sign

        person = self.person
        form = self.step("appeal new", "GET", "/appeals/new/contract/?kind=guarantee", 200,
                         need=lambda r: None if f'value="{person["contract"]}"' in r.text else "the contract is not offered")
        if form is None:
            return
        created = self.step("appeal create", "POST", "/appeals/new/contract/", 302, data={
            "csrfmiddlewaretoken": token, "kind": "guarantee", "contract": person["contract"], "category": person["category"]},
            need=lambda r: None if APPEAL_RE.match(r.headers.get("Location", "")) else "no redirect to the appeal")
        if created is None:
            return
        url = created.headers["Location"]
        if self.step("appeal form", "GET", url, 200, need=lambda r: None if 'id="appeal-form"' in r.text else "no form") is None:
            return
        if self.step("appeal upload", "POST", url + "files/", 302, data={"csrfmiddlewaretoken": token, "slot": "letter"},
                     files={"file": ("letter.pdf", LETTER, "application/pdf")}) is None:
            return
        text = {"csrfmiddlewaretoken": token, "action": "sign", "other_text": "Прошу изменить срок ввода объекта (нагрузочный тест)."}
        if self.step("appeal sign", "POST", url, 200, data=text,
                     need=lambda r: None if 'id="consent-modal"' in r.text else "no consent modal") is None:
            return
        htmx = {"HX-Request": "true", "HX-Current-URL": self.origin + url}
        modal = self.step("appeal consent", "POST", url + "sign/", 200, headers=htmx,
                          data={"csrfmiddlewaretoken": token, "consent": "on"},
                          need=lambda r: None if REQUEST_RE.search(r.text) else "no signing modal")
        if modal is None:
            return
        request_url = f"/signing/r/{REQUEST_RE.search(modal.text).group(1)}/"
        panel = self.step("ecp panel", "POST", request_url, 200, headers=htmx,
                          data={"csrfmiddlewaretoken": token, "method": "ecp"},
                          need=lambda r: None if TO_SIGN_RE.search(r.text) else "no ЭЦП panel")
        if panel is None:
            return
        to_sign_url, submit_url = TO_SIGN_RE.search(panel.text).groups()
        # signing.js's fetch: the form's CSRF token in a header, JSON back
        xhr = {"X-CSRFToken": token, "X-Requested-With": "XMLHttpRequest", "Accept": "application/json"}
        contract = self.step("to-sign", "POST", to_sign_url, 200, headers=xhr, data={},
                             need=lambda r: None if r.json().get("ok") else f"refused: {r.text[:200]}")
        if contract is None:
            return
        contract = contract.json()
        data = base64.b64decode(contract["dataB64"])  # on the user's machine, as signing-keyfile.js does
        if contract.get("digested"):
            cms = cms_sign(digest=data, key=self.key, signing_time=timezone.now())
        else:
            cms = cms_sign(data=data, key=self.key, signing_time=timezone.now(), attached=bool(contract.get("attached")))
        done = self.step("sign submit", "POST", submit_url, 200, headers=xhr,
                         data={"cms": base64.b64encode(cms).decode(), "preparation": contract.get("preparation") or ""},
                         need=lambda r: None if r.json().get("ok") else f"refused: {r.text[:200]}")
        if done is None:
            return
        # the page the browser goes to shows the appeal sent (BPMS registers it later, through the outbox)
        self.step("appeal status", "GET", url + "history/", 200,
                  need=lambda r: None if 'status-sent" id="appeal-status"' in r.text else "the appeal is not «sent»")


class Floor(FastHttpUser):
    """/livez in the same run: what the server answers with no work behind it (queueing only)."""

    fixed_count = 1
    wait_time = constant(0.05)

    @task
    def livez(self):
        with self.client.get("/livez", name="floor /livez", headers={"X-Forwarded-Proto": "https"},
                             catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"HTTP {response.status_code}")


def run_locust(base: str, user_classes: list, users: int, duration: float, *, until=None,
               watch: dict | None = None) -> tuple[Environment, float, list]:
    """A headless locust run as a library: spawn `users` (all at once), run `duration` seconds (or
    until `until(env)` holds), stop. `watch` (pid → role): their RSS every tenth of the run, so a
    growth that levels off (allocator, caches) shows apart from one that goes on (a leak)."""
    env = Environment(user_classes=user_classes, host=base)
    runner = env.create_local_runner()
    runner.start(users, spawn_rate=max(users, 1))
    runner.spawning_greenlet.join()
    started = time.monotonic()
    trend, next_sample = [], 0.0
    while time.monotonic() - started < duration and not (until and until(env)):
        if watch and time.monotonic() - started >= next_sample:
            trend.append((time.monotonic() - started, {pid: proc_status(pid) for pid in watch}))
            next_sample += duration / 10
        gevent.sleep(0.2)
    runner.quit()
    if watch:
        trend.append((time.monotonic() - started, {pid: proc_status(pid) for pid in watch}))
    return env, time.monotonic() - started, trend


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (/proc/<pid>/stat), 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ms(entry, q: float) -> float:
    return entry.get_response_time_percentile(q) if entry.num_requests else 0.0


def start_nca() -> subprocess.Popen:
    from signing import pki

    proc = subprocess.Popen([sys.executable, "-m", "nca_services", "--port", str(NCA_PORT), "--pki-dir", str(pki.pki_dir())],
                            cwd=ROOT, start_new_session=True, stdout=(WORK / "nca.log").open("wb"), stderr=subprocess.STDOUT)
    import httpx

    for _ in range(200):
        try:
            if httpx.get(f"http://127.0.0.1:{NCA_PORT}/healthz", timeout=0.5).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.1)
    raise RuntimeError("the NCA stand-in did not start")


def main() -> int:
    quick = bool(os.environ.get("BENCH_QUICK"))
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=10 if quick else 100)
    parser.add_argument("--duration", type=float, default=15 if quick else 300, help="seconds")
    args = parser.parse_args()
    server = nca = None
    global NEXT_PERSON
    try:
        recreate_database(PG, DB_NAME)
        t0 = time.monotonic()
        PEOPLE[:] = prepare(args.users)
        print(f"prepared {args.users} companies (users, contracts, applications, ЭЦП keys) in {time.monotonic() - t0:.0f} s")
        nca = start_nca()
        port = free_port()
        server = start_gunicorn(ROOT, port, workers=WORKERS, timeout=120, stderr=(WORK / "server.log").open("wb"))
        base = f"http://127.0.0.1:{port}"
        # Warm-up until every step has run a few times on each worker (imports, templates, WeasyPrint's fonts,
        # pyHanko, connections): the RSS «before» is a warm process's, so what grows after it is the run's.
        warm, took, _ = run_locust(base, [Cabinet], min(WORKERS * 2, args.users), 120,
                                until=lambda env: env.stats.get("appeal status", "GET").num_requests >= WORKERS * 6)
        print(f"warm-up: {warm.stats.get('appeal status', 'GET').num_requests} appeals signed in {took:.0f} s, "
              f"errors {warm.stats.total.num_failures}")
        idle, _, _ = run_locust(base, [Floor], 1, 3)  # the floor with nobody else on the server
        pids = {pid: ("gunicorn master" if pid == server.pid else "gunicorn worker") for pid in server_pids(server)}
        pids[nca.pid] = "NCA stand-in"
        before = {pid: proc_status(pid) for pid in pids}
        cpu_before = {pid: cpu_seconds(pid) for pid in [*pids, os.getpid()]}
        load_before = os.getloadavg()
        NEXT_PERSON = itertools.count()  # each simulated user its own company
        env, elapsed, trend = run_locust(base, [Cabinet, Floor], args.users + 1, args.duration, watch=pids)
        load_after = os.getloadavg()
        after = {pid: proc_status(pid) for pid in pids}
        cpu = {pid: cpu_seconds(pid) - cpu_before[pid] for pid in cpu_before}
        stats = env.stats
        total, errors = stats.total.num_requests, stats.total.num_failures
        floor = stats.get("floor /livez", "GET")
        floor_p50 = ms(floor, 0.5)
        print(f"{args.users} users × {args.duration:.0f} s (locust, FastHttpUser, no think time), gunicorn {WORKERS} "
              f"sync workers; load average (1/5/15 min) {'/'.join(f'{x:.1f}' for x in load_before)} → "
              f"{'/'.join(f'{x:.1f}' for x in load_after)} (2 cores shared)")
        print(f"requests: {total} in {elapsed:.0f} s ({total / elapsed:.1f}/s); errors: {errors}")
        print(f"floor /livez alone before the run: p50 {ms(idle.stats.get('floor /livez', 'GET'), 0.5):.1f} ms")
        print(f"{'step':<16} {'count':>6} {'errors':>6} {'p50 ms':>8} {'p95 ms':>8} {'p50/floor':>10}")
        by_name = {}
        for entry in stats.entries.values():
            by_name.setdefault(entry.name, []).append(entry)
        for name in STEPS + sorted(set(by_name) - set(STEPS)):
            for entry in by_name.get(name, []):
                ratio = f"{ms(entry, 0.5) / floor_p50:>9.1f}x" if floor_p50 else "-"
                print(f"{name:<16} {entry.num_requests:>6} {entry.num_failures:>6} {ms(entry, 0.5):>8.0f} "
                      f"{ms(entry, 0.95):>8.0f} {ratio:>10}")
        signed = by_name.get("appeal status", [])
        print(f"appeals signed and sent: {sum(e.num_requests - e.num_failures for e in signed)}")
        grown = False
        for pid, role in pids.items():
            growth = (after[pid] - before[pid]) / before[pid] if before[pid] else 0
            grown = grown or growth > 0.10 or not after[pid]
            print(f"RSS {role} {pid}: {before[pid] / 2**20:.1f} MB → {after[pid] / 2**20:.1f} MB "
                  f"({growth:+.1%}, goal ≤ +10 %)")
        print("RSS over the run (MB):", "  ".join(f"{t:.0f} s: " + "/".join(f"{rss[pid] / 2**20:.0f}" for pid in pids)
                                                for t, rss in trend))
        print(f"(the locust process itself: {proc_status(os.getpid()) / 2**20:.1f} MB)")
        # who used the 2 cores during the run: the rest of the load average is the machine's other tenants
        print(f"CPU seconds in the {elapsed:.0f} s run: " + ", ".join(
            f"{pids.get(pid, 'locust (the users)')} {pid} {cpu[pid]:.0f} s" for pid in cpu))
        for err in list(stats.errors.values())[:10]:
            print(f"  error: {err.name}: {err.error} ×{err.occurrences}")
        if errors:
            log = (WORK / "server.log").read_text(errors="replace").splitlines()
            print("server log (last 20 warnings):", *[line for line in log if "WARNING" in line or "ERROR" in line][-20:], sep="\n  ")
        ok = errors == 0 and not grown
        print("RESULT:", "PASS" if ok else "FAIL")
        return 0 if ok else 1
    finally:
        if server is not None:
            stop(server)
        if nca is not None:
            stop(nca)
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
