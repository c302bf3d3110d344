"""Writes of bpms_bridge: the outbox to BPMS Simbase and the application of inbound events.

Outbox: `outbox_enqueue` is called by a domain inside the transaction that changes its status;
`outbox_send` (Celery task `bpms_bridge.tasks.outbox_send_task`, scheduled on commit) sends
one row; `outbox_sweep` (beat) re-sends rows whose time has come. A row is claimed with a
lease before the HTTP call, so two workers never send it at the same moment; the idempotency
key makes a repeat (worker killed after BPMS accepted, sweeper racing a retry) harmless.

Inbound: `event_apply` applies one feed/webhook event through the domain's registered
`apply_event`, at most once (unique feed seq and per-case seq), in per-case order (the
webhook path); `events_apply_batch` does the same for a feed chunk in one transaction;
`feed_pull` reads the feed from the acknowledged cursor; `event_reapply` retries a refused one.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import random

from django.core.cache import cache
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from . import client, registry, selectors
from .client import conf
from .models import AppliedEvent, BpmsCase, EventOutcome, FeedCursor, OutboxMessage, OutboxStatus

logger = logging.getLogger(__name__)

FEED_CURSOR = "default"
FEED_LOCK_KEY = "bpms_bridge:feed_pull:lock"
# Redis redelivers an unacknowledged message after its visibility timeout (3600 s in settings):
# no countdown may come near it.
MAX_COUNTDOWN_SECONDS = 3000


class BridgeError(Exception):
    pass


# --- Outbox -----------------------------------------------------------------------------------------


def _jsonable(value: dict) -> dict:
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def outbox_enqueue(*, case_kind: str, case_id: str, kind: str, payload: dict, idempotency_key: str) -> OutboxMessage:
    """Write a message for BPMS in the caller's transaction; it is sent after commit.

    A second call with the same idempotency key returns the first row (nothing is sent twice).
    """
    if not (case_kind and case_id and kind and idempotency_key):
        raise BridgeError("case_kind, case_id, kind and idempotency_key are required")
    now = timezone.now()
    try:
        with transaction.atomic():
            message = OutboxMessage.objects.create(
                case_kind=case_kind, case_id=str(case_id), kind=kind, payload=_jsonable(payload or {}),
                idempotency_key=idempotency_key, next_attempt_at=now,
            )
    except IntegrityError:
        return OutboxMessage.objects.get(idempotency_key=idempotency_key)
    _schedule_send(message.pk)
    return message


def _schedule_send(message_id: int, *, countdown: float | None = None) -> None:
    from .tasks import outbox_send_task

    if countdown:
        countdown = min(countdown, MAX_COUNTDOWN_SECONDS)
        transaction.on_commit(lambda: outbox_send_task.apply_async((message_id,), countdown=countdown))
    else:
        outbox_send_task.delay_on_commit(message_id)


def backoff_seconds(attempts: int) -> float:
    """Exponential backoff with jitter, capped: base·2^(n-1), drawn from [half, full]."""
    base = float(conf("BPMS_OUTBOX_BACKOFF_BASE", 2.0))
    cap = min(float(conf("BPMS_OUTBOX_BACKOFF_CAP", 1800.0)), MAX_COUNTDOWN_SECONDS)
    delay = min(cap, base * (2 ** max(0, attempts - 1)))
    return random.uniform(delay / 2, delay)


def _claim(message_id: int, now: dt.datetime) -> OutboxMessage | None:
    lease = float(conf("BPMS_OUTBOX_LEASE_SECONDS", 120.0))
    with transaction.atomic():
        message = (
            OutboxMessage.objects.select_for_update(skip_locked=True)
            .filter(pk=message_id, status=OutboxStatus.PENDING, next_attempt_at__lte=now)
            .first()
        )
        if message is None:
            return None
        earlier = OutboxMessage.objects.filter(
            case_kind=message.case_kind, case_id=message.case_id, status=OutboxStatus.PENDING, pk__lt=message.pk
        ).exists()
        if earlier:
            return None  # messages of one case go in order; the earlier one triggers this one
        message.attempts += 1
        message.next_attempt_at = now + dt.timedelta(seconds=lease)
        message.save(update_fields=["attempts", "next_attempt_at"])
        return message


def _link_case(message: OutboxMessage) -> None:
    lookup = {"case_kind": message.case_kind, "case_id": message.case_id}
    if not BpmsCase.objects.filter(**lookup).update(bpms_case_id=message.bpms_case_id):
        try:
            with transaction.atomic():
                BpmsCase.objects.create(**lookup, bpms_case_id=message.bpms_case_id)
        except IntegrityError:  # the first event created it meanwhile
            BpmsCase.objects.filter(**lookup).update(bpms_case_id=message.bpms_case_id)


def outbox_send(*, message_id: int, now: dt.datetime | None = None) -> OutboxMessage | None:
    """Send one outbox row if it is due; returns the row (None if it was not ours to send)."""
    now = now or timezone.now()
    message = _claim(message_id, now)
    if message is None:
        return None
    try:
        answer = client.send_message(
            case_kind=message.case_kind, case_id=message.case_id, kind=message.kind,
            payload=message.payload, idempotency_key=message.idempotency_key,
        )
        error = None
    except client.BpmsError as exc:
        answer, error = None, exc
    finished = timezone.now()
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update().get(pk=message.pk)
        if message.status != OutboxStatus.PENDING:
            return message
        if error is None:
            message.status = OutboxStatus.SENT
            message.sent_at = finished
            message.last_error = ""
            message.bpms_case_id = str(answer.get("case_id") or "")[:64]
            message.save(update_fields=["status", "sent_at", "last_error", "bpms_case_id"])
            if message.bpms_case_id:
                _link_case(message)
            following = (
                OutboxMessage.objects.filter(
                    case_kind=message.case_kind, case_id=message.case_id, status=OutboxStatus.PENDING, pk__gt=message.pk
                ).order_by("pk").values_list("pk", flat=True).first()
            )
            if following:
                OutboxMessage.objects.filter(pk=following).update(next_attempt_at=finished)
                _schedule_send(following)
            return message
        message.last_error = str(error)[:2000]
        max_attempts = int(conf("BPMS_OUTBOX_MAX_ATTEMPTS", 15))
        if error.permanent or message.attempts >= max_attempts:
            message.status = OutboxStatus.DEAD
            message.save(update_fields=["status", "last_error"])
            logger.warning("bpms outbox message %s is dead after %s attempts", message.pk, message.attempts)
            return message
        delay = backoff_seconds(message.attempts)
        message.next_attempt_at = finished + dt.timedelta(seconds=delay)
        message.save(update_fields=["last_error", "next_attempt_at"])
        _schedule_send(message.pk, countdown=delay)
        logger.info("bpms outbox message %s failed (attempt %s), retry in %.1fs", message.pk, message.attempts, delay)
        return message


def outbox_sweep(*, now: dt.datetime | None = None, limit: int = 500) -> int:
    """Re-schedule pending rows whose attempt time has passed (lost tasks, expired leases)."""
    now = now or timezone.now()
    due = list(
        OutboxMessage.objects.filter(status=OutboxStatus.PENDING, next_attempt_at__lte=now)
        .order_by("pk").values_list("pk", flat=True)[:limit]
    )
    from .tasks import outbox_send_task

    for pk in due:
        outbox_send_task.delay(pk)
    return len(due)


def outbox_retry(*, message: OutboxMessage, now: dt.datetime | None = None) -> OutboxMessage:
    """Give a dead letter (or a backing-off row) a fresh set of attempts (admin action)."""
    now = now or timezone.now()
    with transaction.atomic():
        message = OutboxMessage.objects.select_for_update().get(pk=message.pk)
        if message.status == OutboxStatus.SENT:
            return message
        message.status = OutboxStatus.PENDING
        message.attempts = 0
        message.next_attempt_at = now
        message.save(update_fields=["status", "attempts", "next_attempt_at"])
        _schedule_send(message.pk)
    return message


# --- Inbound events ----------------------------------------------------------------------------------


def _parse_event(raw: dict) -> dict:
    try:
        seq = int(raw["seq"])
        case_seq = int(raw["case_seq"])
        case_kind = str(raw["case_kind"])
        external_id = str(raw["external_id"])
        status = str(raw["status"])
        occurred_at = parse_datetime(str(raw["occurred_at"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise BridgeError(f"malformed event: {exc}") from None
    if occurred_at is None or occurred_at.tzinfo is None or seq <= 0 or case_seq <= 0:
        raise BridgeError("malformed event: occurred_at must be aware; seq and case_seq positive")
    payload = raw.get("payload") or {}
    documents = raw.get("documents") or []
    if not isinstance(payload, dict) or not isinstance(documents, list):
        raise BridgeError("malformed event: payload must be an object and documents a list")
    return {
        "seq": seq, "case_seq": case_seq, "case_kind": case_kind, "external_id": external_id,
        "bpms_case_id": str(raw.get("case_id") or "")[:64], "status": status, "occurred_at": occurred_at,
        "payload": payload, "documents": documents,
    }


def _prepared(event: dict) -> dict:
    """The domain's optional prepare_event, run before any transaction is opened (slow work such
    as KZhK's PAdES signature on a notice). A failure leaves the event as BPMS sent it."""
    kind = registry.case_kind(event["case_kind"])
    prepare = kind.prepare_event() if kind is not None else None
    if prepare is None:
        return event
    try:
        prepared = prepare(case_id=event["external_id"], event={
            "seq": event["seq"], "status": event["status"], "occurred_at": event["occurred_at"].isoformat(),
            "payload": dict(event["payload"]), "documents": list(event["documents"]),
        })
    except Exception:  # noqa: BLE001 — apply_event still runs and does what it can
        logger.exception("bpms event %s: prepare_event of %s failed", event["seq"], event["case_kind"])
        return event
    return {**event, "payload": prepared.get("payload", event["payload"]),
            "documents": prepared.get("documents", event["documents"])}


