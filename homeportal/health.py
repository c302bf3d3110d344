import contextlib
import uuid

from django.conf import settings
from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_broker() -> None:
    from homeportal.celery import app

    with app.connection_for_write() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)


def _check_storage() -> None:
    name = default_storage.save(f"healthz/{uuid.uuid4().hex}", ContentFile(b"ok"))
    try:
        with default_storage.open(name) as fh:
            assert fh.read() == b"ok"
    finally:
        default_storage.delete(name)


CHECKS = {"database": _check_database, "broker": _check_broker, "storage": _check_storage}


def _run_checks() -> dict:
    results = {}
    for name, check in CHECKS.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:  # noqa: BLE001 - health reports every failure, it never raises
            results[name] = f"error: {exc.__class__.__name__}"
    return results


def _cached_checks() -> dict:
    """Readiness probes come every few seconds from every balancer: the dependency checks (one of
    them a storage write) run at most once per HEALTHZ_CACHE_SECONDS per cache."""
    ttl = settings.HEALTHZ_CACHE_SECONDS
    if ttl <= 0:
        return _run_checks()
    try:
        results = cache.get("healthz:checks")
    except Exception:  # noqa: BLE001 - the cache being down is itself reported by the checks
        results = None
    if results is None:
        results = _run_checks()
        with contextlib.suppress(Exception):  # a cache outage must not fail the probe
            cache.set("healthz:checks", results, ttl)
    return results


@never_cache
def livez(request):
    """Liveness: the process answers requests. Touches no dependency, so a database outage does not
    make an orchestrator restart every web process."""
    return JsonResponse({"status": "ok"})


def _history() -> dict:
    """The history chain's last verification (audit.tasks.anchor_and_verify, `history_verify`) and
    last anchor. Reported, not a readiness condition: a broken chain is evidence for KZhK to look
    at, taking every web process out of the balancer would not repair it."""
    from audit.models import Anchor, Verification

    try:
        last = Verification.objects.order_by("-finished_at", "-pk").first()
        anchor = Anchor.objects.order_by("-seq", "-pk").first()
    except Exception as exc:  # noqa: BLE001 - the database check reports the outage
        return {"status": f"error: {exc.__class__.__name__}"}
    result = {"status": "unverified" if last is None else ("ok" if last.intact else "broken")}
    if last is not None:
        result.update(verified_at=last.finished_at.isoformat(), entries=last.entries,
                      problems=len(last.problems))
    if anchor is not None:
        result.update(anchored_seq=anchor.seq, anchored_at=anchor.tsa_time.isoformat())
    return result


def _info() -> dict:
    """The informational part: the BPMS outbox backlog and the history chain (see `_history`)."""
    info = {}
    with contextlib.suppress(Exception):  # a backlog does not make the portal unready
        from bpms_bridge.selectors import outbox_backlog

        info["bpms_outbox"] = outbox_backlog()
    info["history"] = _history()
    return info


@never_cache
def healthz(request):
    """Readiness: database, broker and storage; plus the BPMS outbox backlog and the history chain's
    last verification (informational). Both parts are cached for HEALTHZ_CACHE_SECONDS."""
    results = _cached_checks()
    healthy = all(v == "ok" for v in results.values())
    body = {"status": "ok" if healthy else "error", "checks": results}
    ttl = settings.HEALTHZ_CACHE_SECONDS
    info = None
    if ttl > 0:
        with contextlib.suppress(Exception):
            info = cache.get("healthz:info")
    if info is None:
        info = _info()
        if ttl > 0:
            with contextlib.suppress(Exception):
                cache.set("healthz:info", info, ttl)
    body.update(info)
    return JsonResponse(body, status=200 if healthy else 503)
