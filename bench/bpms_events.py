"""bench/bpms_events.py — BPMS status events into the portal.

1. Throughput: 10 000 events in the mock's feed, applied by `feed_pull` in one process
   (HTTP feed pages of 1000 + per-event transaction with the row lock and the AppliedEvent).
2. Lag with a real Celery worker and beat running (beat pulls the feed every
   BPMS_FEED_PULL_SECONDS, 1 s here): 10 000 events emitted at a steady rate; lag = the
   AppliedEvent's time (the cabinet's status committed) − the event's occurred_at in the mock.
3. Webhook path: the mock posts signed webhooks to the portal (gunicorn) — 1 000 events.

4. Real domains: status events for real appeals and guarantee applications (registered →
   in_review → approved, with the payload each status requires) applied by `feed_pull` through
   appeals.services / applications.services (workflow, history, notifications) — goal ≥ 1 000
   events/s; a repeated pull applies nothing twice. The floor of the same run: as many events
   for the stand-in kind below (the bridge's own cost), printed as a ratio.
5. Events with documents: applications approved one by one at --doc-rate per second (the feed
   pulled after each) with two Celery worker processes running: the status is committed by the
   pull, the pledge agreement rendered by a worker; p50/p95 of status commit → document (goal
   p95 ≤ 5 s).

Phases 1–3 use a stand-in case kind (`apply_event` below only reads the case row): the bridge's
own cost — HTTP, parsing, locking, idempotency bookkeeping.
Uses its own PostgreSQL database (hp_bench_bpms, recreated) and Redis DB 12.

    .venv/bin/python bench/bpms_events.py [--events 10000] [--rate 50] [--webhook-events 1000] [--skip-webhook]
                                          [--real-events 10000] [--only-real] [--only-webhook] [--doc-events 40]
                                          [--doc-rate 2]
"""

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench._common import recreate_database  # noqa: E402

DB_NAME = os.environ.get("BENCH_DB_NAME", "hp_bench_bpms")
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")



def configure_env() -> None:
    """The bench's own database/Redis for this process and the worker/beat/gunicorn it starts
    (not done at import: the worker imports this module for `apply_event`)."""
    os.environ.update({
        "DATABASE_URL": f"{PG}/{DB_NAME}", "REDIS_URL": REDIS, "HOMEPORTAL_TESTING": "1", "DEBUG": "1",
        "DJANGO_SETTINGS_MODULE": "homeportal.settings", "BPMS_FEED_PULL_SECONDS": "1",
        "BPMS_EXTRA_CASE_KINDS": "bench=bench.bpms_events.apply_event", "PYTHONPATH": str(ROOT),
        "HOMEPORTAL_VAR_DIR": str(Path(tempfile.gettempdir()) / "hp-bench-bpms-var"),
    })


def apply_event(*, case_id: str, event: dict):
    """The stand-in domain: one indexed read, like loading the domain object."""
    from bpms_bridge.models import BpmsCase

    BpmsCase.objects.filter(case_kind="bench", case_id=case_id).exists()


def percentile(values, p):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)




def lags_since(after_seq: int) -> list[float]:
    from bpms_bridge.models import AppliedEvent

    rows = AppliedEvent.objects.filter(seq__gt=after_seq).values_list("occurred_at", "applied_at")
    return [(applied - occurred).total_seconds() for occurred, applied in rows]


def wait_applied(total: int, timeout: float) -> float:
    from bpms_bridge.models import AppliedEvent

    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if AppliedEvent.objects.count() >= total:
            return time.monotonic()
        time.sleep(0.2)
    raise SystemExit(f"timed out: {AppliedEvent.objects.count()} of {total} applied")


def emit_steady(mock, *, prefix: str, count: int, rate: float, cases: int = 500, batch: int = 50):
    interval = batch / rate
    sent = 0
    next_at = time.monotonic()
    while sent < count:
        n = min(batch, count - sent)
        items = [{"case_kind": "bench", "external_id": f"{prefix}-{(sent + i) % cases}", "status": f"s{(sent + i) // cases + 1}"}
                 for i in range(n)]
        code, answer = mock.call("POST", "/admin/emit", {"events": items})
        assert code == 200, answer
        sent += n
        next_at += interval
        time.sleep(max(0.0, next_at - time.monotonic()))