def _locked_case(event: dict) -> BpmsCase:
    """The case row, locked for this transaction (created on its first event)."""
    lookup = {"case_kind": event["case_kind"], "case_id": event["external_id"]}
    case = BpmsCase.objects.select_for_update().filter(**lookup).first()
    if case is None:
        try:
            with transaction.atomic():
                BpmsCase.objects.create(**lookup, bpms_case_id=event["bpms_case_id"])
        except IntegrityError:
            pass  # created meanwhile by the webhook or the feed
        case = BpmsCase.objects.select_for_update().get(**lookup)
    return case


def _with_deadline(case: BpmsCase, payload: dict) -> dict:
    """A registration event (payload.registered_at) sets the case's regulated review deadline."""
    raw = payload.get("registered_at")
    registered_at = parse_datetime(str(raw)) if raw else None
    if registered_at is None or registered_at.tzinfo is None:
        return payload
    payload = dict(payload)
    case.registered_at = registered_at
    route = selectors.route_for(case_kind=case.case_kind, category=str(payload.get("category") or ""))
    if route is not None:
        case.deadline = selectors.review_deadline(route, registered_at)
        payload["review_deadline"] = case.deadline.isoformat()
    return payload


def _record(case: BpmsCase, event: dict, *, source: str, outcome: str, error: str = "", kind=None, payload=None) -> None:
    AppliedEvent.objects.create(
        case=case, seq=event["seq"], case_seq=event["case_seq"], status=event["status"],
        occurred_at=event["occurred_at"], source=source, outcome=outcome, error=error,
        documents=[{"name": d.get("name", ""), "content_type": d.get("content_type", "")}
                   for d in event["documents"] if isinstance(d, dict)],
    )
    case.last_case_seq = event["case_seq"]
    if outcome == EventOutcome.APPLIED:
        case.last_status = event["status"][:40]
    if event["bpms_case_id"]:
        case.bpms_case_id = event["bpms_case_id"]
    if (payload or {}).get("final") or (kind is not None and event["status"] in kind.final_statuses):
        case.finished = True
    case.save(update_fields=["last_case_seq", "last_status", "bpms_case_id", "registered_at", "deadline", "finished", "updated_at"])


