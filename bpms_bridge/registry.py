"""Case kinds the bridge can apply BPMS events to.

Each domain registers itself in its AppConfig.ready()::

    register_case_kind("appeal", apply_event="appeals.services.appeal_apply_bpms_event")

`apply_event(*, case_id: str, event: contract.Event)` applies one event through the domain's
transition function. The bridge calls it inside a transaction that also records the event as
applied, in per-case order, at most once per event (see docs/bpms-api.md). The event is typed
and also a read-only Mapping (`event["status"]`, `event.get("payload")`).

`apply_events(*, items: list[tuple[str, contract.Event]]) -> list[str]` (optional, preferred) applies
a chunk of events (in feed order, several per case possible) set-wise in the bridge's transaction:
one answer per item, "" when applied, else why the domain refused it (recorded as failed). If it
raises, the bridge undoes the whole chunk's savepoint and gives the events to it one at a time,
each in its own savepoint, so one bad event never undoes the others. A kind that registers
`apply_events` needs no `apply_event`.

`prepare_event(*, case_id: str, event: contract.Event) -> Event | dict` (optional) does the
slow part first, OUTSIDE any transaction — e.g. KZhK's PAdES signature on an official notice,
a PDF it renders — and returns the event (documents/payload replaced) that apply_event then
stores; the bridge writes the documents to storage before its transaction. No transaction is
held across signing, PDF rendering or storage writes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.utils.module_loading import import_string


@dataclass(frozen=True)
class CaseKind:
    name: str
    apply_event_path: str | None
    final_statuses: frozenset[str] = frozenset()
    prepare_event_path: str | None = None
    apply_events_path: str | None = None

    def apply_event(self) -> Callable[..., object]:
        return import_string(self.apply_event_path)

    def apply_events(self) -> Callable[..., list[str]] | None:
        return import_string(self.apply_events_path) if self.apply_events_path else None

    def prepare_event(self) -> Callable[..., dict] | None:
        return import_string(self.prepare_event_path) if self.prepare_event_path else None


_registry: dict[str, CaseKind] = {}


def register_case_kind(
    kind: str, *, apply_event: str | None = None, final_statuses: tuple[str, ...] = (),
    prepare_event: str | None = None, apply_events: str | None = None,
) -> CaseKind:
    """Register (or re-register) a case kind; `apply_events` or `apply_event` is a dotted path to
    a function. `final_statuses` (optional) end the review: such cases are never flagged overdue."""
    paths = [p for p in (apply_event, apply_events) if p]
    if not kind or not paths or any("." not in p for p in paths):
        raise ValueError("register_case_kind needs a kind and a dotted path to apply_events or apply_event")
    entry = CaseKind(name=kind, apply_event_path=apply_event, final_statuses=frozenset(final_statuses),
                     prepare_event_path=prepare_event, apply_events_path=apply_events)
    _registry[kind] = entry
    return entry


def unregister_case_kind(kind: str) -> None:
    _registry.pop(kind, None)


def case_kind(kind: str) -> CaseKind | None:
    return _registry.get(kind)


def registered_kinds() -> list[str]:
    return sorted(_registry)
