"""HTTP client of BPMS Simbase (the mock speaks the same API; docs/bpms-api.md), on httpx.

Every call has a timeout (`BPMS_HTTP_TIMEOUT`). A connection that cannot be opened is retried
by the transport (`BPMS_HTTP_RETRIES` times); a GET answered 502/503/504 once more after a short
pause. Nothing else is retried here: the outbox owns the retries of messages (with backoff and
the idempotency key) and the feed is read again by the next beat tick.
"""

from __future__ import annotations

import json
import os
import threading
import time
from urllib.parse import quote

import httpx
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder


def conf(name: str, default):
    """A bridge setting from Django settings (settings.py reads the environment), else the default."""
    return getattr(settings, name, default)


class BpmsError(Exception):
    """A failed call. `permanent` errors (the request itself is wrong) are not retried."""

    def __init__(self, message: str, *, permanent: bool = False, status: int | None = None):
        super().__init__(message)
        self.permanent = permanent
        self.status = status


_RETRYABLE_4XX = {404, 408, 409, 425, 429}
_RETRY_GET_STATUSES = {502, 503, 504}

_local = threading.local()


def _http() -> httpx.Client:
    """One pooled client per process and thread (Celery's prefork children get their own)."""
    key = (os.getpid(), conf("BPMS_BASE_URL", ""), conf("BPMS_HTTP_TIMEOUT", 10.0), conf("BPMS_HTTP_RETRIES", 2))
    client = getattr(_local, "client", None)
    if client is None or _local.key != key:
        if client is not None:
            client.close()
        timeout = float(conf("BPMS_HTTP_TIMEOUT", 10.0))
        client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            transport=httpx.HTTPTransport(retries=int(conf("BPMS_HTTP_RETRIES", 2))),
        )
        _local.client, _local.key = client, key
    return client


def _request(method: str, path: str, *, body: dict | None = None, headers: dict | None = None) -> dict:
    url = str(conf("BPMS_BASE_URL", "http://127.0.0.1:8090")).rstrip("/") + path
    all_headers = {"Authorization": f"Bearer {conf('BPMS_API_TOKEN', '')}", "Accept": "application/json"}
    content = None
    if body is not None:
        content = json.dumps(body, cls=DjangoJSONEncoder).encode()
        all_headers["Content-Type"] = "application/json"
    all_headers.update(headers or {})
    attempts = 2 if method == "GET" else 1
    for attempt in range(attempts):
        try:
            response = _http().request(method, url, content=content, headers=all_headers)
        except httpx.HTTPError as exc:
            raise BpmsError(f"{type(exc).__name__}: {exc}") from None
        if response.status_code in _RETRY_GET_STATUSES and attempt + 1 < attempts:
            time.sleep(0.2)
            continue
        break
    if response.status_code >= 400:
        code = response.status_code
        permanent = 400 <= code < 500 and code not in _RETRYABLE_4XX
        raise BpmsError(f"HTTP {code}: {response.text[:300]}", permanent=permanent, status=code)
    try:
        return response.json() if response.content else {}
    except ValueError:
        raise BpmsError("BPMS answered with something that is not JSON") from None


def send_message(*, case_kind: str, case_id: str, kind: str, payload: dict, idempotency_key: str) -> dict:
    """POST /api/messages; answers {"message_id", "case_id", "duplicate"}."""
    return _request(
        "POST", "/api/messages",
        body={"case_kind": case_kind, "external_id": case_id, "kind": kind, "payload": payload},
        headers={"Idempotency-Key": idempotency_key},
    )


def fetch_case(*, bpms_case_id: str) -> dict:
    """GET /api/cases/{id}: the case with all its events (documents included)."""
    return _request("GET", f"/api/cases/{quote(bpms_case_id, safe='')}")


def fetch_feed(*, after: int, limit: int = 500) -> dict:
    """GET /api/events?after=N&limit=L: {"events": [seq > N, in seq order], "last_seq": BPMS's newest seq}."""
    answer = _request("GET", f"/api/events?after={int(after)}&limit={int(limit)}")
    if not isinstance(answer.get("events"), list):
        raise BpmsError("the event feed answered without an events list")
    return answer


def fetch_events(*, after: int, limit: int = 500) -> list[dict]:
    return fetch_feed(after=after, limit=limit)["events"]