class _DomainFailed(Exception):
    pass


def event_apply(*, raw: dict, source: str = "feed", strict_order: bool = False) -> str:
    """Apply one BPMS event at most once. Returns "applied", "failed" (the domain refused; recorded
    for admin), "unknown_kind", "duplicate" (seen before, or older than what was applied: a
    status never moves backwards) or "gap" (strict_order only — the webhook path: an earlier
    event of the case is missing; the feed will bring both in order).

    One transaction: lock the case row, check the per-case sequence, call the domain's
    apply_event, record the AppliedEvent (unique seq) and advance the case."""
    event = _prepared(_parse_event(raw))
    kind = registry.case_kind(event["case_kind"])
    try:
        with transaction.atomic():
            case = _locked_case(event)
            if event["case_seq"] <= case.last_case_seq:
                return "duplicate"
            if strict_order and event["case_seq"] != case.last_case_seq + 1:
                return "gap"
            payload = _with_deadline(case, event["payload"])
            if kind is None:
                _record(case, event, source=source, outcome=EventOutcome.UNKNOWN_KIND,
                        error=f"case kind {case.case_kind!r} is not registered", payload=payload)
                return str(EventOutcome.UNKNOWN_KIND)
            domain_event = {
                "seq": event["seq"], "status": event["status"], "occurred_at": event["occurred_at"].isoformat(),
                "payload": payload, "documents": event["documents"],
            }
            try:
                kind.apply_event()(case_id=case.case_id, event=domain_event)
            except Exception as exc:  # noqa: BLE001 — rolled back here, recorded below
                raise _DomainFailed(f"{type(exc).__name__}: {exc}"[:2000]) from exc
            _record(case, event, source=source, outcome=EventOutcome.APPLIED, kind=kind, payload=payload)
            return str(EventOutcome.APPLIED)
    except IntegrityError:
        if AppliedEvent.objects.filter(seq=event["seq"]).exists():
            return "duplicate"  # the same feed seq under another case: never applied twice
        raise
    except _DomainFailed as failure:
        logger.warning("bpms event %s for %s:%s refused by the domain: %s", event["seq"], event["case_kind"],
                       event["external_id"], failure)
        with transaction.atomic():
            case = _locked_case(event)
            if event["case_seq"] <= case.last_case_seq:
                return "duplicate"
            payload = _with_deadline(case, event["payload"])
            _record(case, event, source=source, outcome=EventOutcome.FAILED, error=str(failure), payload=payload)
        return str(EventOutcome.FAILED)


