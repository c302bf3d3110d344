"""Writes of bpms_bridge: the outbox to BPMS Simbase and the application of inbound events.

Outbox: `outbox_enqueue` is called by a domain inside the transaction that changes its status;
`outbox_send` (Celery task `bpms_bridge.tasks.outbox_send_task`, scheduled on commit) sends
one row; `outbox_sweep` (beat) re-sends rows whose time has come. A row is claimed with a
lease before the HTTP call, so two workers never send it at the same moment; the idempotency
key makes a repeat (worker killed after BPMS accepted, sweeper racing a retry) harmless.

Inbound: one path (see the section below). `events_apply` applies webhook deliveries and feed
chunks through the domain's registered `apply_event`, at most once (unique feed seq and
per-case seq), in per-case order; `feed_pull` reads the feed from the acknowledged cursor;
`event_reapply` gives a refused event to the domain again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
import random

from django.core.cache import cache
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.db.models import F
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.text import get_valid_filename

from homeportal.celery import enqueue, enqueue_on_commit, publishes_batched
from homeportal.db import insert_rows, update_rows

from . import client, registry, selectors
from .client import conf
from .contract import ContractError, Event
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

    # The row is committed first; if the broker is down the sweeper sends it later.
    enqueue_on_commit(outbox_send_task, (message_id,),
                      countdown=min(countdown, MAX_COUNTDOWN_SECONDS) if countdown else None)


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
        max_attempts = int(conf("BPMS_OUTBOX_MAX_ATTEMPTS", 0))
        retry_for = dt.timedelta(hours=float(conf("BPMS_OUTBOX_RETRY_HOURS", 72.0)))
        if error.permanent or (max_attempts and message.attempts >= max_attempts) or \
                finished - message.created_at >= retry_for:
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
        if not enqueue(outbox_send_task, (pk,)):
            break  # the broker is down: the next sweep tries again
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
#
# ONE path for every inbound event — the webhook, the feed chunks and the admin re-apply:
#   parse (contract.Event: BPMS's names, base64 documents) → the domain's prepare_event, outside
#   any transaction → `_apply_events`: one transaction, cases locked in pk order, the sequence
#   checks (the bridge is the one owner of seq/case_seq), `_domain_apply` (a savepoint per event),
#   AppliedEvent rows and case updates in bulk. `event_reapply` re-runs `_domain_apply` for a
#   refused event fetched again from BPMS.

_CASE_FIELDS = ["last_case_seq", "last_status", "bpms_case_id", "registered_at", "deadline", "finished", "updated_at"]


def _parse_event(raw) -> Event:
    try:
        return Event.from_wire(raw)
    except ContractError as exc:
        raise BridgeError(str(exc)) from None


def _prepared(event: Event) -> Event:
    """Everything slow, before any transaction is opened: the domain's optional prepare_event
    (e.g. KZhK's PAdES signature on a notice, a PDF it renders), then the documents written to
    storage (domains reference `Document.stored_name`). A failing prepare leaves the event as
    BPMS sent it."""
    kind = registry.case_kind(event.case_kind)
    prepare = kind.prepare_event() if kind is not None else None
    if prepare is not None:
        try:
            prepared = prepare(case_id=event.external_id, event=event)
            if isinstance(prepared, Event):
                event = prepared
            elif prepared is not None:
                event = event.with_changes(payload=prepared.get("payload"), documents=prepared.get("documents"))
        except Exception:  # noqa: BLE001 — apply_event still runs and does what it can
            logger.exception("bpms event %s: prepare_event of %s failed", event.seq, event.case_kind)
    return _stored(event)


def _stored(event: Event) -> Event:
    """The event's documents written to the default storage (outside any transaction)."""
    if all(d.stored_name for d in event.documents):
        return event
    folder = f"bpms/{event.case_kind}/{event.occurred_at:%Y/%m}"
    documents = []
    for i, document in enumerate(event.documents):
        if not document.stored_name:
            try:
                name = f"{folder}/{event.seq}-{i}-{_safe_filename(document.name)}"
                document = dataclasses.replace(document, stored_name=default_storage.save(name, ContentFile(document.content)))
            except Exception:  # noqa: BLE001 — storage down: the domain stores it itself
                logger.exception("bpms event %s: document %s could not be stored ahead", event.seq, i)
        documents.append(document)
    return event.with_changes(documents=documents)


def _safe_filename(name: str) -> str:
    try:
        return get_valid_filename(name)[-120:]
    except SuspiciousFileOperation:
        return "document.pdf"


def _unseen(events: list[Event]) -> list[Event]:
    """The events not applied yet (every event arrives twice: webhook and feed): only those are
    worth the slow prepare step."""
    seen = set(AppliedEvent.objects.filter(seq__in=[e.seq for e in events]).values_list("seq", flat=True))
    return [e for e in events if e.seq not in seen]


def events_prepare(*, raws: list) -> list[Event | None]:
    """Parse events and run the slow steps (`_prepared`) of those not applied yet — before any
    transaction opens. A malformed event is logged and comes back as None."""
    parsed: list[Event | None] = []
    for raw in raws:
        try:
            parsed.append(_parse_event(raw))
        except BridgeError as exc:
            logger.warning("bpms: malformed event %r skipped: %s", raw.get("seq") if isinstance(raw, dict) else raw, exc)
            parsed.append(None)
    unseen = {e.seq for e in _unseen([e for e in parsed if e is not None])} if any(parsed) else set()
    return [_prepared(e) if e is not None and e.seq in unseen else e for e in parsed]


def _with_deadline(case: BpmsCase, event: Event) -> Event:
    """A registration event (payload.registered_at) sets the case's regulated review deadline."""
    raw = event.payload.get("registered_at")
    registered_at = parse_datetime(str(raw)) if raw else None
    if registered_at is None or registered_at.tzinfo is None:
        return event
    case.registered_at = registered_at
    route = selectors.route_for(case_kind=case.case_kind, category=str(event.payload.get("category") or ""))
    if route is None:
        return event
    case.deadline = selectors.review_deadline(route, registered_at)
    return event.with_changes(payload={**event.payload, "review_deadline": case.deadline.isoformat()})


class _Refused(Exception):
    pass


def _domain_apply(case: BpmsCase, kind, event: Event) -> tuple[str, str]:
    """One event given to its domain in its own savepoint: a refusal undoes only itself."""
    if kind is None:
        return EventOutcome.UNKNOWN_KIND, f"case kind {case.case_kind!r} is not registered"
    try:
        with transaction.atomic():
            apply_events = kind.apply_events()
            if apply_events is not None:
                (refusal,) = apply_events(items=[(case.case_id, event)])
                if refusal:
                    raise _Refused(refusal)
            else:
                kind.apply_event()(case_id=case.case_id, event=event)
    except Exception as exc:  # noqa: BLE001 — rolled back to the savepoint, recorded for admin
        error = (str(exc) if isinstance(exc, _Refused) else f"{type(exc).__name__}: {exc}")[:2000]
        logger.warning("bpms event %s for %s:%s refused by the domain: %s", event.seq, case.case_kind, case.case_id, error)
        return EventOutcome.FAILED, error
    return EventOutcome.APPLIED, ""


def _domain_apply_chunk(kind, pairs: list[tuple[BpmsCase, Event]]) -> list[tuple[str, str]]:
    """A chunk of one kind's events: set-wise through the domain's apply_events in one savepoint;
    if that raises (or the kind has no apply_events), one event at a time (`_domain_apply`)."""
    apply_events = kind.apply_events() if kind is not None else None
    if apply_events is not None and len(pairs) > 1:
        try:
            with transaction.atomic():
                refusals = apply_events(items=[(case.case_id, event) for case, event in pairs])
                if len(refusals) != len(pairs):
                    raise BridgeError(f"{kind.name}: {len(refusals)} answers for {len(pairs)} events")
        except Exception:  # noqa: BLE001 — undone; the events go one at a time below
            logger.warning("bpms: %s events of %s could not be applied as a chunk, one at a time instead",
                           len(pairs), kind.name, exc_info=True)
        else:
            outcomes = []
            for (case, event), refusal in zip(pairs, refusals, strict=True):
                if refusal:
                    logger.warning("bpms event %s for %s:%s refused by the domain: %s", event.seq, case.case_kind,
                                   case.case_id, refusal)
                outcomes.append((EventOutcome.FAILED, str(refusal)[:2000]) if refusal else (EventOutcome.APPLIED, ""))
            return outcomes
    return [_domain_apply(case, kind, event) for case, event in pairs]


def _advance(case: BpmsCase, event: Event, outcome: str, kind) -> None:
    """Move the case's bookkeeping past an event (in memory; the caller saves)."""
    case.last_case_seq = max(case.last_case_seq, event.case_seq)
    if outcome == EventOutcome.APPLIED and event.case_seq == case.last_case_seq:
        case.last_status = event.status[:40]
    if event.bpms_case_id:
        case.bpms_case_id = event.bpms_case_id
    if event.final or (kind is not None and event.status in kind.final_statuses):
        case.finished = True
    case.updated_at = timezone.now()


def _locked_cases(events: list[Event]) -> dict[tuple[str, str], BpmsCase]:
    """The cases of these events, created on their first event, locked in pk order."""
    keys = {(e.case_kind, e.external_id) for e in events}
    BpmsCase.objects.bulk_create([BpmsCase(case_kind=k, case_id=c) for k, c in keys], ignore_conflicts=True)
    locked = BpmsCase.objects.select_for_update().filter(
        case_id__in={c for _k, c in keys}, case_kind__in={k for k, _c in keys}).order_by("pk")
    return {(c.case_kind, c.case_id): c for c in locked}


def _apply_locked(events: list[Event | None], results: list[str], *, source: str, strict_order: bool) -> None:
    order = sorted((i for i, e in enumerate(events) if e is not None), key=lambda i: events[i].seq)
    cases = _locked_cases([events[i] for i in order])
    seen = set(AppliedEvent.objects.filter(seq__in=[events[i].seq for i in order]).values_list("seq", flat=True))
    last = {case.pk: case.last_case_seq for case in cases.values()}
    accepted: dict[str, list[int]] = {}  # case kind -> indexes, in feed order
    for i in order:
        event = events[i]
        case = cases[(event.case_kind, event.external_id)]
        if event.seq in seen or event.case_seq <= last[case.pk]:
            results[i] = "duplicate"  # seen before, or older than what was applied: never backwards
            continue
        if strict_order and event.case_seq != last[case.pk] + 1:
            results[i] = "gap"  # an earlier event of the case is missing: the feed brings both in order
            continue
        seen.add(event.seq)
        last[case.pk] = event.case_seq
        events[i] = _with_deadline(case, event)
        accepted.setdefault(case.case_kind, []).append(i)
    outcomes: dict[int, tuple[str, str]] = {}
    for name, indexes in accepted.items():
        kind = registry.case_kind(name)
        pairs = [(cases[(events[i].case_kind, events[i].external_id)], events[i]) for i in indexes]
        outcomes.update(zip(indexes, _domain_apply_chunk(kind, pairs), strict=True))
    rows, dirty = [], {}
    for i in order:
        if i not in outcomes:
            continue
        event, (outcome, error) = events[i], outcomes[i]
        case = cases[(event.case_kind, event.external_id)]
        rows.append(AppliedEvent(
            case=case, seq=event.seq, case_seq=event.case_seq, status=event.status, occurred_at=event.occurred_at,
            source=source, outcome=outcome, error=error,
            documents=[{"name": d.name, "content_type": d.content_type} for d in event.documents],
        ))
        _advance(case, event, outcome, registry.case_kind(case.case_kind))
        dirty[case.pk] = case
        results[i] = str(outcome)
    insert_rows(AppliedEvent, rows)  # one COPY
    update_rows(BpmsCase, list(dirty.values()), _CASE_FIELDS)


def events_apply(*, raws: list, source: str = "feed", strict_order: bool = False,
                 prepared: list[Event | None] | None = None) -> list[str]:
    """Apply BPMS events at most once, in per-case order; one result per event, in the order given:
    "applied", "failed" (the domain refused; recorded for admin), "unknown_kind", "duplicate"
    (seen before, or older than what was applied), "malformed", or "gap" (strict_order only — the
    webhook: an earlier event of the case is missing; the feed will bring both in order).

    `prepared` is `events_prepare(raws=raws)` when the caller already ran it outside its
    transaction (feed_pull); otherwise it runs here, so call this outside any transaction."""
    events = prepared if prepared is not None else events_prepare(raws=raws)
    results = ["malformed" if e is None else "" for e in events]
    if all(e is None for e in events):
        return results
    try:
        with transaction.atomic(), publishes_batched():  # the domains' tasks: one publish per hundred
            _apply_locked(events, results, source=source, strict_order=strict_order)
    except IntegrityError:
        # A concurrent transaction recorded one of these seqs first (under another case):
        # once more, where the up-front check now sees it.
        results = ["malformed" if e is None else "" for e in events]
        with transaction.atomic(), publishes_batched():
            _apply_locked(events, results, source=source, strict_order=strict_order)
    return results


def webhook_accept(*, raws: list) -> list[str]:
    """The webhook's part (#18: the answer within 100 ms): each event checked against the contract
    (no database), the valid ones handed to a worker in one publish (task bpms_bridge.webhook_apply)
    — "queued", or "malformed". With the broker down they are applied here instead, as before
    (`events_apply`). Lost either way, the feed brings them: it is the reliable path."""
    results, valid = [], []
    for raw in raws:
        try:
            _parse_event(raw)
        except BridgeError as exc:
            logger.warning("bpms webhook: malformed event %r skipped: %s", raw.get("seq") if isinstance(raw, dict) else raw, exc)
            results.append("malformed")
        else:
            results.append("queued")
            valid.append(raw)
    if not valid:
        return results
    from .tasks import webhook_apply_task

    if enqueue(webhook_apply_task, (valid,)):
        return results
    applied = iter(events_apply(raws=valid, source="webhook", strict_order=True))
    return [r if r == "malformed" else next(applied) for r in results]


def webhook_apply(*, raws: list) -> list[str]:
    """The worker's part of a webhook: `events_apply` in strict order; a gap (an earlier event of
    the case not here yet) asks for a feed pull, which brings the events in order."""
    results = events_apply(raws=raws, source="webhook", strict_order=True)
    if "gap" in results:
        from .tasks import feed_pull_task

        enqueue(feed_pull_task)
    return results


def event_apply(*, raw: dict, source: str = "feed", strict_order: bool = False) -> str:
    """`events_apply` for one event; a malformed one raises BridgeError."""
    _parse_event(raw)  # malformed: BridgeError for the caller
    return events_apply(raws=[raw], source=source, strict_order=strict_order)[0]


def events_apply_batch(*, raws: list, source: str = "feed", prepared: list[Event | None] | None = None) -> dict[str, int]:
    """`events_apply` for a feed chunk, answering the count of each result."""
    counts: dict[str, int] = {}
    for result in events_apply(raws=raws, source=source, prepared=prepared):
        counts[result] = counts.get(result, 0) + 1
    return counts


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
    answer = client.fetch_case(bpms_case_id=case.bpms_case_id)  # network: before the transaction
    raw = next((e for e in answer.get("events") or [] if _seq_of(e) == applied_event.seq), None)
    if raw is None:
        raise BridgeError(f"BPMS has no event {applied_event.seq} for {case.bpms_case_id}")
    event = _prepared(_parse_event(raw))
    with transaction.atomic():
        case = BpmsCase.objects.select_for_update().get(pk=case.pk)
        event = _with_deadline(case, event)
        outcome, error = _domain_apply(case, kind, event)
        AppliedEvent.objects.filter(pk=applied_event.pk).update(outcome=outcome, error=error)
        if outcome == EventOutcome.APPLIED:
            _advance(case, event, outcome, kind)
            case.save(update_fields=_CASE_FIELDS)
    return str(outcome)


def _seq_of(raw) -> int:
    try:
        return int(raw.get("seq") or 0)
    except (AttributeError, TypeError, ValueError):
        return 0


def feed_pull(*, limit: int = 500, max_pages: int = 50, chunk: int = 500) -> int:
    """Apply the feed from the acknowledged cursor; one run at a time. Returns events handled.

    Events are applied in chunks of `chunk` per transaction (`events_apply`: each event in its
    own savepoint, so one refusal never undoes the others) and the cursor moves in the same
    transaction: a crash re-reads at most one chunk, which the per-case sequence makes harmless.
    The HTTP calls and the domains' prepare step run between the transactions."""
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
                prepared = events_prepare(raws=part)
                with transaction.atomic():
                    events_apply(raws=part, source="feed", prepared=prepared)
                    handled += len(part)
                    last_seq = max(last_seq, max(_seq_of(raw) for raw in part))
                    # Monotonic even if two pulls ever overlap (the lock is per cache backend).
                    FeedCursor.objects.filter(pk=cursor.pk).update(last_seq=Greatest(F("last_seq"), last_seq), updated_at=timezone.now())
            if len(events) < limit:
                break
    finally:
        cache.delete(FEED_LOCK_KEY)
    return handled
