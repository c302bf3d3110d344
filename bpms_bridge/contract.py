"""The contract between BPMS Simbase and the portal: the shape of a status event, its documents,
the webhook body and its HMAC signature. Standard library only — the BPMS mock (`bpms_mock/`)
imports this module without Django, so both sides agree by construction (docs/bpms-api.md).

The bridge owns BPMS's vocabulary: `Event.from_wire` validates a JSON event, decodes its base64
documents and adds the portal's names of BPMS's fields (`ALIASES`). Domains get an `Event`:
typed attributes for new code (`event.occurred_at` is a datetime, `event.documents` are
`Document`s with bytes) and read-only Mapping access giving the JSON form they read before
(`event["occurred_at"]` is the ISO string, `event["documents"]` plain dicts with `data_b64`).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import hmac
import json
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

SIGNATURE_HEADER = "X-BPMS-Signature"
SIGNATURE_TOLERANCE_SECONDS = 300

# The keys of an event on the wire (feed, webhook, GET /api/cases/{id}); the mock's OpenAPI
# model is checked against this tuple in the tests.
EVENT_FIELDS = ("seq", "case_seq", "case_id", "case_kind", "external_id", "status", "occurred_at", "payload", "documents")
DOCUMENT_FIELDS = ("name", "content_type", "data_b64")


class ContractError(ValueError):
    """The other side sent something this contract does not allow."""


# --- HMAC of the webhook ---------------------------------------------------------------------------


def webhook_signature(*, secret: str, timestamp: int, body: bytes) -> str:
    """The value of the X-BPMS-Signature header: `t=<unix>,v1=<hex HMAC-SHA256 of "t." + body>`."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def webhook_verify(*, secret: str, header: str, body: bytes, tolerance: int = SIGNATURE_TOLERANCE_SECONDS,
                   now: float | None = None) -> bool:
    """True when `header` signs `body` with `secret` and is at most `tolerance` seconds old.
    An empty secret verifies nothing (production without BPMS_WEBHOOK_SECRET never starts anyway)."""
    if not secret:
        return False
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


def webhook_request(*, secret: str, events: list[dict], now: float | None = None) -> tuple[bytes, dict[str, str]]:
    """The body and headers of one webhook delivery of `events` (wire dicts)."""
    body = json.dumps({"events": events}, ensure_ascii=False).encode()
    timestamp = int(time.time() if now is None else now)
    return body, {"Content-Type": "application/json",
                  SIGNATURE_HEADER: webhook_signature(secret=secret, timestamp=timestamp, body=body)}


# --- documents -------------------------------------------------------------------------------------


def document_wire(name: str, content: bytes, content_type: str = "application/pdf", **extra: Any) -> dict:
    """A document as BPMS sends it (the mock builds its attachments with this)."""
    return {"name": name, "content_type": content_type, "data_b64": base64.b64encode(content).decode(), **extra}


@dataclass(frozen=True)
class Document(Mapping):
    """A document carried by an event. `content` is the decoded bytes; `stored_name` the file the
    portal's bridge wrote it to before its transaction (domains reference it instead of writing
    again); `extra` keeps any other key (e.g. a domain's own marker after its prepare step).
    Mapping access: the wire form (plus `stored_name` once stored)."""

    name: str
    content_type: str
    content: bytes
    kind: str = ""
    title: str = ""
    extra: Mapping[str, Any] = field(default_factory=dict)
    stored_name: str = ""

    @classmethod
    def from_wire(cls, raw: Any) -> Document:
        if isinstance(raw, Document):
            return raw
        if not isinstance(raw, Mapping):
            raise ContractError("a document must be an object")
        try:
            content = base64.b64decode(str(raw.get("data_b64") or ""), validate=True)
        except (binascii.Error, ValueError):
            raise ContractError(f"document {raw.get('name')!r}: data_b64 is not base64") from None
        known = {"name", "content_type", "data_b64", "kind", "title", "stored_name"}
        return cls(
            name=str(raw.get("name") or "document.pdf"), content_type=str(raw.get("content_type") or "application/pdf"),
            content=content, kind=str(raw.get("kind") or ""), title=str(raw.get("title") or ""),
            extra=MappingProxyType({k: v for k, v in raw.items() if k not in known}),
            stored_name=str(raw.get("stored_name") or ""),
        )

    def _wire(self) -> dict:
        wire = self.__dict__.get("_wire_cache")
        if wire is None:
            wire = document_wire(self.name, self.content, self.content_type, **dict(self.extra))
            if self.kind:
                wire["kind"] = self.kind
            if self.title:
                wire["title"] = self.title
            if self.stored_name:
                wire["stored_name"] = self.stored_name
            object.__setattr__(self, "_wire_cache", wire)
        return wire

    def to_wire(self) -> dict:
        return dict(self._wire())

    def __getitem__(self, key: str) -> Any:
        return self._wire()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._wire())

    def __len__(self) -> int:
        return len(self._wire())


