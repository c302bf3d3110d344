"""Abuse limits (issue #10 item 3): per client IP and per account, in Redis through the `limits`
library (moving windows, atomic Lua in Redis; `memory://` without Redis). The numbers are
`settings.RATE_LIMITS`; docs/security.md lists them.

Three shapes:
- `attempt(name, key)`: every try counts; over the rate the try is refused (`Limited`).
- `failure_check(name, key)` before a try and `failure(name, key)` after a failed one: only
  failures count (a wrong one-time code, a wrong key password).
- a lock: when `failure()` fills its window and the rule has a `lock`, the key is refused for the
  whole lock time from that moment (10 wrong codes → e-mail login locked for an hour), whatever
  code comes next.

`Limited.message` is «Слишком много попыток, повторите через N минут» in the request's language;
`RateLimitMiddleware` adds `Retry-After` to the response of a refused request (pages re-render
their form with the message; APIs answer 429) and turns an uncaught `Limited` into a 429.

A Redis outage does not lock anybody out nor fail a request: the limiter logs and lets the try
through (the per-BIN password lockout of django-axes lives in the database and still holds).
"""

import contextvars
import hashlib
import ipaddress
import logging
import math
import time
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils.translation import ngettext

logger = logging.getLogger(__name__)

_current: contextvars.ContextVar[dict | None] = contextvars.ContextVar("homeportal_rate_limit", default=None)
_limiter = None


class Limited(Exception):
    """A refused try; `retry_after` in seconds (≥ 1)."""

    def __init__(self, name: str, retry_after: int):
        self.name = name
        self.retry_after = max(1, int(retry_after))
        super().__init__(f"{name}: retry after {self.retry_after} s")
        holder = _current.get()
        if holder is not None:
            holder["retry_after"] = max(holder.get("retry_after", 0), self.retry_after)

    @property
    def minutes(self) -> int:
        return max(1, math.ceil(self.retry_after / 60))

    @property
    def message(self) -> str:
        return retry_message(self.retry_after)


def retry_message(seconds: int) -> str:
    minutes = max(1, math.ceil(seconds / 60))
    return ngettext("Too many attempts, try again in %(minutes)s minute.",
                    "Too many attempts, try again in %(minutes)s minutes.", minutes) % {"minutes": minutes}


@dataclass(frozen=True)
class Rule:
    rate: str  # "10/hour", limits' notation
    lock: str = ""  # "1/hour": once the rate is exceeded the key is refused for the whole period


def _rule(name: str) -> Rule:
    raw = settings.RATE_LIMITS[name]
    return raw if isinstance(raw, Rule) else Rule(**raw) if isinstance(raw, dict) else Rule(raw)


def limiter():
    global _limiter
    if _limiter is None:
        from limits import storage, strategies

        uri = settings.RATE_LIMIT_STORAGE_URI
        _limiter = strategies.MovingWindowRateLimiter(storage.storage_from_string(uri, key_prefix="homeportal-rl"))
    return _limiter


def reset() -> None:
    """Forgets every counter (tests; an operator after an incident)."""
    try:
        limiter().storage.reset()
    except Exception:  # noqa: BLE001 — the memory storage has nothing to forget after a restart
        logger.warning("rate limits: reset failed", exc_info=True)


def _item(rate: str):
    from limits import parse

    return parse(rate)


def _key(key: str) -> str:
    # Keys hold e-mails, IPs and digests; hashed so that no address sits in Redis in clear.
    return hashlib.sha256(key.encode()).hexdigest()[:32]


def _retry_after(item, name: str, key: str) -> int:
    stats = limiter().get_window_stats(item, name, key)
    return math.ceil(stats.reset_time - time.time())


def _guard(fn, default):
    try:
        return fn()
    except Limited:
        raise
    except Exception:  # noqa: BLE001 — Redis down: fail open, log (see module docstring)
        logger.warning("rate limits unavailable, letting the try through", exc_info=True)
        return default


def _check_lock(name: str, key: str, rule: Rule) -> None:
    if rule.lock:
        lock = _item(rule.lock)
        if not limiter().test(lock, f"{name}:lock", key):
            raise Limited(name, _retry_after(lock, f"{name}:lock", key))


