"""The history hash chain (issue #17; docs/history.md).

Every history row (`homeportal.history.HistoryEntry` subclasses: appeals, guarantee and subsidy
applications with their decision documents) is appended here as it is inserted, inside the
inserting transaction:

    hash      = sha256("homeportal-history/1\\n" + prev_hash + "\\n" + canonical_content)
    prev_hash = the hash of the previous row of the same object (GENESIS for its first row)
    head_n    = sha256(bytes(head_n-1) + bytes(hash_n))   # the global chain, in `chain_seq` order

`ChainHead` (one row) holds the global (seq, head); the UPDATE that reserves a place takes its
row lock, so appends are serialised until their transaction commits: `chain_seq` has no gaps
and follows commit order. Every hour `anchor_head()` has the TSA time-stamp (seq, head)
(outside any transaction). `verify()` recomputes everything and names each broken link.
"""

from __future__ import annotations

import contextlib
import contextvars
import datetime
import hashlib
import heapq
import json
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.apps import apps
from django.db import connections, router, transaction
from django.utils import timezone

from .models import GENESIS, Anchor, ChainHead, PurgedEntry, Verification

logger = logging.getLogger("audit.chain")

PREFIX = b"homeportal-history/1\n"
ANCHOR_PREFIX = b"homeportal-history-anchor/1\n"
PURGE_SETTING = "homeportal.history_purge"

_purging = contextvars.ContextVar("history_purging", default=False)


def purging() -> bool:
    return _purging.get()


# --- the rules ---------------------------------------------------------------------------------

def entry_hash(prev_hash: str, content: bytes) -> str:
    return hashlib.sha256(PREFIX + prev_hash.encode() + b"\n" + content).hexdigest()


def link(head: str, hash_: str) -> str:
    return hashlib.sha256(bytes.fromhex(head) + bytes.fromhex(hash_)).hexdigest()


def anchor_message(seq: int, head: str) -> bytes:
    return ANCHOR_PREFIX + f"{seq}\n{head}".encode()


def chained_models() -> list:
    from homeportal.history import HistoryEntry

    return sorted((m for m in apps.get_models() if issubclass(m, HistoryEntry)), key=lambda m: m._meta.label)


# --- appending ---------------------------------------------------------------------------------

def _reserve(cursor, count: int) -> tuple[int, str]:
    """Locks the head row and reserves `count` places: (first seq, head before them)."""
    for _ in range(2):
        cursor.execute("UPDATE audit_chainhead SET seq = seq + %s WHERE id = 1 RETURNING seq, head", [count])
        row = cursor.fetchone()
        if row is not None:
            return row[0] - count + 1, row[1]
        # No head yet (a fresh or flushed database): the first append creates it.
        cursor.execute("INSERT INTO audit_chainhead (id, seq, head) VALUES (1, 0, %s) ON CONFLICT DO NOTHING",
                       [GENESIS])
    raise RuntimeError("history chain head unavailable")


def _set_head(cursor, head: str) -> None:
    cursor.execute("UPDATE audit_chainhead SET head = %s, updated_at = %s WHERE id = 1", [head, timezone.now()])


def chain_sources() -> list:
    """Every chained model: the history models, then the signature records (signing.Signature)."""
    from signing.models import Signature

    return [*chained_models(), Signature]


def _owner_field(model):
    return model._meta.get_field(model.chain_owner_field())


def _last_hash(cursor, model, owner_id) -> str:
    qn = cursor.db.ops.quote_name
    owner_column = _owner_field(model).column
    # Identifiers from the model's meta, quoted; the value is a parameter.
    sql = (f"SELECT {qn('hash')} FROM {qn(model._meta.db_table)} WHERE {qn(owner_column)} = %s "  # noqa: S608
           f"AND {qn('chain_seq')} IS NOT NULL ORDER BY {qn('chain_seq')} DESC LIMIT 1")
    cursor.execute(sql, [owner_id])
    row = cursor.fetchone()
    return row[0] if row else GENESIS


def _last_hashes(cursor, model, owner_ids: list) -> dict:
    """`_last_hash` of many owners in one statement (the BPMS feed appends a chunk's rows at once)."""
    if len(owner_ids) == 1:
        return {owner_ids[0]: _last_hash(cursor, model, owner_ids[0])}
    qn = cursor.db.ops.quote_name
    field = _owner_field(model)
    owner_type = field.db_type(cursor.db)
    # Identifiers and the type from the model's meta, quoted; the values are a parameter.
    sql = (f"SELECT o.id, (SELECT {qn('hash')} FROM {qn(model._meta.db_table)} WHERE {qn(field.column)} = o.id "  # noqa: S608
           f"AND {qn('chain_seq')} IS NOT NULL ORDER BY {qn('chain_seq')} DESC LIMIT 1) "
           f"FROM unnest(%s::{owner_type}[]) AS o(id)")
    cursor.execute(sql, [list(owner_ids)])
    return {owner_id: last or GENESIS for owner_id, last in cursor.fetchall()}


