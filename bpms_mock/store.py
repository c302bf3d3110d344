"""The mock's own storage: one SQLite file (var/bpms-mock/mock.sqlite3 by default).

One connection guarded by a lock: every write is serialised, so the global event `seq`
(AUTOINCREMENT) is assigned in commit order and the feed never skips a late commit.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

ASTANA = ZoneInfo("Asia/Almaty")

SCHEMA = """
CREATE TABLE IF NOT EXISTS cases (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id TEXT UNIQUE NOT NULL,
    case_kind TEXT NOT NULL,
    external_id TEXT NOT NULL,
    status TEXT NOT NULL,
    received_at TEXT NOT NULL,
    payload TEXT NOT NULL DEFAULT '{}',
    registration_number TEXT NOT NULL DEFAULT '',
    registered_at TEXT NOT NULL DEFAULT '',
    deadline TEXT NOT NULL DEFAULT '',
    executor TEXT NOT NULL DEFAULT '',
    executor_number TEXT NOT NULL DEFAULT '',
    autopilot INTEGER NOT NULL DEFAULT 1,
    finished INTEGER NOT NULL DEFAULT 0,
    case_seq INTEGER NOT NULL DEFAULT 0,
    last_change REAL NOT NULL,
    UNIQUE (case_kind, external_id)
);
CREATE TABLE IF NOT EXISTS messages (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    idempotency_key TEXT UNIQUE NOT NULL,
    case_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    received_at TEXT NOT NULL,
    answer TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    case_id TEXT NOT NULL,
    case_seq INTEGER NOT NULL,
    status TEXT NOT NULL,
    occurred_at TEXT NOT NULL,
    payload TEXT NOT NULL,
    documents TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_case ON events (case_id, case_seq);
"""


def now_local() -> dt.datetime:
    return dt.datetime.now(ASTANA)


class Store:
    def __init__(self, path: str | Path):
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        with self.lock:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.executescript(SCHEMA)

    # --- helpers -------------------------------------------------------------------------------
    def _one(self, sql: str, args=()) -> dict | None:
        row = self.db.execute(sql, args).fetchone()
        return dict(row) if row else None

    def reset(self) -> None:
        """Forget everything but the event sequence: seq is never reused, so a portal cursor
        that acknowledged seq N still sees every later event."""
        with self.lock:
            self.db.executescript("DELETE FROM events; DELETE FROM messages; DELETE FROM cases;")

    def max_seq(self) -> int:
        with self.lock:
            row = self.db.execute("SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
            return int(row[0]) if row else 0

    # --- cases ---------------------------------------------------------------------------------
    def case(self, case_id: str) -> dict | None:
        with self.lock:
            return self._one("SELECT * FROM cases WHERE case_id = ?", (case_id,))

    def case_by_external(self, case_kind: str, external_id: str) -> dict | None:
        with self.lock:
            return self._one("SELECT * FROM cases WHERE case_kind = ? AND external_id = ?", (case_kind, external_id))

    def cases(self, limit: int = 200) -> list[dict]:
        with self.lock:
            return [dict(r) for r in self.db.execute("SELECT * FROM cases ORDER BY id DESC LIMIT ?", (limit,))]

    def open_autopilot_cases(self, older_than: float) -> list[dict]:
        with self.lock:
            rows = self.db.execute(
                "SELECT * FROM cases WHERE autopilot = 1 AND finished = 0 AND last_change <= ? ORDER BY id", (older_than,)
            )
            return [dict(r) for r in rows]

    def _create_case(self, case_kind: str, external_id: str, status: str, payload: dict, autopilot: bool) -> dict:
        received = now_local()
        cur = self.db.execute(
            "INSERT INTO cases (case_id, case_kind, external_id, status, received_at, payload, autopilot, last_change)"
            " VALUES ('', ?, ?, ?, ?, ?, ?, ?)",
            (case_kind, external_id, status, received.isoformat(), json.dumps(payload, ensure_ascii=False), int(autopilot), time.time()),
        )
        case_id = f"SB-{received.year}-{cur.lastrowid:06d}"
        self.db.execute("UPDATE cases SET case_id = ? WHERE id = ?", (case_id, cur.lastrowid))
        return self._one("SELECT * FROM cases WHERE id = ?", (cur.lastrowid,))

    def update_case(self, case_id: str, **fields) -> None:
        if not fields:
            return
        cols = ", ".join(f"{k} = ?" for k in fields)
        with self.lock:
            self.db.execute(f"UPDATE cases SET {cols} WHERE case_id = ?", (*fields.values(), case_id))  # noqa: S608 — column names are ours

    # --- messages (idempotent) --------------------------------------------------------------------
    def accept_message(self, *, idempotency_key: str, case_kind: str, external_id: str, kind: str, payload: dict,
                       handle, autopilot: bool) -> tuple[dict, bool]:
        """Store a message once. `handle(case, kind, payload, created)` runs inside the same lock
        (and transaction) and returns the answer; a repeat returns the stored answer."""
        with self.lock:
            seen = self._one("SELECT answer FROM messages WHERE idempotency_key = ?", (idempotency_key,))
            if seen:
                return json.loads(seen["answer"]), True
            self.db.execute("BEGIN IMMEDIATE")
            try:
                case = self._one("SELECT * FROM cases WHERE case_kind = ? AND external_id = ?", (case_kind, external_id))
                created = False
                if case is None:
                    if kind != "submit":
                        self.db.execute("ROLLBACK")
                        return {"error": "unknown case", "status": 404}, False
                    case = self._create_case(case_kind, external_id, handle.initial_status(case_kind), payload, autopilot)
                    created = True
                answer = handle(case, kind, payload, created)
                cur = self.db.execute(
                    "INSERT INTO messages (idempotency_key, case_id, kind, payload, received_at, answer) VALUES (?, ?, ?, ?, ?, ?)",
                    (idempotency_key, case["case_id"], kind, json.dumps(payload, ensure_ascii=False), now_local().isoformat(), "{}"),
                )
                answer = {**answer, "message_id": cur.lastrowid, "case_id": case["case_id"]}
                self.db.execute("UPDATE messages SET answer = ? WHERE id = ?", (json.dumps(answer), cur.lastrowid))
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            return answer, False

    def messages_of(self, case_id: str) -> list[dict]:
        with self.lock:
            rows = self.db.execute("SELECT id, idempotency_key, kind, payload, received_at FROM messages WHERE case_id = ? ORDER BY id", (case_id,))
            return [dict(r) for r in rows]

    # --- events ---------------------------------------------------------------------------------
    def emit(self, case_id: str, status: str, *, payload: dict, documents: list, internal_status: str | None = None,
             finished: bool = False, case_fields: dict | None = None) -> dict:
        """Append one event (next global seq and next per-case seq) and move the case."""
        with self.lock:
            own_tx = not self.db.in_transaction
            if own_tx:
                self.db.execute("BEGIN IMMEDIATE")
            try:
                case = self._one("SELECT * FROM cases WHERE case_id = ?", (case_id,))
                case_seq = case["case_seq"] + 1
                occurred = now_local().isoformat()
                cur = self.db.execute(
                    "INSERT INTO events (case_id, case_seq, status, occurred_at, payload, documents) VALUES (?, ?, ?, ?, ?, ?)",
                    (case_id, case_seq, status, occurred, json.dumps(payload, ensure_ascii=False), json.dumps(documents)),
                )
                fields = {"status": internal_status or status, "case_seq": case_seq, "last_change": time.time(),
                          "finished": int(finished), **(case_fields or {})}
                cols = ", ".join(f"{k} = ?" for k in fields)
                self.db.execute(f"UPDATE cases SET {cols} WHERE case_id = ?", (*fields.values(), case_id))  # noqa: S608
                if own_tx:
                    self.db.execute("COMMIT")
            except BaseException:
                if own_tx:
                    self.db.execute("ROLLBACK")
                raise
            return self.event(cur.lastrowid)

    def set_internal_status(self, case_id: str, status: str) -> None:
        with self.lock:
            self.db.execute("UPDATE cases SET status = ?, last_change = ? WHERE case_id = ?", (status, time.time(), case_id))

    def _event_dict(self, row) -> dict:
        e = dict(row)
        return {
            "seq": e["seq"], "case_seq": e["case_seq"], "case_id": e["case_id"], "case_kind": e["case_kind"],
            "external_id": e["external_id"], "status": e["status"], "occurred_at": e["occurred_at"],
            "payload": json.loads(e["payload"]), "documents": json.loads(e["documents"]),
        }

    _EVENT_SQL = (
        "SELECT e.*, c.case_kind, c.external_id FROM events e JOIN cases c ON c.case_id = e.case_id "
    )

    def event(self, seq: int) -> dict | None:
        with self.lock:
            row = self.db.execute(self._EVENT_SQL + "WHERE e.seq = ?", (seq,)).fetchone()
            return self._event_dict(row) if row else None

    def events_after(self, after: int, limit: int) -> list[dict]:
        with self.lock:
            rows = self.db.execute(self._EVENT_SQL + "WHERE e.seq > ? ORDER BY e.seq LIMIT ?", (after, limit)).fetchall()
            return [self._event_dict(r) for r in rows]

    def events_of(self, case_id: str) -> list[dict]:
        with self.lock:
            rows = self.db.execute(self._EVENT_SQL + "WHERE e.case_id = ? ORDER BY e.seq", (case_id,)).fetchall()
            return [self._event_dict(r) for r in rows]

    def stats(self) -> dict:
        with self.lock:
            return {
                "cases": self.db.execute("SELECT COUNT(*) FROM cases").fetchone()[0],
                "messages": self.db.execute("SELECT COUNT(*) FROM messages").fetchone()[0],
                "events": self.db.execute("SELECT COUNT(*) FROM events").fetchone()[0],
                "last_seq": self.db.execute("SELECT COALESCE(MAX(seq), 0) FROM events").fetchone()[0],
            }

    def bulk_emit(self, items: list[dict], *, autopilot: bool = False) -> list[int]:
        """Append many raw events at once (bench, ordering tests); creates missing cases."""
        seqs = []
        with self.lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                for item in items:
                    case = self._one("SELECT * FROM cases WHERE case_kind = ? AND external_id = ?", (item["case_kind"], item["external_id"]))
                    if case is None:
                        case = self._create_case(item["case_kind"], item["external_id"], "sent", {}, autopilot)
                    event = self.emit(case["case_id"], item["status"], payload=item.get("payload") or {}, documents=item.get("documents") or [],
                                      finished=bool(item.get("final")))
                    seqs.append(event["seq"])
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
        return seqs
