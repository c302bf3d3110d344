"""The eGov mobile side of the QR protocol, for demos and tests: GET API 1, GET API 2 with the bearer
token, sign every document (CMS with data), PUT the JSON back. Real HTTP, exactly as the app does."""

from __future__ import annotations

import base64
import copy
import datetime as dt
import json
import urllib.error
import urllib.request
from dataclasses import dataclass

from .certs import pkcs12_open
from .cms import cms_sign

PREFIX = "mobileSign:"


@dataclass
class SimulatorResult:
    status: int
    body: str
    description: str = ""
    signer: str = ""


def _http(method: str, url: str, *, headers: dict, data: bytes | None = None, timeout: int = 20) -> tuple[int, str]:
    if not url.startswith(("http://", "https://")):
        raise ValueError("only http(s) URLs")
    req = urllib.request.Request(url, data=data, method=method, headers=headers)  # noqa: S310 - scheme checked
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:  # noqa: S310
            return resp.status, resp.read().decode("utf-8", "replace")
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode("utf-8", "replace")


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