# One function per type of the column that names a row's chain: bigint (a history row's object),
# text (a signature record's `chain_object`). The head row is locked by SELECT … FOR UPDATE and
# written once (one row version per append).
_APPEND_FUNCTION = r"""
CREATE OR REPLACE FUNCTION audit_chain_append(history_table text, owner_column text, owner_id OWNER_TYPE,
                                              content bytea)
RETURNS TABLE (seq bigint, prev_hash text, hash text) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
    head_before text;
BEGIN
    -- The head's row lock first (held to the commit): it serialises every append.
    SELECT h.seq + 1, h.head INTO seq, head_before FROM audit_chainhead h WHERE h.id = 1 FOR UPDATE;
    IF NOT FOUND THEN
        INSERT INTO audit_chainhead (id, seq, head) VALUES (1, 0, repeat('0', 64)) ON CONFLICT DO NOTHING;
        SELECT h.seq + 1, h.head INTO seq, head_before FROM audit_chainhead h WHERE h.id = 1 FOR UPDATE;
    END IF;
    -- A new statement, a new snapshot: the object's last row as committed before the lock was ours.
    EXECUTE format('SELECT hash FROM %I WHERE %I = $1 AND chain_seq IS NOT NULL ORDER BY chain_seq DESC LIMIT 1',
                   history_table, owner_column) USING owner_id INTO prev_hash;
    prev_hash := coalesce(prev_hash, repeat('0', 64));
    hash := encode(sha256(convert_to(E'homeportal-history/1\n', 'UTF8') || convert_to(prev_hash, 'UTF8')
                          || convert_to(E'\n', 'UTF8') || content), 'hex');
    UPDATE audit_chainhead h
       SET seq = audit_chain_append.seq, updated_at = now(),
           head = encode(sha256(decode(head_before, 'hex') || decode(audit_chain_append.hash, 'hex')), 'hex')
     WHERE h.id = 1;
    RETURN NEXT;
END
$$;
"""
APPEND_FUNCTION = "\n".join(_APPEND_FUNCTION.replace("OWNER_TYPE", t) for t in ("bigint", "text"))


INSERT_TRIGGER_FUNCTION = r"""
CREATE OR REPLACE FUNCTION audit_chain_on_insert() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    owner_id bigint;
    appended record;
BEGIN
    IF NEW.chain_content IS NULL THEN  -- chained already (append_many, migrations) or not at all
        RETURN NEW;
    END IF;
    EXECUTE format('SELECT ($1).%I', TG_ARGV[0]) USING NEW INTO owner_id;
    SELECT * INTO appended FROM audit_chain_append(TG_TABLE_NAME::text, TG_ARGV[0], owner_id, NEW.chain_content);
    NEW.chain_seq := appended.seq;
    NEW.prev_hash := appended.prev_hash;
    NEW.hash := appended.hash;
    NEW.chain_content := NULL;
    RETURN NEW;
END
$$;
"""


def install_insert_triggers(schema_editor, tables: dict[str, str]) -> None:
    """`BEFORE INSERT` on each history table ({table: owner column}): a row inserted with its
    canonical content is chained by the INSERT itself (PostgreSQL; `HistoryEntry.save`)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(INSERT_TRIGGER_FUNCTION, None)
    for table, owner_column in tables.items():
        schema_editor.execute(f'DROP TRIGGER IF EXISTS audit_chain ON "{table}"; '
                              f'CREATE TRIGGER audit_chain BEFORE INSERT ON "{table}" FOR EACH ROW '
                              f"EXECUTE FUNCTION audit_chain_on_insert('{owner_column}');", None)


def chained_by_trigger(using: str) -> bool:
    return connections[using].vendor == "postgresql"


def install_append_function(schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(APPEND_FUNCTION, None)


def _append_sql(model, connection) -> tuple[str, str]:
    field = _owner_field(model)
    cast = "bigint" if field.db_type(connection) in ("bigint", "integer") else "text"
    # The cast is one of two words; the table, column and values are parameters.
    return (f"SELECT seq, prev_hash, hash FROM audit_chain_append(%s, %s, %s::{cast}, %s)",  # noqa: S608
            field.column)


def append(entry, *, using: str | None = None) -> None:
    """Chains one unsaved row; the caller inserts it in the same transaction. PostgreSQL: one
    round trip (`audit_chain_append`, the same rules in SQL — verify recomputes them in Python);
    elsewhere `append_many`."""
    using = using or router.db_for_write(type(entry))
    connection = connections[using]
    if connection.vendor != "postgresql":
        append_many([entry], using=using)
        return
    if not connection.in_atomic_block:
        raise RuntimeError("history entries are chained inside the inserting transaction")
    content = entry.canonical_content()
    model = type(entry)
    sql, column = _append_sql(model, connection)
    with connection.cursor() as cursor:
        cursor.execute(sql, [model._meta.db_table, column, entry.chain_owner_value(), content])
        entry.chain_seq, entry.prev_hash, entry.hash = cursor.fetchone()


def append_many(entries: list, *, using: str | None = None) -> None:
    if not entries:
        return
    using = using or router.db_for_write(type(entries[0]))
    contents = [e.canonical_content() for e in entries]  # before the lock: it may read the owner/signature
    connection = connections[using]
    if not connection.in_atomic_block:
        raise RuntimeError("history entries are chained inside the inserting transaction")
    with connection.cursor() as cursor:
        seq, head = _reserve(cursor, len(entries))
        owners: dict[type, list] = {}
        for entry in entries:
            owner_id = entry.chain_owner_value()
            if owner_id not in owners.setdefault(type(entry), []):
                owners[type(entry)].append(owner_id)
        last: dict[tuple, str] = {(model._meta.label, owner_id): prev for model, ids in owners.items()
                                  for owner_id, prev in _last_hashes(cursor, model, ids).items()}
        for entry, content in zip(entries, contents, strict=True):
            key = (type(entry)._meta.label, entry.chain_owner_value())
            prev = last[key]
            entry.chain_seq = seq
            entry.prev_hash = prev
            entry.hash = entry_hash(prev, content)
            head = link(head, entry.hash)
            last[key] = entry.hash
            seq += 1
        _set_head(cursor, head)


def seal(record, *, using: str | None = None) -> None:
    """Chains a record inserted with `save(chain_later=True)` (a signature stored before the locks
    its completion takes): the last step of the inserting transaction, so the chain head's lock is
    the last one taken (docs/history.md, lock order). The trigger lets exactly this through: the
    chain columns set once on a row that had none."""
    model = type(record)
    using = using or router.db_for_write(model)
    append_many([record], using=using) if connections[using].vendor != "postgresql" else append(record, using=using)
    qn = connections[using].ops.quote_name
    with connections[using].cursor() as cursor:
        # Identifiers from the model's meta, quoted; the values are parameters.
        cursor.execute(f"UPDATE {qn(model._meta.db_table)} SET chain_seq = %s, prev_hash = %s, hash = %s "  # noqa: S608
                       f"WHERE {qn(model._meta.pk.column)} = %s AND chain_seq IS NULL",
                       [record.chain_seq, record.prev_hash, record.hash, record.pk])
        if cursor.rowcount != 1:
            raise RuntimeError("the record is chained already")


@contextlib.contextmanager
def _purge_allowed(using: str):
    connection = connections[using]
    token = _purging.set(True)
    postgres = connection.vendor == "postgresql"
    try:
        if postgres:
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config(%s, 'on', true)", [PURGE_SETTING])
        yield
    finally:
        _purging.reset(token)
        if postgres:
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config(%s, 'off', true)", [PURGE_SETTING])


def purge(queryset, *, reason: str) -> int:
    """Deletes the history of a never-sent draft being deleted (the only deletion there is): each
    row's (seq, hash) stays in `PurgedEntry`, so the global chain still verifies."""
    model = queryset.model
    using = queryset.db
    with transaction.atomic(using=using):
        rows = list(queryset.values_list("pk", "chain_seq", "hash", model.owner_key_field()))
        PurgedEntry.objects.using(using).bulk_create([
            PurgedEntry(chain_seq=seq, hash=hash_, source=model._meta.label, entry_id=pk, reason=reason[:100],
                        object_key=model.object_key_of(model._meta.get_field(model.OWNER_FIELD).related_model, owner))
            for pk, seq, hash_, owner in rows if seq is not None
        ])
        with _purge_allowed(using):
            deleted, _ = queryset.delete()
    return deleted


