"""HTTP client of BPMS Simbase (the mock speaks the same API; docs/bpms-api.md)."""

from __future__ import annotations

import http.client
import json
import os
import urllib.error
import urllib.request
from urllib.parse import urlencode

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder

from .signatures import webhook_signature, webhook_verify  # noqa: F401 — re-exported


def conf(name: str, default):
    """A bridge setting: Django settings first, then the environment, then the default."""
    if hasattr(settings, name):
        return getattr(settings, name)
    raw = os.environ.get(name)
    if raw is None:
        return default
    return type(default)(raw) if not isinstance(default, str) else raw


class BpmsError(Exception):
    """A failed call. `permanent` errors (the request itself is wrong) are not retried."""

    def __init__(self, message: str, *, permanent: bool = False, status: int | None = None):
        super().__init__(message)
        self.permanent = permanent
        self.status = status


_RETRYABLE_4XX = {404, 408, 409, 425, 429}


def _request(method: str, path: str, *, body: dict | None = None, headers: dict | None = None) -> dict:
    url = conf("BPMS_BASE_URL", "http://127.0.0.1:8090").rstrip("/") + path
    data = json.dumps(body, cls=DjangoJSONEncoder).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)  # noqa: S310 — URL from settings
    req.add_header("Authorization", f"Bearer {conf('BPMS_API_TOKEN', 'dev-bpms-token')}")
    req.add_header("Accept", "application/json")
    if data is not None:
        req.add_header("Content-Type", "application/json")
    for key, value in (headers or {}).items():
        req.add_header(key, value)
    timeout = float(conf("BPMS_HTTP_TIMEOUT", 10.0))
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
            raw = resp.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:300].decode("utf-8", "replace")
        permanent = 400 <= exc.code < 500 and exc.code not in _RETRYABLE_4XX
        raise BpmsError(f"HTTP {exc.code}: {detail}", permanent=permanent, status=exc.code) from None
    except (urllib.error.URLError, TimeoutError, OSError, http.client.HTTPException) as exc:
        raise BpmsError(f"{type(exc).__name__}: {exc}") from None
    try:
        return json.loads(raw or b"{}")
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
    from urllib.parse import quote

    return _request("GET", f"/api/cases/{quote(bpms_case_id, safe='')}")


def fetch_feed(*, after: int, limit: int = 500) -> dict:
    """GET /api/events?after=N&limit=L: {"events": [seq > N, in seq order], "last_seq": BPMS's newest seq}."""
    answer = _request("GET", "/api/events?" + urlencode({"after": after, "limit": limit}))
    if not isinstance(answer.get("events"), list):
        raise BpmsError("the event feed answered without an events list")
    return answer


def fetch_events(*, after: int, limit: int = 500) -> list[dict]:
    return fetch_feed(after=after, limit=limit)["events"]