def attempt(name: str, key: str) -> None:
    """Counts one try; raises Limited when it is over the rule's rate."""
    rule, hashed = _rule(name), _key(key)

    def run():
        _check_lock(name, hashed, rule)
        item = _item(rule.rate)
        if not limiter().hit(item, name, hashed):
            logger.warning("rate limit %s reached", name)
            raise Limited(name, _retry_after(item, name, hashed))

    _guard(run, None)


def failure_check(name: str, key: str) -> None:
    """Raises Limited when the key is locked or its failure window is full (no count)."""
    rule, hashed = _rule(name), _key(key)

    def run():
        _check_lock(name, hashed, rule)
        item = _item(rule.rate)
        if not limiter().test(item, name, hashed):
            raise Limited(name, _retry_after(item, name, hashed))

    _guard(run, None)


def failure(name: str, key: str) -> bool:
    """Counts one failure. Returns True when this failure filled the window (and, with a lock
    rule, locked the key); the try itself has already failed, so nothing is raised."""
    rule, hashed = _rule(name), _key(key)

    def run():
        item = _item(rule.rate)
        limiter().hit(item, name, hashed)
        if limiter().test(item, name, hashed):
            return False
        logger.warning("rate limit %s reached", name)
        if rule.lock:
            limiter().hit(_item(rule.lock), f"{name}:lock", hashed)
        return True

    return _guard(run, False)


def clear(name: str, key: str) -> None:
    """Forgets one key's failures (a success after a few wrong tries)."""
    hashed = _key(key)
    _guard(lambda: limiter().clear(_item(_rule(name).rate), name, hashed), None)


# --- the client's address ------------------------------------------------------------------------

def client_ip(request) -> str:
    """REMOTE_ADDR, unless `TRUSTED_PROXY_COUNT` (N > 0) says the portal stands behind N reverse
    proxies, each appending the address it saw to X-Forwarded-For: then the N-th entry from the
    right is the client (entries further left are whatever the client sent and are ignored).
    IPv6 addresses count by their /64 network (one subscriber's share)."""
    remote = request.META.get("REMOTE_ADDR", "") or ""
    candidate = remote
    count = settings.TRUSTED_PROXY_COUNT
    if count > 0:
        parts = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
        if len(parts) >= count:
            candidate = parts[-count]
    try:
        address = ipaddress.ip_address(candidate)
    except ValueError:
        try:
            address = ipaddress.ip_address(remote)
        except ValueError:
            return "0.0.0.0"  # noqa: S104 — no address at all (test clients); real requests always have one
    if address.version == 6:
        if address.ipv4_mapped:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def axes_client_ip(request) -> str:
    """AXES_CLIENT_IP_CALLABLE: django-axes logs the same address the limits count."""
    return client_ip(request)


# --- the view side ---------------------------------------------------------------------------------

def ip_attempt(request, name: str) -> None:
    attempt(name, client_ip(request))


def wants_json(request) -> bool:
    return "/api/" in request.path or "application/json" in request.headers.get("Accept", "")


def note_retry_after(seconds: int) -> None:
    """A refusal decided elsewhere (django-axes' per-BIN lockout) gets `Retry-After` too."""
    holder = _current.get()
    if holder is not None:
        holder["retry_after"] = max(holder.get("retry_after", 0), max(1, int(seconds)))


def refused(request=None) -> bool:
    """Whether a limit refused something during the current request."""
    holder = _current.get()
    return bool(holder and holder.get("retry_after"))


def refused_status(request, default: int = 200) -> int:
    return page_status(request) if refused() else default


def page_status(request) -> int:
    """A page re-rendered with the message: 429, or 200 for htmx (htmx does not swap a 4xx)."""
    return 200 if getattr(request, "htmx", False) else 429


class RateLimitMiddleware:
    """Adds `Retry-After` to a refused request's response; an uncaught `Limited` becomes a 429."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        holder: dict = {}
        token = _current.set(holder)
        try:
            response = self.get_response(request)
        finally:
            _current.reset(token)
        if holder.get("retry_after"):
            response.headers["Retry-After"] = str(holder["retry_after"])
        return response

    def process_exception(self, request, exception):
        if not isinstance(exception, Limited):
            return None
        if wants_json(request):
            response = JsonResponse({"error": exception.message, "retry_after": exception.retry_after}, status=429,
                                    json_dumps_params={"ensure_ascii": False})
        else:
            response = HttpResponse(exception.message, status=429, content_type="text/plain; charset=utf-8")
        response.headers["Retry-After"] = str(exception.retry_after)
        return response