# --- PostgreSQL triggers -----------------------------------------------------------------------

TRIGGER_FUNCTION = f"""
CREATE OR REPLACE FUNCTION audit_history_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND TG_ARGV[0] = 'purgeable'
       AND coalesce(current_setting('{PURGE_SETTING}', true), '') = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'history is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE OR REPLACE FUNCTION audit_chainhead_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' OR NEW.seq < OLD.seq THEN
        RAISE EXCEPTION 'the history chain head only moves forward' USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN NEW;
END
$$;
"""


def trigger_sql(table: str, *, purgeable: bool) -> str:
    arg = "purgeable" if purgeable else "fixed"
    return (f'DROP TRIGGER IF EXISTS audit_immutable ON "{table}"; '
            f'CREATE TRIGGER audit_immutable BEFORE UPDATE OR DELETE ON "{table}" '
            f"FOR EACH ROW EXECUTE FUNCTION audit_history_immutable('{arg}');")


def install_triggers(schema_editor, history_tables: Iterable[str]) -> None:
    """PostgreSQL only (SQLite has no session setting to let a purge through: there the models'
    refusal is the only guard — docs/history.md)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    statements = [TRIGGER_FUNCTION]
    statements += [trigger_sql(t, purgeable=True) for t in history_tables]
    statements += [trigger_sql(t, purgeable=False) for t in ("audit_anchor", "audit_purgedentry")]
    statements.append('DROP TRIGGER IF EXISTS audit_forward ON "audit_chainhead"; '
                      'CREATE TRIGGER audit_forward BEFORE UPDATE OR DELETE ON "audit_chainhead" '
                      "FOR EACH ROW EXECUTE FUNCTION audit_chainhead_forward();")
    for sql in statements:
        schema_editor.execute(sql, None)


SIGNATURE_TABLE = "signing_signature"
SIGNATURE_TRIGGER_FUNCTION = """
CREATE OR REPLACE FUNCTION audit_signature_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    free_columns text[] := ARRAY['signing_request_id', 'organization_id', 'in_pades_pdf'];
    chain_columns text[] := ARRAY['chain_seq', 'prev_hash', 'hash'];
BEGIN
    IF TG_OP = 'UPDATE' THEN
        -- The signing request or organization deleted (SET_NULL): those keys are not hashed, the
        -- record's chain_object names what was signed. in_pades_pdf: a display flag, not hashed.
        IF (to_jsonb(NEW) - free_columns) = (to_jsonb(OLD) - free_columns)
           AND (NEW.signing_request_id IS NULL OR NEW.signing_request_id = OLD.signing_request_id)
           AND (NEW.organization_id IS NULL OR NEW.organization_id = OLD.organization_id) THEN
            RETURN NEW;
        END IF;
        -- audit.chain.seal(): the chain columns set once on a record that had none.
        IF OLD.chain_seq IS NULL AND NEW.chain_seq IS NOT NULL
           AND (to_jsonb(NEW) - chain_columns) = (to_jsonb(OLD) - chain_columns) THEN
            RETURN NEW;
        END IF;
    END IF;
    RAISE EXCEPTION 'history is append-only: % on % refused', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END
