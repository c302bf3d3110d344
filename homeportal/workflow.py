"""The one workflow shape of the portal: every status machine (appeals, guarantee applications,
decision documents, and later subsidy applications) is a table of `Transition`s plus one
`Workflow` that applies it.

A domain writes its table as data (`<app>/transitions.py`) and builds its `Workflow` once in
`services.py` with one `on_enter` hook per target status (the target's data and side effects)
an optional `on_every` hook (data every move carries, run before the target's hook) and an
optional `after` hook run for every move once the history row is written (notifications). `Workflow.transition()` is
then the only code that changes the status:

1. stores an attached document (`payload["document"]`) in storage BEFORE any transaction is
   opened here (no transaction held across storage I/O; removed again if the move fails);
2. locks the row (`select_for_update`), checks the table: the move exists, the actor may make
   it, the required payload is there — otherwise logs and raises the domain's error;
3. sets the status, runs the target's `on_enter` hook, saves with `update_fields`;
4. writes the history row (a `homeportal.history.HistoryEntry`) with the payload the table
   names (required + optional keys) and the document;
5. runs `after`; hooks schedule notifications, tasks and e-mails with `step.on_commit`.
"""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from django.core.files.base import ContentFile
from django.db import OperationalError, models, transaction
from django.utils import timezone

logger = logging.getLogger("homeportal.workflow")


@dataclass(frozen=True)
class Transition:
    """One allowed move: from `source` to `target`, made by one of `actors`, carrying the
    `required` payload keys (present and non-empty) and possibly the `optional` ones."""

    source: str
    target: str
    actors: frozenset[str]
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()


@dataclass(frozen=True)
class Document:
    """A document a move carries (a notice, a ДС, a pledge agreement): its bytes and, when it is
    already in storage (bpms_bridge stores inbound documents before its transaction), the
    stored name — then it is referenced, not written again..."""

    name: str
    content: bytes
    content_type: str = "application/pdf"
    stored_name: str = ""


@dataclass(frozen=True)
class StoredDocument:
    """...or a document already written to storage (`path` is the storage name)."""

    name: str
    path: str
    content_type: str = "application/pdf"
    sha256: str = ""