def event_reapply(*, applied_event: AppliedEvent) -> str:
    """Apply again an event the domain refused (or whose kind was not registered), e.g. after a
    fix: the event is fetched from BPMS (documents included) and given to the domain's
    apply_event once more (admin action). Returns the new outcome."""
    if applied_event.outcome == EventOutcome.APPLIED:
        return str(EventOutcome.APPLIED)
    case = applied_event.case
    kind = registry.case_kind(case.case_kind)
    if kind is None:
        return str(EventOutcome.UNKNOWN_KIND)
    if not case.bpms_case_id:
        raise BridgeError("the case has no BPMS id yet")
    answer = client.fetch_case(bpms_case_id=case.bpms_case_id)
    raw = next((e for e in answer.get("events") or [] if int(e.get("seq") or 0) == applied_event.seq), None)
    if raw is None:
        raise BridgeError(f"BPMS has no event {applied_event.seq} for {case.bpms_case_id}")
    event = _prepared(_parse_event(raw))
    try:
        with transaction.atomic():
            case = BpmsCase.objects.select_for_update().get(pk=case.pk)
            payload = _with_deadline(case, event["payload"])
            kind.apply_event()(case_id=case.case_id, event={
                "seq": event["seq"], "status": event["status"], "occurred_at": event["occurred_at"].isoformat(),
                "payload": payload, "documents": event["documents"],
            })
            AppliedEvent.objects.filter(pk=applied_event.pk).update(outcome=EventOutcome.APPLIED, error="")
            if event["case_seq"] == case.last_case_seq:
                case.last_status = event["status"][:40]
            if payload.get("final") or event["status"] in kind.final_statuses:
                case.finished = True
            case.save(update_fields=["last_status", "registered_at", "deadline", "finished", "updated_at"])
    except Exception as exc:  # noqa: BLE001 — the domain still refuses: keep it failed, with the new reason
        AppliedEvent.objects.filter(pk=applied_event.pk).update(
            outcome=EventOutcome.FAILED, error=f"{type(exc).__name__}: {exc}"[:2000])
        return str(EventOutcome.FAILED)
    return str(EventOutcome.APPLIED)


def events_prepare(*, raws: list[dict]) -> tuple[list[dict], dict[str, int]]:
    """Parse a feed chunk and run each domain's prepare_event — before any transaction opens."""
    counts: dict[str, int] = {}
    events = []
    for raw in raws:
        try:
            events.append(_prepared(_parse_event(raw)))
        except BridgeError:
            logger.exception("bpms feed: malformed event skipped: %r", raw.get("seq") if isinstance(raw, dict) else raw)
            counts["malformed"] = counts.get("malformed", 0) + 1
    return events, counts