$$;
"""


def install_signature_trigger(schema_editor) -> None:
    """Signature records: UPDATE and DELETE refused, but for the two exceptions above (PostgreSQL only)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(SIGNATURE_TRIGGER_FUNCTION, None)
    schema_editor.execute(f'DROP TRIGGER IF EXISTS audit_immutable ON "{SIGNATURE_TABLE}"; '
                          f'CREATE TRIGGER audit_immutable BEFORE UPDATE OR DELETE ON "{SIGNATURE_TABLE}" '
                          "FOR EACH ROW EXECUTE FUNCTION audit_signature_immutable();", None)


def missing_triggers(using: str = "default") -> list[str]:
    connection = connections[using]
    if connection.vendor != "postgresql":
        return []
    tables = [m._meta.db_table for m in chain_sources()] + ["audit_anchor", "audit_purgedentry"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT t.tgname, c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                       "WHERE t.tgname IN ('audit_immutable', 'audit_chain') AND t.tgenabled <> 'D'")
        present = set(cursor.fetchall())
    missing = [t for t in tables if ("audit_immutable", t) not in present]
    # The chaining trigger of history inserts (audit/0005): without it new rows are not chained.
    return missing + [f"{m._meta.db_table} (chaining)" for m in chained_models()
                      if ("audit_chain", m._meta.db_table) not in present]


# --- verifying ---------------------------------------------------------------------------------

@dataclass
class Problem:
    kind: str  # modified | deleted | inserted | reordered | head | anchor | trigger
    detail: str
    seq: int | None = None
    source: str = ""
    entry_id: int | None = None
    object_key: str = ""

    def as_dict(self) -> dict:
        return {"kind": self.kind, "detail": self.detail, "seq": self.seq, "source": self.source,
                "entry_id": self.entry_id, "object": self.object_key}

    def __str__(self):
        where = f"{self.source} #{self.entry_id}" if self.entry_id is not None else ""
        seq = f" (seq {self.seq})" if self.seq is not None else ""
        return f"{self.kind}: {where}{seq} {self.detail}".strip()


@dataclass
class Report:
    entries: int = 0
    anchors: int = 0
    problems: list[Problem] = field(default_factory=list)
    head_seq: int = 0
    head: str = GENESIS
    last_anchor: Anchor | None = None

    @property
    def intact(self) -> bool:
        return not self.problems

    def broken_entries(self) -> set[tuple[str, int]]:
        return {(p.source, p.entry_id) for p in self.problems if p.entry_id is not None}


# A row of the merged stream, a plain tuple (one per entry: no object per row):
# (seq, tiebreak, source label, entry id, object key, prev_hash, hash, canonical content or None)
# `tiebreak` orders rows of one seq (only a forged duplicate) without comparing the contents;
# a purged entry has content None (only its link is known).
SEQ, _TIE, SOURCE, ENTRY_ID, OBJECT, PREV, HASH, CONTENT = range(8)
PURGED_TIE = 1 << 20
CHECKED_ELSEWHERE = b""  # the content hash is checked by a worker process (`verify(workers=…)`)
PARALLEL_FROM = 200_000  # entries: fewer are verified in one process