class TransitionRefused(Exception):
    """The table does not allow the move (or its payload is missing). Domains pass their own
    error class to `Workflow(error=...)`; it is called as `error(message, code=...)`."""

    def __init__(self, message: str, *, code: str = "transition", field: str | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.field = field


@dataclass
class Step:
    """One move being made, as the hooks see it. Hooks change the locked object through
    `set()` (so the field is saved), add history data with `note()`, and defer side effects
    with `on_commit()`."""

    obj: models.Model
    rule: Transition
    actor: str
    user: object
    actor_name: str
    payload: dict
    now: datetime.datetime
    document: StoredDocument | None = None
    comment: str = ""
    fields: list[str] = field(default_factory=list)
    history_payload: dict = field(default_factory=dict)
    history_extra: dict = field(default_factory=dict)

    @property
    def source(self) -> str:
        return self.rule.source

    @property
    def target(self) -> str:
        return self.rule.target

    def set(self, **values) -> None:
        for name, value in values.items():
            setattr(self.obj, name, value)
            if name not in self.fields:
                self.fields.append(name)

    def note(self, **values) -> None:
        """Extra data for the history row's payload (JSON-safe values)."""
        self.history_payload.update(json_safe(values))

    def on_commit(self, fn: Callable[[], object]) -> None:
        transaction.on_commit(fn)


Hook = Callable[[Step], None]


class Workflow:
    """A status machine over `model.<field>` built from a table of `Transition`s."""

    def __init__(
        self, *, name: str, model: type[models.Model], transitions: Iterable[Transition], labels=None,
        field: str = "status", error: type[Exception] = TransitionRefused,
        refused_message: Callable[[str, str], str] | None = None,
        missing_message: Callable[[list[str]], str] | None = None,
        on_enter: Mapping[str, Hook] | None = None, on_every: Hook | None = None, after: Hook | None = None,
        history: Callable[[Step], models.Model | None] | None = None,
        history_document_field: Callable[[models.Model], models.FileField] | None = None,
        select_related: tuple[str, ...] = (), timestamp_field: str | None = "updated_at",
        actor_label: Callable[[str, object, models.Model], str] | None = None,
    ):
        self.name = name
        self.model = model
        self.transitions = tuple(transitions)
        self.table = {(t.source, t.target): t for t in self.transitions}
        if len(self.table) != len(self.transitions):
            raise ValueError(f"workflow {name}: a (source, target) pair is listed twice")
        self.labels = labels
        self.field = field
        self.error = error
        self.refused_message = refused_message
        self.missing_message = missing_message
        self.on_enter = dict(on_enter or {})
        unknown = set(self.on_enter) - {t.target for t in self.transitions}
        if unknown:
            raise ValueError(f"workflow {name}: on_enter hooks for statuses no move reaches: {sorted(unknown)}")
        self.on_every = on_every
        self.after = after
        self.history = history
        self.history_document_field = history_document_field
        self.select_related = select_related
        self.timestamp_field = timestamp_field
        # Who a history row names when the caller gives no name: (actor, user, object) -> str.
        self.actor_label = actor_label or (lambda actor, user, obj: user_name(user))

    # --- reading the table ------------------------------------------------------------------

    def find(self, source: str, target: str) -> Transition | None:
        return self.table.get((source, target))

    def allowed_targets(self, source: str, actor: str) -> list[str]:
        return [t.target for t in self.transitions if t.source == source and actor in t.actors]

    def statuses(self) -> set[str]:
        return {t.source for t in self.transitions} | {t.target for t in self.transitions}

    # --- the one move -----------------------------------------------------------------------

    def transition(
        self, obj: models.Model, *, to: str, actor: str, payload: Mapping | None = None, user=None,
        actor_name: str = "", comment: str = "", now: datetime.datetime | None = None,
    ) -> models.Model:
        """Moves `obj` to `to` if the table lets `actor` do it with this payload; returns the
        locked, saved object. Raises the workflow's error (and logs) otherwise."""
        now = now or timezone.now()
        payload = dict(payload or {})
        stored = self._store_document(obj, payload.get("document"))
        outermost = not transaction.get_connection().in_atomic_block
        try:
            for attempt in range(3):
                try:
                    with transaction.atomic():
                        return self._move(obj, to=to, actor=actor, payload=payload, user=user, actor_name=actor_name,
                                          comment=comment, now=now, document=stored)
                except OperationalError as exc:
                    # PostgreSQL chose this move as a deadlock's victim (the history chain's head is
                    # one lock more per move: docs/history.md). Outermost, the move is simply redone.
                    if not (outermost and attempt < 2 and _is_deadlock(exc)):
                        raise
                    logger.warning("%s %s: deadlock, the move is retried", self.name, obj.pk)
        except BaseException:
            written = payload.get("document")
            if stored is not None and isinstance(written, Document) and not written.stored_name:
                self._storage(obj).delete(stored.path)
            raise

    def _move(self, obj, *, to, actor, payload, user, actor_name, comment, now, document) -> models.Model:
        queryset = self.model.objects.select_for_update(of=("self",))
        if self.select_related:
            queryset = queryset.select_related(*self.select_related)
        locked = queryset.get(pk=obj.pk)
        step = self._step(locked, to=to, actor=actor, payload=payload, user=user, actor_name=actor_name,
                          comment=comment, now=now, document=document)
        self._run_hooks(step)
        locked.save(update_fields=step.fields)
        entry = self.history(step) if self.history is not None else None
        if entry is not None and entry.pk is None:
            entry.save()
        if self.after is not None:
            self.after(step)
        return locked

    def _step(self, locked, *, to, actor, payload, user, actor_name, comment, now, document) -> Step:
        """The table's checks for one move of a locked object: a refusal is logged and raised
        before anything about the object changes."""
        source = getattr(locked, self.field)
        rule = self.find(source, to)
        if rule is None or actor not in rule.actors:
            logger.warning("%s %s: transition %s -> %s by %s refused", self.name, locked.pk, source, to, actor)
            raise self.error(self._refused(source, to), code="transition")
        missing = [k for k in rule.required if _is_empty(payload.get(k))]
        if missing:
            logger.warning("%s %s: transition %s -> %s refused, missing %s", self.name, locked.pk, source, to, missing)
            message = self.missing_message(missing) if self.missing_message else f"missing: {', '.join(missing)}"
            raise self.error(message, code="payload")
        return Step(obj=locked, rule=rule, actor=actor, user=user, now=now, payload=payload, document=document,
                    actor_name=actor_name or self.actor_label(actor, user, locked), comment=comment)

    def _run_hooks(self, step: Step) -> None:
        payload, rule = step.payload, step.rule
        step.note(**{k: payload[k] for k in (*rule.required, *rule.optional) if k in payload and k != "document"})
        step.set(**{self.field: rule.target})
        if self.timestamp_field:
            step.set(**{self.timestamp_field: step.now})
        if self.on_every is not None:
            self.on_every(step)
        hook = self.on_enter.get(rule.target)
        if hook is not None:
            hook(step)

    def batch(self) -> Batch:
        """Many moves in the caller's transaction, written set-wise (see `Batch`)."""
        return Batch(self)

    def _refused(self, source: str, target: str) -> str:
        if self.refused_message is not None:
            return self.refused_message(self._label(source), self._label(target))
        return f"{source} -> {target} refused"

    def _label(self, status: str) -> str:
        if self.labels is not None and status in self.labels.values:
            return str(self.labels(status).label)
        return status

    # --- documents --------------------------------------------------------------------------

    def _storage(self, obj):
        return self.history_document_field(obj).storage

    def _store_document(self, obj, document) -> StoredDocument | None:
        if document is None or isinstance(document, StoredDocument):
            return document
        if not isinstance(document, Document):
            raise self.error("document must be a workflow.Document or StoredDocument", code="payload")
        if document.stored_name:
            return StoredDocument(name=document.name, path=document.stored_name, content_type=document.content_type,
                                  sha256=hashlib.sha256(document.content).hexdigest() if document.content else "")
        if self.history_document_field is None:
            raise self.error(f"workflow {self.name} does not store documents", code="payload")
        return store_document(self.history_document_field(obj), document)


class Batch:
    """Moves of many objects in one transaction, written set-wise — the BPMS feed applies hundreds
    of events per transaction. The caller holds the transaction and has locked the objects
    (`select_for_update`, in pk order, with the workflow's `select_related`). `move()` checks the
    table exactly as `transition()` does (a refusal raises the domain's error before the object
    changes) and runs the same hooks on the object in memory, one move after the other, so the
    next move of the same object sees its new status; `touch()` changes fields outside a move.
    `flush()` then writes every object's changed fields in one UPDATE per set of fields and the
    history rows in one INSERT. Hooks that write other rows do so at once, as in `transition()`.

    A hook that raises after the object changed leaves the batch unusable: the caller rolls the
    savepoint back and applies the moves one at a time (`transition()`), as bpms_bridge does."""

    def __init__(self, flow: Workflow):
        self.workflow = flow
        self.dirty: dict[object, tuple[models.Model, set[str]]] = {}
        self.histories: list[models.Model] = []

    def move(self, obj: models.Model, *, to: str, actor: str, payload: Mapping | None = None, user=None,
             actor_name: str = "", comment: str = "", now: datetime.datetime | None = None) -> models.Model:
        flow = self.workflow
        payload = dict(payload or {})
        document = payload.get("document")
        if document is not None and not (isinstance(document, StoredDocument)
                                         or (isinstance(document, Document) and document.stored_name)):
            # Storage I/O is never done inside the batch's transaction: one at a time instead.
            raise BatchUnsuitable(f"{flow.name} {obj.pk}: a document not in storage yet")
        step = flow._step(obj, to=to, actor=actor, payload=payload, user=user, actor_name=actor_name,
                          comment=comment, now=now or timezone.now(), document=flow._store_document(obj, document))
        try:
            flow._run_hooks(step)
            self._mark(obj, step.fields)
            entry = flow.history(step) if flow.history is not None else None
            if entry is not None and entry.pk is None:
                self.histories.append(entry)
            if flow.after is not None:
                flow.after(step)
        except Exception as exc:
            # The object changed in memory: the batch cannot go on (the caller undoes its savepoint).
            raise BatchBroken(f"{flow.name} {obj.pk}: a hook of {step.source} -> {step.target} failed: {exc}") from exc
        return obj

    def touch(self, obj: models.Model, **values) -> None:
        for name, value in values.items():
            setattr(obj, name, value)
        self._mark(obj, values)

    def _mark(self, obj, fields) -> None:
        _obj, marked = self.dirty.setdefault(obj.pk, (obj, set()))
        marked.update(fields)

    def flush(self) -> None:
        from .db import update_rows

        groups: dict[frozenset[str], list[models.Model]] = {}
        for obj, fields in self.dirty.values():
            groups.setdefault(frozenset(fields), []).append(obj)
        for fields, objs in groups.items():
            update_rows(self.workflow.model, objs, sorted(fields))
        by_model: dict[type, list[models.Model]] = {}
        for entry in self.histories:
            by_model.setdefault(type(entry), []).append(entry)
        for model, entries in by_model.items():
            append = getattr(model.objects, "bulk_append", None)  # history rows: chained, one COPY
            (append or model.objects.bulk_create)(entries)
        self.dirty.clear()
        self.histories.clear()


class BatchUnsuitable(Exception):
    """This move cannot be made in a batch; the caller makes the moves one at a time."""


class BatchBroken(Exception):
    """A hook failed halfway through a batch's move; the caller undoes the batch."""


def store_document(file_field: models.FileField, document: Document) -> StoredDocument:
    """Writes `document` where `file_field` (a bound FieldFile's field of an unsaved row) would;
    call it outside any transaction. The row later takes the path (`fieldfile.name = path`)."""
    instance, model_field = file_field.instance, file_field.field
    name = model_field.generate_filename(instance, document.name)
    path = model_field.storage.save(name, ContentFile(document.content), max_length=model_field.max_length)
    return StoredDocument(name=document.name, path=path, content_type=document.content_type,
                          sha256=hashlib.sha256(document.content).hexdigest())


def json_safe(values: Mapping) -> dict:
    """Payload values as the history row keeps them: dates as ISO strings, other objects as str."""
    out = {}
    for key, value in values.items():
        if isinstance(value, datetime.datetime | datetime.date):
            value = value.isoformat()
        elif dataclasses.is_dataclass(value):
            value = getattr(value, "name", str(value))
        out[key] = value if isinstance(value, str | int | float | bool | type(None)) else str(value)
    return out


def _is_deadlock(exc: Exception) -> bool:
    cause = exc.__cause__
    return getattr(cause, "sqlstate", None) == "40P01" or type(cause).__name__ == "DeadlockDetected"


def _is_empty(value) -> bool:
    return value is None or value == "" or value == b""


def user_name(user) -> str:
    if user is None:
        return ""
    return getattr(user, "full_name", "") or getattr(user, "username", "")