def real_domain_events(n: int) -> tuple[list[dict], dict]:
    """Appeals and applications in «sent», and the BPMS events that take each to «approved»."""
    from appeals.models import Appeal, AppealCategory
    from applications.models import Application
    from tests.factories import ContractFactory, OrganizationFactory, UserFactory

    org = OrganizationFactory()
    user = UserFactory(organization=org)
    contract = ContractFactory(organization=org, kind="guarantee")
    category = AppealCategory.objects.first() or AppealCategory.objects.create(
        code="bench", contract_kind="guarantee", name_ru="Иное", name_kk="Басқа", is_other=True)
    per_case = 3
    cases = max(1, n // per_case // 2)
    appeals = Appeal.objects.bulk_create([Appeal(organization=org, contract=contract, kind="guarantee", category=category,
                                                 created_by=user, status="sent") for _ in range(cases)])
    applications = Application.objects.bulk_create([Application(organization=org, contract=contract, status="sent",
                                                                 project_name=f"ЖК {i}") for i in range(cases)])
    events = []
    for step in range(per_case):
        for i, a in enumerate(appeals):
            status, payload = [("registered", {"registration_number": f"КЖК-{i}", "category": category.code}),
                               ("in_review", {"executor_name": "Исполнитель", "internal_number": f"В-{i}"}),
                               ("approved", {})][step]
            events.append({"case_kind": "appeal", "external_id": str(a.public_id), "status": status, "payload": payload})
        for i, app in enumerate(applications):
            status, payload = [("registered", {"registration_number": f"ГР-{i}"}), ("in_review", {}), ("approved", {})][step]
            events.append({"case_kind": "application", "external_id": str(app.public_id), "status": status,
                           "payload": payload})
    return events, {"appeals": [a.pk for a in appeals], "applications": [a.pk for a in applications]}


def apply_events(*, items: list) -> list[str]:
    """The stand-in domain for a chunk: one indexed read of its cases, like loading the objects."""
    from bpms_bridge.models import BpmsCase

    list(BpmsCase.objects.filter(case_kind="bench", case_id__in={case_id for case_id, _event in items}))
    return [""] * len(items)


def stand_in_floor(mock, n: int) -> float:
    """The bridge alone (stand-in kind, one read per chunk) for as many events as phase 4: the
    floor of the same run."""
    from bpms_bridge import registry, services

    registry.register_case_kind("bench", apply_events="bench.bpms_events.apply_events")

    cases = max(1, n // 3)
    for start_i in range(0, n, 1000):
        items = [{"case_kind": "bench", "external_id": f"f-{(start_i + i) % cases}", "status": f"s{(start_i + i) // cases + 1}"}
                 for i in range(min(1000, n - start_i))]
        assert mock.call("POST", "/admin/emit", {"events": items})[0] == 200
    t0 = time.perf_counter()
    handled = services.feed_pull(limit=1000, max_pages=1000)
    return handled / (time.perf_counter() - t0)


def phase_real_domains(mock, n: int) -> None:
    from django.urls import reverse

    from appeals.models import Appeal
    from applications.models import Application
    from bpms_bridge import services
    from bpms_bridge.models import AppliedEvent

    reverse("bpms_bridge:webhook")  # the URLconf is loaded in a running worker: not part of the apply
    floor = stand_in_floor(mock, n)
    events, ids = real_domain_events(n)
    before = AppliedEvent.objects.count()
    for start_i in range(0, len(events), 1000):
        assert mock.call("POST", "/admin/emit", {"events": events[start_i:start_i + 1000]})[0] == 200
    t0 = time.perf_counter()
    handled = services.feed_pull(limit=1000, max_pages=1000)
    elapsed = time.perf_counter() - t0
    outcomes = {}
    for outcome in AppliedEvent.objects.filter(pk__gt=0).order_by("pk").values_list("outcome", flat=True)[before:]:
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    approved = (Appeal.objects.filter(pk__in=ids["appeals"], status="approved").count()
                + Application.objects.filter(pk__in=ids["applications"], status="approved").count())
    again = services.feed_pull(limit=1000)
    rate = handled / elapsed
    print(f"[4] real domains: {handled} status events for {len(ids['appeals'])} appeals + {len(ids['applications'])} "
          f"applications applied in {elapsed:.2f} s: {rate:.0f} events/s (goal ≥ 1000, ratio {rate / 1000:.2f}); "
          f"floor (bridge + stand-in kind, same run) {floor:.0f} events/s, real/floor {rate / floor:.2f}; "
          f"outcomes {outcomes}; approved {approved} of {len(ids['appeals']) + len(ids['applications'])}; "
          f"repeat pull applied {again}")


def phase_documents(mock, n: int, rate: float, tmp: Path) -> None:
    """Approvals one at a time with workers running: status commit → pledge agreement."""
    from applications.models import Application, DecisionDocument
    from bpms_bridge import services
    from bpms_bridge.models import AppliedEvent

    events, ids = real_domain_events(6 * n)  # n applications (and n appeals) → approved
    apps = ids["applications"][:n]
    by_pk = {pk: str(pub) for pub, pk in Application.objects.filter(pk__in=apps).values_list("public_id", "pk")}
    ours = set(by_pk.values())
    first = [e for e in events if e["external_id"] in ours and e["status"] != "approved"]
    assert mock.call("POST", "/admin/emit", {"events": first})[0] == 200
    services.feed_pull(limit=1000, max_pages=100)
    # Phase 4's queued tasks (its 1 666 pledge agreements, e-mail copies) would come first: dropped.
    import redis

    redis.Redis.from_url(REDIS).delete("celery")
    worker = start([sys.executable, "-m", "celery", "-A", "homeportal", "worker", "--pool=prefork", "--concurrency=2",
                    "--prefetch-multiplier=1", "--without-gossip", "--without-mingle", "--loglevel=WARNING"],
                   log=tmp / "worker.log")
    try:
        from homeportal.celery import app as celery_app

        deadline = time.monotonic() + 120
        while not celery_app.control.ping(timeout=1) and time.monotonic() < deadline:
            time.sleep(0.5)  # both worker processes up (booting under load takes a while)
        time.sleep(3)
        approvals = [e for e in events if e["external_id"] in ours and e["status"] == "approved"]
        warm, approvals = approvals[:2], approvals[2:]  # each worker process renders once first (fonts)
        assert mock.call("POST", "/admin/emit", {"events": warm})[0] == 200
        services.feed_pull(limit=100)
        warm_ids = [pk for pk, pub in by_pk.items() if pub in {e["external_id"] for e in warm}]
        while DecisionDocument.objects.filter(application_id__in=warm_ids).count() < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        apps = [pk for pk in apps if pk not in warm_ids]
        base_seq = mock.stats()["last_seq"]
        for event in approvals:
            t = time.monotonic()
            assert mock.call("POST", "/admin/emit", {"events": [event]})[0] == 200
            services.feed_pull(limit=100)
            time.sleep(max(0.0, 1 / rate - (time.monotonic() - t)))
        deadline = time.monotonic() + 120
        while DecisionDocument.objects.filter(application_id__in=apps).count() < len(apps) and time.monotonic() < deadline:
            time.sleep(0.2)
        committed = dict(AppliedEvent.objects.filter(seq__gt=base_seq, status="approved").values_list(
            "case__case_id", "applied_at"))
        lags = [(doc_at - committed[by_pk[app_id]]).total_seconds() for app_id, doc_at in
                DecisionDocument.objects.filter(application_id__in=apps).values_list("application_id", "created_at")
                if by_pk[app_id] in committed]
        print(f"[5] events with documents: {len(approvals)} approvals at {rate:g}/s, 2 worker processes: status "
              f"committed by the pull, pledge agreement {len(lags)} of {len(approvals)} made by the workers; "
              f"status → document p50 {percentile(lags, 50):.2f} s, p95 {percentile(lags, 95):.2f} s (goal p95 ≤ 5 s)")
    finally:
        stop(worker)


def phase_webhook(mock, args, procs, tmp, *, applied_before: int):
    """Phase 3: the mock posts signed webhooks (up to 50 events each) to gunicorn at --rate; the
    feed is pulled by beat as well. Prints the portal's answer time per webhook (the mock times
    each POST) and the event → cabinet lag."""
    from bpms_bridge.models import AppliedEvent
    from bpms_bridge.tests.mockproc import MockProcess, free_port

    port = free_port()
    access_log = tmp / "access.log"
    web = start([sys.executable, "-m", "gunicorn", "homeportal.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2",
                 "--log-level", "warning", "--access-logfile", str(access_log),
                 "--access-logformat", "%(U)s %(s)s %(D)s"])  # path, status, µs in the worker
    procs.append(web)
    wait_http(f"http://127.0.0.1:{port}/livez")
    import urllib.request

    floor = []
    for _ in range(50):  # the floor of the same run: /livez under the same gunicorn
        t = time.monotonic()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=5):
            floor.append(time.monotonic() - t)
    mock.stop()
    mock = MockProcess(tmp / "mock.sqlite3", port=mock.port, webhook_url=f"http://127.0.0.1:{port}/bpms/webhook/").start()
    base_seq = mock.stats()["last_seq"]
    w = args.webhook_events
    emit_steady(mock, prefix="w", count=w, rate=args.rate, cases=100, batch=5)
    wait_applied(applied_before + w, timeout=300)
    lags = lags_since(base_seq)
    sources = dict.fromkeys(("webhook", "feed"), 0)
    for src in AppliedEvent.objects.filter(seq__gt=base_seq).values_list("source", flat=True):
        sources[src] = sources.get(src, 0) + 1
    stats = mock.stats()
    answer = stats.get("webhook_answer_ms", {})
    p95 = answer.get("p95", float("nan"))
    print(f"[3] webhook (+ feed) at {args.rate:.0f} events/s: {len(lags)} events; lag p50 {percentile(lags, 50) * 1000:.0f} ms, "
          f"p95 {percentile(lags, 95) * 1000:.0f} ms; applied via {sources}; mock webhooks {stats['webhooks']}")
    print(f"    webhook answer time: p50 {answer.get('p50', float('nan')):.0f} ms, p95 {p95:.0f} ms over "
          f"{answer.get('posts', 0)} POSTs (goal p95 ≤ 100 ms, ratio {p95 / 100:.2f}); floor /livez p95 "
          f"{percentile(floor, 95) * 1000:.0f} ms (same gunicorn), webhook/floor {p95 / (percentile(floor, 95) * 1000):.1f}")
    served = [int(line.split()[2]) / 1000 for line in access_log.read_text().splitlines()
              if line.startswith("/bpms/webhook/")]
    print(f"    in gunicorn (access log, request read → answer written): webhook p50 {percentile(served, 50):.1f} ms, "
          f"p95 {percentile(served, 95):.1f} ms over {len(served)} (ratio to the 100 ms goal "
          f"{percentile(served, 95) / 100:.2f})")
    return mock


def wait_http(url, timeout=60):
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not answer")


def start(args, log=None, **kw):
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 — the child keeps it
    return subprocess.Popen(args, cwd=ROOT, env=os.environ.copy(), start_new_session=True,
                            stdout=out, stderr=out, **kw)


def stop(proc):
    if proc and proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=50.0, help="events/s emitted in the lag phases")
    parser.add_argument("--skip-webhook", action="store_true")
    parser.add_argument("--webhook-events", type=int, default=1000)
    parser.add_argument("--real-events", type=int, default=10_000, help="phase 4: events through the real domains")
    parser.add_argument("--only-real", action="store_true", help="run phases 4 and 5 only")
    parser.add_argument("--only-webhook", action="store_true", help="run phase 3 only (with a worker and beat)")
    parser.add_argument("--doc-events", type=int, default=40, help="phase 5: approvals with a document")
    parser.add_argument("--doc-rate", type=float, default=2.0, help="phase 5: approvals per second")
    args = parser.parse_args()

    configure_env()
    recreate_database(PG, DB_NAME)
    import django

    django.setup()
    import redis
    from django.core.management import call_command

    redis.Redis.from_url(REDIS).flushdb()
    call_command("migrate", verbosity=0)

    from bpms_bridge import registry, services
    from bpms_bridge.models import AppliedEvent
    from bpms_bridge.tests.mockproc import MockProcess

    assert registry.case_kind("bench") is not None
    tmp = Path(tempfile.mkdtemp(prefix="bench-bpms-"))
    mock = MockProcess(tmp / "mock.sqlite3").start()
    from django.conf import settings

    settings.BPMS_BASE_URL = mock.url
    os.environ["BPMS_BASE_URL"] = mock.url
    procs = []
    print(f"load average: {os.getloadavg()[0]:.1f} (2 cores shared by several agents)")
    if args.only_webhook:
        try:
            procs.append(start([sys.executable, "-m", "celery", "-A", "homeportal", "worker", "--pool=prefork",
                                "--concurrency=2", "--prefetch-multiplier=1", "--without-gossip", "--without-mingle",
                                "--loglevel=WARNING"]))
            procs.append(start([sys.executable, "-m", "celery", "-A", "homeportal", "beat", "--loglevel=WARNING",
                                "-s", str(tmp / "beat-schedule")]))
            mock = phase_webhook(mock, args, procs, tmp, applied_before=0)
        finally:
            for proc in procs:
                stop(proc)
            mock.stop()
        return
    if args.only_real:
        try:
            phase_real_domains(mock, args.real_events)
            phase_documents(mock, args.doc_events, args.doc_rate, tmp)
        finally:
            mock.stop()
        return
    try:
        # 1. throughput of the apply path
        n = args.events
        for start_i in range(0, n, 1000):
            items = [{"case_kind": "bench", "external_id": f"t-{(start_i + i) % 500}", "status": f"s{(start_i + i) // 500 + 1}"}
                     for i in range(min(1000, n - start_i))]
            assert mock.call("POST", "/admin/emit", {"events": items})[0] == 200
        t0 = time.perf_counter()
        handled = services.feed_pull(limit=1000, max_pages=1000)
        elapsed = time.perf_counter() - t0
        applied = AppliedEvent.objects.filter(outcome="applied").count()
        assert handled == n and applied == n, (handled, applied)
        print(f"[1] feed_pull applied {applied} events in {elapsed:.2f} s: {applied / elapsed:.0f} events/s (one process)")
        # a second pull of the same feed changes nothing
        again = services.feed_pull(limit=1000)
        print(f"    repeat pull: {again} new events, applied rows still {AppliedEvent.objects.count()}")
        base_seq = mock.stats()["last_seq"]

        # 2. lag with a worker and beat
        procs.append(start([sys.executable, "-m", "celery", "-A", "homeportal", "worker", "--pool=prefork", "--concurrency=2",
                            "--prefetch-multiplier=1", "--without-gossip", "--without-mingle", "--loglevel=WARNING"]))
        procs.append(start([sys.executable, "-m", "celery", "-A", "homeportal", "beat", "--loglevel=WARNING",
                            "-s", str(tmp / "beat-schedule")]))
        time.sleep(6)
        t0 = time.monotonic()
        emit_steady(mock, prefix="l", count=n, rate=args.rate, batch=5)  # small batches: no phase lock with beat
        emitted = time.monotonic()
        done = wait_applied(2 * n, timeout=600)
        lags = lags_since(base_seq)
        print(f"[2] worker+beat (feed pull every 1 s): {len(lags)} events emitted at {args.rate:.0f}/s in {emitted - t0:.1f} s, "
              f"all applied {done - emitted:.1f} s after the last one; end-to-end {len(lags) / (done - t0):.0f} events/s")
        print(f"    lag event→cabinet: p50 {percentile(lags, 50) * 1000:.0f} ms, p95 {percentile(lags, 95) * 1000:.0f} ms, "
              f"max {max(lags) * 1000:.0f} ms")
        assert AppliedEvent.objects.count() == 2 * n

        # 3. the webhook fast path
        if not args.skip_webhook:
            mock = phase_webhook(mock, args, procs, tmp, applied_before=2 * n)
        # 4 and 5 on their own: no beat pulling the feed meanwhile, no webhooks.
        for proc in procs:
            stop(proc)
        procs.clear()
        mock.stop()
        mock = MockProcess(tmp / "mock.sqlite3", port=mock.port).start()
        phase_real_domains(mock, args.real_events)
        phase_documents(mock, args.doc_events, args.doc_rate, tmp)
    finally:
        for proc in procs:
            stop(proc)
        mock.stop()


if __name__ == "__main__":
    main()