class _Reader:
    """Streams one history model's rows in chain order, with their canonical content."""

    def __init__(self, model, using: str, owner_id=None, tiebreak: int = 0, *, seq_range: tuple | None = None,
                 content: bool = True):
        from homeportal.history import CHAIN_FIELDS

        self.model = model
        self.using = using
        self.owner_id = owner_id
        self.tiebreak = tiebreak
        self.seq_range = seq_range  # (first, last) chain_seq: a worker's part (PostgreSQL)
        self.content = content  # False: the links only, CONTENT is CHECKED_ELSEWHERE (PostgreSQL)
        self.label = model._meta.label
        self.owner_model = model._meta.get_field(model.OWNER_FIELD).related_model
        self.columns = ("pk", "chain_seq", "prev_hash", "hash", model.owner_key_field(), "signature_id",
                        *CHAIN_FIELDS, *model.CHAIN_EXTRA_FIELDS)
        self.fields = CHAIN_FIELDS
        self.extra = model.CHAIN_EXTRA_FIELDS
        self._signatures: dict[int, dict | None] = {}

    def queryset(self):
        qs = self.model._default_manager.using(self.using)
        if self.owner_id is not None:
            qs = qs.filter(**{f"{self.model.OWNER_FIELD}_id": self.owner_id})
        return qs

    def _signature(self, pk):
        from homeportal.history import SIGNATURE_DIGEST_FIELDS, signature_digest

        if pk not in self._signatures:
            from signing.models import Signature

            values = Signature.objects.using(self.using).filter(pk=pk).values(*SIGNATURE_DIGEST_FIELDS).first()
            self._signatures[pk] = signature_digest(values) if values else {"missing": pk}
        return self._signatures[pk]

    def rows(self) -> Iterator[tuple]:
        from homeportal.history import chain_content_of

        if connections[self.using].vendor == "postgresql":
            yield from self._pg_rows()
            return
        label, key_of, owner_model, tie = self.label, self.model.object_key_of, self.owner_model, self.tiebreak
        end = 6 + len(self.fields)
        extra_names = self.extra
        values_iter = (self.queryset().filter(chain_seq__isnull=False).order_by("chain_seq")
                       .values_list(*self.columns).iterator(chunk_size=5000))
        for values in values_iter:
            key = key_of(owner_model, values[4])
            signature = self._signature(values[5]) if values[5] is not None else None
            extra = dict(zip(extra_names, values[end:], strict=True)) if extra_names else {}
            content = chain_content_of(key, *values[6:end], signature=signature, extra=extra)
            yield (values[1], tie, label, values[0], key, values[2], values[3], content)

    def _pg_rows(self) -> Iterator[tuple]:
        """PostgreSQL: the columns the hash needs through a server-side cursor (large batches,
        in `chain_seq` order by its index), without the ORM's per-value converters: the object key
        and the time (UTC, canonical text) made by the database, the payload as jsonb text parsed
        straight into its canonical form."""
        from homeportal.history import CHAIN_FIELDS, chain_content_from_db, chain_content_of

        connection = connections[self.using]
        qn = connection.ops.quote_name
        meta = self.model._meta
        owner_field = meta.get_field(self.model.OWNER_FIELD)
        owner_meta = self.owner_model._meta
        key_column = "public_id" if self.model.owner_key_field().endswith("__public_id") else owner_meta.pk.column
        columns = []
        for name in CHAIN_FIELDS:
            column = meta.get_field(name.removesuffix("_id")).column
            if name == "created_at":
                columns.append(f"""to_char(h.{qn(column)} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')""")
            elif name == "payload":
                columns.append(f"h.{qn(column)}::text")
            else:
                columns.append(f"h.{qn(column)}")
        columns += [f"h.{qn(meta.get_field(name.removesuffix('_id')).column)}" for name in self.extra]
        key_prefix = self.model.object_key_of(self.owner_model, "")
        # Identifiers from the model's meta, quoted; the key prefix and the owner are parameters.
        sql = (f"SELECT h.{qn(meta.pk.column)}, h.chain_seq, h.prev_hash, h.hash, "  # noqa: S608
               f"%s || o.{qn(key_column)}::text, h.{qn(meta.get_field('signature').column)}, {', '.join(columns)} "
               f"FROM {qn(meta.db_table)} h JOIN {qn(owner_meta.db_table)} o ON o.{qn(owner_meta.pk.column)} = "
               f"h.{qn(owner_field.column)} WHERE h.chain_seq IS NOT NULL")
        params = [key_prefix]
        if self.owner_id is not None:
            sql += f" AND h.{qn(owner_field.column)} = %s"
            params.append(self.owner_id)
        if self.seq_range is not None:
            sql += " AND h.chain_seq BETWEEN %s AND %s"
            params += list(self.seq_range)
        sql += " ORDER BY h.chain_seq"
        label, tie, extra_names = self.label, self.tiebreak, self.extra
        if not self.content:
            sql = (f"SELECT h.{qn(meta.pk.column)}, h.chain_seq, h.prev_hash, h.hash, "  # noqa: S608
                   f"%s || o.{qn(key_column)}::text " + sql[sql.index(" FROM "):])
            with connection.chunked_cursor() as cursor:
                cursor.execute(sql, params)
                while rows := cursor.fetchmany(20_000):
                    for pk, seq, prev, hash_, key in rows:
                        yield (seq, tie, label, pk, key, prev, hash_, CHECKED_ELSEWHERE)
            return
        signature_of = self._signature
        fields, payload_at = len(CHAIN_FIELDS), CHAIN_FIELDS.index("payload")
        with connection.chunked_cursor() as cursor:
            cursor.execute(sql, params)
            while rows := cursor.fetchmany(10_000):
                for (pk, seq, prev, hash_, key, signature_id, *values) in rows:
                    signature = signature_of(signature_id) if signature_id is not None else None
                    if extra_names:
                        extra, values = dict(zip(extra_names, values[fields:], strict=True)), values[:fields]
                    else:
                        extra = {}
                    try:
                        content = chain_content_from_db(key, *values, signature=signature, extra=extra)
                    except (TypeError, ValueError):  # a NULL where the model has none (forged): the general form
                        payload = values[payload_at]
                        content = chain_content_of(
                            key, *values[:payload_at], json.loads(payload) if payload is not None else None,
                            *values[payload_at + 1:], signature=signature, extra=extra)
                    yield (seq, tie, label, pk, key, prev, hash_, content)

    def unchained(self) -> list[tuple[int, str]]:
        return [(pk, self.model.object_key_of(self.owner_model, owner)) for pk, owner in
                self.queryset().filter(chain_seq__isnull=True).values_list("pk", self.model.owner_key_field())]


