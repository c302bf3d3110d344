"""HMAC signatures of the BPMS webhook (stdlib only: the mock imports this too)."""

import hashlib
import hmac
import time


def webhook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """The value of the X-BPMS-Signature header: `t=<unix>,v1=<hex HMAC-SHA256 of "t." + body>`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def webhook_verify(*, secret: str, header: str, body: bytes, tolerance: int = 300, now: float | None = None) -> bool:
    try:
        parts = dict(item.split("=", 1) for item in header.split(","))
        timestamp = int(parts["t"])
        given = parts["v1"]
    except (ValueError, KeyError, AttributeError):
        return False
    now = time.time() if now is None else now
    if abs(now - timestamp) > tolerance:
        return False
    expected = webhook_signature(secret=secret, timestamp=timestamp, body=body).split("v1=", 1)[1]
    return hmac.compare_digest(expected, given)
