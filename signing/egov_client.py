"""The eGov mobile side of the QR protocol, for demos and tests: GET API 1, GET API 2 with the bearer
token, sign every document (CMS with data), PUT the JSON back. Real HTTP, exactly as the app does."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
from dataclasses import dataclass

import httpx

from .certs import pkcs12_open
from .cms import cms_sign

PREFIX = "mobileSign:"


@dataclass
class SimulatorResult:
    status: int
    body: str
    description: str = ""
    signer: str = ""


def _http(method: str, url: str, *, headers: dict, data: bytes | None = None, timeout: float = 20) -> tuple[int, str]:
    """One call with a timeout; a connection that cannot be opened is retried twice (GET and PUT
    of the QR protocol are idempotent). HTTP errors come back as (status, body); no answer at
    all raises ConnectionError."""
    if not url.startswith(("http://", "https://")):
        raise ValueError("only http(s) URLs")
    try:
        with httpx.Client(timeout=timeout, transport=httpx.HTTPTransport(retries=2)) as client:
            response = client.request(method, url, headers=headers, content=data)
    except httpx.HTTPError as exc:  # callers handle OSError (no answer) as before
        raise ConnectionError(f"{type(exc).__name__}: {exc}") from None
    return response.status_code, response.text


def egov_mobile_sign(*, qr_text: str, p12: bytes, password: str, accept_language: str = "ru") -> SimulatorResult:
    """Raises SigningError if the key cannot be opened; HTTP failures come back as the result."""
    key = pkcs12_open(data=p12, password=password)
    api1 = qr_text.strip()
    if api1.startswith(PREFIX):
        api1 = api1[len(PREFIX):]
    headers = {"Accept": "application/json", "Accept-Language": accept_language}
    status, body = _http("GET", api1, headers=headers)
    if status != 200:
        return SimulatorResult(status, body)
    info = json.loads(body)
    doc = info["document"]
    bearer = {**headers, "Authorization": f"Bearer {doc['auth_token']}"}
    status, body = _http("GET", doc["uri"], headers=bearer)
    if status != 200:
        return SimulatorResult(status, body, info.get("description", ""))
    to_sign = json.loads(body)
    signed = copy.deepcopy(to_sign)
    now = dt.datetime.now(dt.UTC)
    for item in signed["documentsToSign"]:
        data = base64.b64decode(item["document"]["file"]["data"])
        cms = cms_sign(data=data, key=key, signing_time=now, attached=True)
        item["document"]["file"]["data"] = base64.b64encode(cms).decode()
    status, body = _http("PUT", doc["uri"], headers={**bearer, "Content-Type": "application/json"},
                         data=json.dumps(signed).encode())
    return SimulatorResult(status, body, info.get("description", ""), key.certificate_info.full_name)