# --- events ----------------------------------------------------------------------------------------

# BPMS's names → the portal's. `deadline` means the review deadline on a registration event and
# the applicant's «срок доработки» on a revision; both names are added, BPMS's own kept.
ALIASES = {"executor_number": "internal_number"}


def _portal_payload(status: str, payload: Mapping[str, Any]) -> dict:
    out = dict(payload)
    for theirs, ours in ALIASES.items():
        if theirs in payload and not out.get(ours):
            out[ours] = payload[theirs]
    if "deadline" in payload:
        ours = "review_deadline" if status == "registered" or "registered_at" in payload else "revision_deadline"
        out.setdefault(ours, payload["deadline"])
    return out


def _positive_int(raw: Mapping, key: str) -> int:
    value = raw[key]
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ContractError(f"{key} must be an integer")
    number = int(value)
    if number <= 0:
        raise ContractError(f"{key} must be positive")
    return number


@dataclass(frozen=True)
class Event(Mapping):
    """One status event of a BPMS case (the portal's view of it). Mapping keys: seq, case_seq,
    status, occurred_at (ISO string), payload (a fresh dict), documents (fresh wire dicts)."""

    seq: int
    case_seq: int
    case_kind: str
    external_id: str
    bpms_case_id: str
    status: str
    occurred_at: dt.datetime
    payload: Mapping[str, Any]
    documents: tuple[Document, ...] = ()

    @classmethod
    def from_wire(cls, raw: Any) -> Event:
        """Validate a JSON event (feed, webhook, case page); ContractError when it is not one."""
        if not isinstance(raw, Mapping):
            raise ContractError("an event must be an object")
        try:
            seq = _positive_int(raw, "seq")
            case_seq = _positive_int(raw, "case_seq")
            case_kind, external_id, status = str(raw["case_kind"]), str(raw["external_id"]), str(raw["status"])
            occurred_at = dt.datetime.fromisoformat(str(raw["occurred_at"]))
        except (KeyError, TypeError, ValueError) as exc:
            raise ContractError(f"malformed event: {exc}") from None
        if occurred_at.tzinfo is None:
            raise ContractError("malformed event: occurred_at must carry a UTC offset")
        payload = {} if raw.get("payload") is None else raw["payload"]
        documents = [] if raw.get("documents") is None else raw["documents"]
        if not isinstance(payload, Mapping) or not isinstance(documents, list | tuple):
            raise ContractError("malformed event: payload must be an object and documents a list")
        return cls(
            seq=seq, case_seq=case_seq, case_kind=case_kind, external_id=external_id,
            bpms_case_id=str(raw.get("case_id") or "")[:64], status=status, occurred_at=occurred_at,
            payload=MappingProxyType(_portal_payload(status, payload)),
            documents=tuple(Document.from_wire(d) for d in documents),
        )

    def with_changes(self, *, payload: Mapping | None = None, documents: Any = None) -> Event:
        """A copy with the payload and/or documents replaced (dicts or Documents accepted)."""
        changes: dict[str, Any] = {}
        if payload is not None:
            changes["payload"] = MappingProxyType(dict(payload))
        if documents is not None:
            changes["documents"] = tuple(Document.from_wire(d) for d in documents)
        return replace(self, **changes) if changes else self

    # Typed reads of the payload (the portal's names).
    def value(self, key: str, default: Any = None) -> Any:
        return self.payload.get(key, default)

    @property
    def final(self) -> bool:
        return bool(self.payload.get("final"))

    @property
    def comment(self) -> str:
        """KZhK's words to the applicant: revision notes or the reason of a rejection."""
        return str(self.payload.get("notes") or self.payload.get("reason") or "")

    def to_wire(self) -> dict:
        return {"seq": self.seq, "case_seq": self.case_seq, "case_id": self.bpms_case_id, "case_kind": self.case_kind,
                "external_id": self.external_id, "status": self.status, "occurred_at": self.occurred_at.isoformat(),
                "payload": dict(self.payload), "documents": [d.to_wire() for d in self.documents]}

    # Read-only Mapping: the JSON form domains read before the typed event.
    _KEYS = ("seq", "case_seq", "status", "occurred_at", "payload", "documents")

    def __getitem__(self, key: str) -> Any:
        if key == "occurred_at":
            return self.occurred_at.isoformat()
        if key == "payload":
            return dict(self.payload)
        if key == "documents":
            return [d.to_wire() for d in self.documents]
        if key in self._KEYS:
            return getattr(self, key)
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(self._KEYS)

    def __len__(self) -> int:
        return len(self._KEYS)