def events_apply_batch(
    *, raws: list[dict], source: str = "feed", prepared: tuple[list[dict], dict[str, int]] | None = None
) -> dict[str, int]:
    """Apply many events (a feed chunk) in ONE transaction, with the same rules as
    `event_apply`: cases locked (all at once, in pk order), per-case sequence checked, each
    domain call in its own savepoint (a refusal never undoes the others), the AppliedEvent rows
    and the case updates written in bulk. Malformed events are logged and skipped.
    The caller owns the transaction boundary (feed_pull moves the cursor in it)."""
    events, counts = prepared if prepared is not None else events_prepare(raws=raws)
    counts = dict(counts)
    if not events:
        return counts
    events.sort(key=lambda e: e["seq"])
    now = timezone.now()
    with transaction.atomic():
        keys = {(e["case_kind"], e["external_id"]) for e in events}
        BpmsCase.objects.bulk_create([BpmsCase(case_kind=k, case_id=c) for k, c in keys], ignore_conflicts=True)
        locked = BpmsCase.objects.select_for_update().filter(
            case_id__in={c for _k, c in keys}, case_kind__in={k for k, _c in keys}).order_by("pk")
        cases = {(c.case_kind, c.case_id): c for c in locked}
        seen = set(AppliedEvent.objects.filter(seq__in=[e["seq"] for e in events]).values_list("seq", flat=True))
        new_rows, dirty = [], {}
        for event in events:
            case = cases[(event["case_kind"], event["external_id"])]
            if event["seq"] in seen or event["case_seq"] <= case.last_case_seq:
                counts["duplicate"] = counts.get("duplicate", 0) + 1
                continue
            seen.add(event["seq"])
            kind = registry.case_kind(case.case_kind)
            payload = _with_deadline(case, event["payload"])
            error = ""
            if kind is None:
                outcome = EventOutcome.UNKNOWN_KIND
                error = f"case kind {case.case_kind!r} is not registered"
            else:
                try:
                    with transaction.atomic():
                        kind.apply_event()(case_id=case.case_id, event={
                            "seq": event["seq"], "status": event["status"],
                            "occurred_at": event["occurred_at"].isoformat(), "payload": payload,
                            "documents": event["documents"],
                        })
                    outcome = EventOutcome.APPLIED
                except Exception as exc:  # noqa: BLE001 — rolled back to the savepoint, recorded
                    outcome = EventOutcome.FAILED
                    error = f"{type(exc).__name__}: {exc}"[:2000]
                    logger.warning("bpms event %s for %s:%s refused by the domain: %s", event["seq"],
                                   case.case_kind, case.case_id, error)
            new_rows.append(AppliedEvent(
                case=case, seq=event["seq"], case_seq=event["case_seq"], status=event["status"],
                occurred_at=event["occurred_at"], source=source, outcome=outcome, error=error,
                documents=[{"name": d.get("name", ""), "content_type": d.get("content_type", "")}
                           for d in event["documents"] if isinstance(d, dict)],
            ))
            case.last_case_seq = event["case_seq"]
            if outcome == EventOutcome.APPLIED:
                case.last_status = event["status"][:40]
            if event["bpms_case_id"]:
                case.bpms_case_id = event["bpms_case_id"]
            if payload.get("final") or (kind is not None and event["status"] in kind.final_statuses):
                case.finished = True
            case.updated_at = now
            dirty[case.pk] = case
            counts[str(outcome)] = counts.get(str(outcome), 0) + 1
        AppliedEvent.objects.bulk_create(new_rows)
        BpmsCase.objects.bulk_update(
            list(dirty.values()),
            ["last_case_seq", "last_status", "bpms_case_id", "registered_at", "deadline", "finished", "updated_at"],
        )
    return counts


def _seq_of(raw) -> int:
    try:
        return int(raw.get("seq") or 0)
    except (AttributeError, TypeError, ValueError):
        return 0


def feed_pull(*, limit: int = 500, max_pages: int = 50, chunk: int = 100) -> int:
    """Apply the feed from the acknowledged cursor; one run at a time. Returns events handled.

    Events are applied in chunks of `chunk` per transaction (`events_apply_batch`: each event
    in its own savepoint, so one refusal never undoes the others) and the cursor moves in the
    same transaction: a crash re-reads at most one chunk, which the per-case sequence makes
    harmless."""
    lock_timeout = int(conf("BPMS_FEED_LOCK_SECONDS", 300))
    if not cache.add(FEED_LOCK_KEY, "1", timeout=lock_timeout):
        return 0
    handled = 0
    try:
        cursor, _ = FeedCursor.objects.get_or_create(name=FEED_CURSOR)
        last_seq = cursor.last_seq
        for _page in range(max_pages):
            events = sorted(client.fetch_events(after=last_seq, limit=limit), key=_seq_of)
            if not events:
                break
            for start in range(0, len(events), chunk):
                part = events[start:start + chunk]
                prepared = events_prepare(raws=part)  # slow domain work (PDF signing) outside the transaction
                with transaction.atomic():
                    events_apply_batch(raws=part, source="feed", prepared=prepared)
                    handled += len(part)
                    last_seq = max(last_seq, max(_seq_of(raw) for raw in part))
                    # Monotonic even if two pulls ever overlap (the lock is per cache backend).
                    FeedCursor.objects.filter(pk=cursor.pk).update(last_seq=Greatest(F("last_seq"), last_seq), updated_at=timezone.now())
            if len(events) < limit:
                break
    finally:
        cache.delete(FEED_LOCK_KEY)
    return handled