class _SignatureReader:
    """Streams the signature records (signing.Signature) in chain order, with their canonical
    content; optionally only those of some chains (`chain_objects`)."""

    def __init__(self, using: str, tiebreak: int = 0, chain_objects: set[str] | None = None):
        from signing.models import Signature

        self.model = Signature
        self.using = using
        self.tiebreak = tiebreak
        self.chain_objects = chain_objects
        self.label = Signature._meta.label

    def queryset(self):
        qs = self.model._default_manager.using(self.using)
        if self.chain_objects is not None:
            qs = qs.filter(chain_object__in=self.chain_objects)
        return qs

    def rows(self) -> Iterator[tuple]:
        from homeportal.history import SIGNATURE_RECORD_FIELDS, signature_record_content

        label, tie, names = self.label, self.tiebreak, SIGNATURE_RECORD_FIELDS
        # pk second: of two records with one place (a forged copy), the later one is the one reported.
        qs = (self.queryset().filter(chain_seq__isnull=False).order_by("chain_seq", "pk")
              .values_list("pk", "chain_seq", "prev_hash", "hash", "chain_object", *names))
        for pk, seq, prev, hash_, key, *values in qs.iterator(chunk_size=2000):
            content = signature_record_content(object_key=key, values=dict(zip(names, values, strict=True)))
            yield (seq, tie, label, pk, key, prev, hash_, content)

    def unchained(self) -> list[tuple[int, str]]:
        return list(self.queryset().filter(chain_seq__isnull=True).values_list("pk", "chain_object"))


def _signature_chains(obj, using: str) -> set[str]:
    """The signature chains an object's chain check covers: a signature record's own chain, a
    signed document's, and for an object with a history those of the signatures its rows record."""
    from signing.models import Signature, SignedDocument

    if isinstance(obj, Signature):
        return {obj.chain_object}
    if isinstance(obj, SignedDocument):
        return {f"signing.signeddocument:{obj.public_id}"}
    keys: set[str] = set()
    for model in chained_models():
        if isinstance(obj, _owner_field(model).related_model):
            keys.update(model._default_manager.using(using).filter(
                **{f"{model.OWNER_FIELD}_id": obj.pk, "signature__isnull": False})
                .values_list("signature__chain_object", flat=True).distinct())
    return keys


def _purged_rows(using: str, object_keys: set[str] | None = None) -> Iterator[tuple]:
    qs = PurgedEntry.objects.using(using).order_by("chain_seq")
    if object_keys is not None:
        qs = qs.filter(object_key__in=object_keys)
    for seq, source, entry_id, key, hash_ in qs.values_list("chain_seq", "source", "entry_id", "object_key",
                                                            "hash").iterator(chunk_size=5000):
        yield (seq, PURGED_TIE, source, entry_id, key, "", hash_, None)


def _merged(streams: list[Iterator[tuple]]) -> Iterator[tuple]:
    """The rows of several streams in chain order (tuples: seq first, then the tiebreak)."""
    return streams[0] if len(streams) == 1 else heapq.merge(*streams)


def _object_exists(object_key: str) -> bool:
    label, _, ident = object_key.partition(":")
    try:
        model = apps.get_model(label)
    except LookupError:
        return False
    lookup = "public_id" if any(f.name == "public_id" for f in model._meta.fields) else "pk"
    try:
        return model._default_manager.filter(**{lookup: ident}).exists()
    except Exception:  # noqa: BLE001 - a malformed key in a forged row: the object is not there
        return False


def _problem(kind: str, detail: str, row: tuple) -> Problem:
    return Problem(kind, detail, row[SEQ], row[SOURCE], row[ENTRY_ID], row[OBJECT])


def _broken_link(row: tuple, prev: tuple | None) -> Problem:
    if _hash_exists(row[SOURCE], row[PREV]):
        kind, detail = "reordered", "the entry's previous hash names another entry of the object"
    else:
        kind, detail = "deleted", "the entry's previous hash names an entry that is not there"
    if prev is not None:
        detail += f" (the previous entry here is {prev[SOURCE]} #{prev[ENTRY_ID]}, seq {prev[SEQ]})"
    return _problem(kind, detail, row)


def _check_links(rows: Iterable[tuple], report: Report) -> None:
    """The per-object rules, row by row in chain order: content hash and link to the previous
    row of the same object (`verify()` applies the same rules inline, with the global ones)."""
    last: dict[str, tuple] = {}
    sha256 = hashlib.sha256
    count = 0
    for row in rows:
        count += 1
        content = row[CONTENT]
        if content is not None:
            prev_hash = row[PREV]
            if sha256(PREFIX + prev_hash.encode() + b"\n" + content).hexdigest() != row[HASH]:
                report.problems.append(_problem("modified", "the entry's content does not match its hash", row))
            prev = last.get(row[OBJECT])
            if prev_hash != (prev[HASH] if prev is not None else GENESIS):
                report.problems.append(_broken_link(row, prev))
        last[row[OBJECT]] = row
    report.entries += count


def _hash_exists(source: str, hash_: str) -> bool:
    """Whether a row with this hash is there (a broken link to it: reordered; else: deleted).
    Asked only for broken links, so the verification keeps no set of every hash in memory."""
    if hash_ == GENESIS:
        return True  # a first row's link moved further down: reordered
    try:
        model = apps.get_model(source)
    except LookupError:
        return False
    return model._default_manager.filter(hash=hash_).exists() or PurgedEntry.objects.filter(hash=hash_).exists()


_INHERITED_CONNECTIONS: list = []


def _forget_inherited_connections() -> None:
    """A forked worker's first step: a database connection the parent still had open (a thread or
    greenlet of its own can keep one past `close_all`) is the parent's session on a shared socket.
    Using it mixes the two sessions; closing it — or letting it be collected — ends the parent's.
    It is kept referenced and never touched; the worker connects anew."""
    for conn in connections.all(initialized_only=True):
        if conn.connection is not None:
            _INHERITED_CONNECTIONS.append(conn.connection)
            conn.connection = None


def _modified_in(args: tuple) -> list[tuple]:
    """A worker's part of `verify(workers=…)`: the history rows with chain_seq in [first, last]
    whose content does not match their hash, as (seq, source, entry id, object key)."""
    using, first, last = args
    found = []
    try:
        for i, model in enumerate(chained_models()):
            for row in _Reader(model, using, tiebreak=i, seq_range=(first, last)).rows():
                if entry_hash(row[PREV], row[CONTENT]) != row[HASH]:
                    found.append((row[SEQ], row[SOURCE], row[ENTRY_ID], row[OBJECT]))
    finally:
        connections.close_all()
    return found


def _start_workers(using: str, workers: int, head_seq: int):
    """Forks `workers` processes that check the history rows' content hashes over equal parts of
    the chain while this process walks the links (PostgreSQL, outside any transaction: they
    connect anew and see what is committed). None when not worth it or not possible."""
    import multiprocessing

    if (workers < 2 or head_seq < PARALLEL_FROM or connections[using].vendor != "postgresql"
            or connections[using].in_atomic_block or multiprocessing.current_process().daemon):
        return None
    connections.close_all()  # the children must not share this process's connection
    pool = multiprocessing.get_context("fork").Pool(workers, initializer=_forget_inherited_connections)
    step = -(-head_seq // workers)
    bounds = [-(2**62)] + [i * step for i in range(1, workers)] + [2**62]  # forged places outside 1…head too
    parts = [(using, bounds[i] + (i > 0), bounds[i + 1]) for i in range(workers)]
    return pool, pool.map_async(_modified_in, parts)


def verify(*, using: str = "default", anchors: bool = True, record: bool = False, workers: int = 1) -> Report:
    """Recomputes every chain: each row's hash, each object's links, the global sequence (no gap,
    no duplicate), the global head against every anchor and against `ChainHead`, the anchors'
    time-stamp tokens, and (PostgreSQL) that the triggers are in place. One pass over the rows in
    `chain_seq` order, each row a tuple (1 000 000 entries: docs/history.md). `workers` > 1 (the
    command's default, PostgreSQL, a long chain, no open transaction): the history rows' content
    hashes are checked by that many forked processes, this one walks the links."""
    from asn1crypto import cms as acms

    from signing.trust import timestamp_check

    started = timezone.now()
    report = Report()
    head_row = ChainHead.objects.using(using).filter(pk=1).first()
    head_seq = head_row.seq if head_row else 0
    report.head_seq = head_seq
    parallel = _start_workers(using, workers, head_seq) if workers > 1 else None
    readers = [_Reader(m, using, tiebreak=i, content=parallel is None) for i, m in enumerate(chained_models())]
    readers.append(_SignatureReader(using, tiebreak=len(readers)))
    anchor_list = list(Anchor.objects.using(using).order_by("seq", "pk")) if anchors else []
    report.anchors = len(anchor_list)
    report.last_anchor = anchor_list[-1] if anchor_list else None
    problems = report.problems

    def check_anchor(anchor: Anchor, head: str | None):
        if head is None:
            problems.append(Problem("anchor", f"anchor of seq {anchor.seq} names no entry of the chain", anchor.seq))
        elif head != anchor.head:
            problems.append(Problem(
                "anchor", f"the chain up to seq {anchor.seq} does not match its time-stamped head "
                          f"({anchor.tsa_time:%Y-%m-%d %H:%M:%S} UTC)", anchor.seq))
        try:
            check = timestamp_check(acms.ContentInfo.load(bytes(anchor.token)), anchor_message(anchor.seq, anchor.head))
            ok, problem = check.ok, check.problem
        except Exception:  # noqa: BLE001 - a damaged token is a broken anchor
            ok, problem = False, "format"
        if not ok:
            problems.append(Problem("anchor", f"the time-stamp of seq {anchor.seq} does not verify ({problem})",
                                    anchor.seq))

    pending = list(anchor_list)
    while pending and pending[0].seq == 0:  # stamped while the chain was empty
        check_anchor(pending.pop(0), GENESIS)
    next_anchor = pending[0].seq if pending else None

    purged_objects: set[str] = set()
    last: dict[str, tuple] = {}  # each object's last row
    head = bytes(32)  # the global head (GENESIS), as bytes while walking
    expected, gap, before, count = 1, False, None, 0
    sha256, fromhex = hashlib.sha256, bytes.fromhex
    stream = _merged([r.rows() for r in readers] + [_purged_rows(using)])
    for row in stream:
        count += 1
        seq, content, hash_ = row[SEQ], row[CONTENT], row[HASH]
        if content is None:
            purged_objects.add(row[OBJECT])
        # The global rules: no duplicate, no gap, nothing beyond the head; the running head.
        if seq != expected:
            if seq < expected:
                problems.append(_problem("inserted", "a second entry with the same place in the chain", row))
            else:
                between = (f"between {before[SOURCE]} #{before[ENTRY_ID]} and {row[SOURCE]} #{row[ENTRY_ID]}"
                           if before else f"before {row[SOURCE]} #{row[ENTRY_ID]}")
                missing = f"seq {expected}" if seq == expected + 1 else f"seq {expected}–{seq - 1}"
                problems.append(Problem("deleted", f"entries missing from the chain: {missing}, {between}",
                                        expected, row[SOURCE], row[ENTRY_ID], row[OBJECT]))
                gap = True
        if seq >= expected:
            if seq > head_seq:
                problems.append(_problem("inserted", f"the entry lies beyond the chain head (seq {head_seq})", row))
            try:
                head = sha256(head + fromhex(hash_)).digest()
            except (ValueError, TypeError):  # a forged hash that is not hex: the head is broken from here
                head = sha256(head + str(hash_).encode()).digest()
            expected = seq + 1
            before = row
            while next_anchor is not None and next_anchor <= seq:
                anchor = pending.pop(0)
                check_anchor(anchor, head.hex() if anchor.seq == seq else None)
                next_anchor = pending[0].seq if pending else None
        # The object's rules: the content hash and the link to the object's previous row.
        if content is not None:
            prev_hash = row[PREV]
            if content and sha256(PREFIX + prev_hash.encode() + b"\n" + content).hexdigest() != hash_:
                problems.append(_problem("modified", "the entry's content does not match its hash", row))
            prev = last.get(row[OBJECT])
            if prev_hash != (prev[HASH] if prev is not None else GENESIS):
                problems.append(_broken_link(row, prev))
        last[row[OBJECT]] = row
    report.entries = count
    if parallel is not None:
        pool, result = parallel
        try:
            for part in result.get():
                for seq, source, entry_id, key in part:
                    problems.append(Problem("modified", "the entry's content does not match its hash", seq, source,
                                            entry_id, key))
        finally:
            pool.close()
            pool.join()
    for anchor in pending:  # anchors beyond the last entry
        check_anchor(anchor, None)
    last_seq = expected - 1
    report.head = head.hex()
    if head_row is not None and (last_seq != head_seq or (not gap and report.head != head_row.head)):
        problems.append(Problem("head", f"the chain head (seq {head_seq}) does not match the entries "
                                        f"(last seq {last_seq})", head_seq))
    for reader in readers:
        for pk, key in reader.unchained():
            problems.append(Problem("inserted", "the entry is not on the chain", None, reader.label, pk, key))
    for key in sorted(purged_objects):
        if _object_exists(key):
            problems.append(Problem("deleted", "entries of this object were purged but the object exists",
                                    object_key=key))
    for table in missing_triggers(using):
        problems.append(Problem("trigger", f"the append-only trigger on {table} is missing or disabled"))
    problems.sort(key=lambda p: (p.seq is None, p.seq or 0))
    if record:
        Verification.objects.using(using).create(
            started_at=started, finished_at=timezone.now(), intact=report.intact, entries=report.entries,
            anchors=report.anchors, problems=[p.as_dict() for p in problems[:50]])
    return report


def verify_object(obj, *, using: str = "default") -> Report:
    """One object's chain: each of its rows' hash and link (the global sequence and anchors are
    checked by `verify()`)."""
    report = Report()
    rows: list[Iterator[tuple]] = []
    key = None
    for i, model in enumerate(chained_models()):
        owner_model = model._meta.get_field(model.OWNER_FIELD).related_model
        if isinstance(obj, owner_model):
            reader = _Reader(model, using, owner_id=obj.pk, tiebreak=i)
            rows.append(reader.rows())
            key = model.object_key_of(owner_model, getattr(obj, "public_id", obj.pk))
            for pk, k in reader.unchained():
                report.problems.append(Problem("inserted", "the entry is not on the chain", None, reader.label, pk, k))
    signature_chains = _signature_chains(obj, using)
    if signature_chains:
        reader = _SignatureReader(using, tiebreak=len(rows), chain_objects=signature_chains)
        rows.append(reader.rows())
        for pk, k in reader.unchained():
            report.problems.append(Problem("inserted", "the entry is not on the chain", None, reader.label, pk, k))
    if key is not None:
        rows.append(_purged_rows(using, {key}))
        if PurgedEntry.objects.using(using).filter(object_key=key).exists():
            report.problems.append(Problem("deleted", "entries of this object were purged but the object exists",
                                           object_key=key))
    if rows:
        _check_links(_merged(rows), report)
    return report


def last_verification(using: str = "default") -> Verification | None:
    return Verification.objects.using(using).order_by("-finished_at", "-pk").first()


# --- anchoring ---------------------------------------------------------------------------------

def anchor_head(*, force: bool = False, using: str = "default") -> Anchor | None:
    """Time-stamps the current global head with the TSA (RFC 3161). No transaction is open while
    the TSA is asked: the head is read (committed), stamped, and the anchor inserted after.
    Skipped when the head has not moved since the last anchor (unless `force`)."""
    from signing.trust import request_timestamp, timestamp_check

    head_row = ChainHead.objects.using(using).filter(pk=1).first()
    seq, head = (head_row.seq, head_row.head) if head_row else (0, GENESIS)
    last = Anchor.objects.using(using).order_by("-seq", "-pk").first()
    if not force and last is not None and last.seq == seq:
        return None
    message = anchor_message(seq, head)
    token = request_timestamp(message)  # raises signing.trust.TrustError("tsa_unavailable")
    check = timestamp_check(token, message)
    return Anchor.objects.using(using).create(seq=seq, head=head, token=token.dump(),
                                              tsa_time=check.time or datetime.datetime.now(datetime.UTC))
