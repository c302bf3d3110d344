"""Rendered cabinet pages, served again to the same session while nothing they read has changed.

Why: a signed-in page costs 6–14 ms of Django ORM and templates, of which a repeated view of the
same list, form or history needs none if its data is unchanged (issue #18). Correctness comes from
the database layer, not from a list of places to remember:

- **What a page read.** While a cached view runs, every SELECT on the connection is recorded, and
  each table named in it (any identifier equal to a model's table, quoted or not) becomes a
  dependency of the page.
- **What was written.** Every INSERT/UPDATE/DELETE that goes through Django's connection, in any
  process (web, worker, beat, admin, management commands; ORM `save()`, `QuerySet.update()`, bulk
  writes, raw SQL), bumps the version of each table it names, in Redis. The two writers that use
  psycopg directly (COPY, binary-bound PDFs) call `wrote()`; tests/test_page_cache.py fails on a
  new one. Statements that name no
  known table, or change the schema, bump the version every page depends on ("*").
- **When.** Inside a transaction a table's version is bumped once at its first write and once
  more after COMMIT (`on_commit`); a reader that took the versions before rendering can therefore
  only ever store old rows under versions that are already superseded. Outside a transaction the
  statement has committed when it returns, and the bump follows it.
- **Serving.** An entry is served only to the session that rendered it (the key holds the session
  key, the path with its query, the language, the day in Astana, the rows of the signed-in user and
  organization, the code's fingerprint), only while every table it read is at the version it was
  rendered at, and for PAGE_CACHE_SECONDS at most (pages that depend on the clock are bounded by
  that, or by `expires_by()`). The CSRF token is cut out at storage and a fresh one is put in on
  every hit.

Not cached: anything but a plain GET (htmx partials included), a response other than a 200 HTML
page without cookies, a request with flash messages pending, a view that wrote to the database or
queued a message, and anything while Redis is unreachable (the view then simply runs). Without
Redis (the SQLite demo) it is off: a version kept per process would not see a worker's writes.
docs/performance.md#page-cache has the reasoning and the numbers.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import re
import threading
import time
import zlib
from collections.abc import Callable
from pathlib import Path

from django.conf import settings
from django.db import connections
from django.db.backends.signals import connection_created
from django.http import HttpRequest, HttpResponse
from django.middleware.csrf import get_token
from django.utils import timezone, translation
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe

logger = logging.getLogger(__name__)

ANY_TABLE = "*"  # the version every page depends on: schema changes, writes to unknown tables
_CSRF_PLACEHOLDER = b"\x00hp-csrf\x00"
_CSRF_TOKEN_RE = re.compile(rb'(?:name="csrfmiddlewaretoken" value="|"X-CSRFToken": ")([A-Za-z0-9]{64})"')
_QUOTED_RE = re.compile(r'"([^"]+)"')
_WRITE_WORDS = ("INSERT", "UPDATE", "DELETE", "MERGE", "TRUNCATE", "COPY")
_SCHEMA_WORDS = ("CREATE", "ALTER", "DROP", "COMMENT", "GRANT", "REVOKE", "VACUUM", "REINDEX", "CLUSTER")
_IGNORED_WORDS = ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT", "SET", "SHOW", "EXPLAIN", "START",
                  "DECLARE", "CLOSE", "FETCH", "LISTEN", "NOTIFY")
_VOLATILE_USER_FIELDS = frozenset({"last_login", "password"})
_VOLATILE_SESSION_KEYS = frozenset({"_last_seen"})
_local = threading.local()


# --- which tables a statement names -------------------------------------------------------------

@functools.cache
def _known_tables() -> tuple[frozenset[str], re.Pattern | None]:
    from django.apps import apps

    names = set()
    for model in apps.get_models(include_auto_created=True):
        names.add(model._meta.db_table)
    bare = re.compile(r"\b(" + "|".join(sorted(map(re.escape, names), key=len, reverse=True)) + r")\b") if names else None
    return frozenset(names), bare


def tables_named(sql: str) -> set[str]:
    """Every model table the statement names: quoted identifiers (what Django writes) and bare
    words (hand-written SQL). Over-approximates on purpose: a column that shares a table's name
    only adds a dependency."""
    known, bare = _known_tables()
    found = {name for name in _QUOTED_RE.findall(sql) if name in known}
    if bare is not None:
        found.update(bare.findall(sql))
    return found


def statement_kind(sql: str) -> str:
    """"read", "write", "schema" or "other" from the statement's first word (after comments)."""
    text = sql.lstrip()
    while text.startswith("--") or text.startswith("/*"):
        end = text.find("\n") if text.startswith("--") else text.find("*/")
        text = text[end + (1 if text.startswith("--") else 2):].lstrip() if end >= 0 else ""
    word = text[:10].split(None, 1)[0].upper().rstrip("(") if text else ""
    if word in ("SELECT", "VALUES", "TABLE"):
        return "read"
    if word == "WITH":  # a writable CTE writes
        return "write" if re.search(r"\b(INSERT|UPDATE|DELETE)\b", text, re.IGNORECASE) else "read"
    if word in _WRITE_WORDS:
        return "write"
    if word in _SCHEMA_WORDS:
        return "schema"
    return "other"


# --- versions in Redis ---------------------------------------------------------------------------

def enabled() -> bool:
    return settings.PAGE_CACHE_SECONDS > 0 and _redis() is not None


@functools.cache
def _redis():
    """One redis-py client per process over the cache's pool (building one, as the cache backend
    does per call, costs ~0.15 ms); None when the cache is not Redis."""
    from django.core.cache import caches

    backend = getattr(caches["default"], "_cache", None)
    if backend is None or not hasattr(backend, "get_client"):
        return None
    return backend.get_client(write=True)


def _versions_key() -> str:
    return f"{settings.PAGE_CACHE_PREFIX}:versions"


def bump(tables) -> None:
    """Move the version of each table on; Redis being down only costs cache hits (see module doc:
    every entry also expires within PAGE_CACHE_SECONDS)."""
    if not tables or settings.PAGE_CACHE_SECONDS <= 0:
        return
    client = _redis()
    if client is None:
        return
    try:
        pipe = client.pipeline(transaction=False)
        for table in tables:
            pipe.hincrby(_versions_key(), table, 1)
        pipe.execute()
    except Exception:  # noqa: BLE001 - a cache outage must never fail a write
        logger.warning("page cache: could not bump %s", sorted(tables), exc_info=True)


class _CommitBump:
    """One per transaction: the tables it wrote, bumped again after COMMIT."""

    def __init__(self):
        self.tables: set[str] = set()
        self.eager: dict[str, int] = {}  # table → the store epoch of its last eager bump

    def __call__(self):
        bump(self.tables)


def wrote(connection, tables) -> None:
    """For the few writes that go to psycopg directly, past Django's execute wrappers (COPY in
    `homeportal.db.insert_rows`, binary-bound PDFs in `signing.blobs`): the same bookkeeping as
    every other write."""
    _note_write(connection, set(tables))


def _note_write(connection, tables: set[str]) -> None:
    recorder = getattr(_local, "recorder", None)
    if recorder is not None and recorder.alias == connection.alias:
        recorder.wrote = True
    if not connection.in_atomic_block:
        bump(tables)  # autocommit: the statement is committed already
        return
    pending = getattr(connection, "_page_cache_commit", None)
    if pending is None or not any(item[1] is pending for item in connection.run_on_commit):
        pending = _CommitBump()
        connection._page_cache_commit = pending
        connection.on_commit(pending)
    pending.tables |= tables
    # Eagerly once per table, and again whenever this connection has stored a page since: that
    # page may hold this transaction's rows before this write (a test's one long transaction).
    epoch = getattr(connection, "_page_cache_store_epoch", 0)
    eager = {t for t in tables if pending.eager.get(t, -1) < epoch}
    if eager:
        bump(eager)
        pending.eager.update(dict.fromkeys(eager, epoch))


def _execute_wrapper(execute, sql, params, many, context):
    kind = statement_kind(sql) if isinstance(sql, str) else "other"
    recorder = getattr(_local, "recorder", None)
    if kind == "read" and recorder is not None:
        recorder.tables.update(tables_named(sql))
    result = execute(sql, params, many, context)
    if kind == "write":
        _note_write(context["connection"], tables_named(sql) or {ANY_TABLE})
    elif kind == "schema":
        _note_write(context["connection"], {ANY_TABLE})
    return result


def install(sender=None, connection=None, **kwargs) -> None:
    """connection_created: every connection of every process gets the wrapper."""
    if connection is not None and _execute_wrapper not in connection.execute_wrappers:
        connection.execute_wrappers.insert(0, _execute_wrapper)


def connect_signals() -> None:
    connection_created.connect(install, dispatch_uid="homeportal.page_cache.install")
    for connection in connections.all(initialized_only=True):
        install(connection=connection)


# --- the cache of pages --------------------------------------------------------------------------

class _Recorder:
    def __init__(self, alias: str):
        self.alias = alias
        self.tables: set[str] = set()
        self.wrote = False
        self.deadline: float | None = None
        self.live: set[str] = set()


# Live fragments: small values every page shows that change more often than the page (the menu's
# unread badge reads the notifications table, which every new status writes). A cached page holds a
# placeholder, filled at every serving by the registered function; the table is then a dependency
# only of the pages that list notifications.
_LIVE: dict[str, Callable[[HttpRequest], str]] = {}


def register_live(name: str, render: Callable[[HttpRequest], str]) -> None:
    _LIVE[name] = render


def live(name: str) -> str | None:
    """Inside a cached view: the placeholder of the registered fragment `name`; None elsewhere (the
    caller then renders the value itself)."""
    recorder = getattr(_local, "recorder", None)
    if recorder is None or name not in _LIVE:
        return None
    recorder.live.add(name)
    return mark_safe(_live_marker(name).decode())  # noqa: S308 - a fixed marker, replaced before sending


def _live_marker(name: str) -> bytes:
    return b"\x00hp-live:" + name.encode() + b"\x00"


def _fill_live(content: bytes, names, request) -> bytes:
    for name in names:
        content = content.replace(_live_marker(name), conditional_escape(_LIVE[name](request)).encode())
    return content


def expires_by(when) -> None:
    """A view whose page changes at a known time (a link's expiry, a term's deadline) calls this:
    the entry is not served after `when` (an aware datetime)."""
    recorder = getattr(_local, "recorder", None)
    if recorder is not None and when is not None:
        stamp = when.timestamp()
        recorder.deadline = stamp if recorder.deadline is None else min(recorder.deadline, stamp)


def _canonical(value) -> str | None:
    """A setting's value as text that is the same in every process; None for objects (their reprs
    hold addresses) and anything holding one."""
    if isinstance(value, (str, int, float, bool, type(None))):
        return repr(value)
    if isinstance(value, dict):
        items = [(_canonical(k), _canonical(v)) for k, v in value.items()]
        if any(k is None or v is None for k, v in items):
            return None
        return "{" + ",".join(f"{k}:{v}" for k, v in items) + "}"
    if isinstance(value, (list, tuple, set, frozenset)):
        parts = [_canonical(v) for v in value]
        if None in parts:
            return None
        if isinstance(value, (set, frozenset)):  # string hashing differs per process
            parts.sort()
        return "[" + ",".join(parts) + "]"
    return None


@functools.cache
def code_fingerprint() -> str:
    """The project's templates, catalogues and Python by content, and the plain values of its
    settings: a new release or configuration never serves a page an older one rendered, and the
    instances of one release share their entries."""
    import os

    root = Path(settings.BASE_DIR)
    skip = {"var", "staticfiles", "node_modules", "__pycache__", "tests", "bench", "static"}
    digest = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith(".") and d not in skip)
        for name in sorted(filenames):
            if name.endswith((".py", ".html", ".mo")):
                path = Path(dirpath, name)
                digest.update(str(path.relative_to(root)).encode() + b"\0")
                with contextlib.suppress(OSError):
                    digest.update(path.read_bytes())
    for name in sorted(n for n in dir(settings) if n.isupper()):
        text = _canonical(getattr(settings, name))
        if text is not None:
            digest.update(f"{name}={text}\n".encode())
    return digest.hexdigest()[:16]


def _row_fingerprint(obj) -> str:
    if obj is None:
        return "-"
    return repr([(f.attname, getattr(obj, f.attname, None)) for f in obj._meta.concrete_fields
                 if f.attname not in _VOLATILE_USER_FIELDS])


def _session_fingerprint(session) -> str:
    items = sorted((k, repr(v)) for k, v in session.items() if k not in _VOLATILE_SESSION_KEYS)
    return repr(items)


def _messages_pending(request) -> bool:
    if request.COOKIES.get(getattr(settings, "MESSAGE_COOKIE_NAME", "messages")):
        return True
    storage = getattr(request, "_messages", None)
    if storage is not None and getattr(storage, "_queued_messages", None):
        return True
    session = getattr(request, "session", None)
    return bool(session is not None and session.get("_messages"))


def page_key(request) -> str:
    user = request.user
    parts = [
        code_fingerprint(), request.session.session_key or "", request.get_host(), str(request.is_secure()),
        request.get_full_path(), translation.get_language() or "", timezone.localdate().isoformat(),
        _row_fingerprint(user), _row_fingerprint(getattr(user, "organization", None)),
        _session_fingerprint(request.session),
    ]
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()
    return f"{settings.PAGE_CACHE_PREFIX}:page:{digest}"


def _pack(entry: dict) -> bytes:
    import pickle

    return zlib.compress(pickle.dumps(entry, protocol=pickle.HIGHEST_PROTOCOL), 1)


def _unpack(raw: bytes) -> dict | None:
    import pickle

    try:
        return pickle.loads(zlib.decompress(raw))  # noqa: S301 - written by this module only, under its key
    except Exception:  # noqa: BLE001 - a damaged entry is a miss
        return None


def _fresh(entry: dict, versions: dict) -> bool:
    if entry.get("deadline") is not None and time.time() >= entry["deadline"]:
        return False
    return all(versions.get(table, 0) == seen for table, seen in entry["versions"].items())


def _decode_versions(raw: dict) -> dict[str, int]:
    return {(k.decode() if isinstance(k, bytes) else k): int(v) for k, v in (raw or {}).items()}


def _storable(response, recorder: _Recorder, request) -> bool:
    return (response.status_code == 200 and not response.streaming and not response.cookies
            and response.get("Content-Type", "").startswith("text/html") and not recorder.wrote
            and not _messages_pending(request) and "no-store" not in response.get("Cache-Control", ""))


def _cut_csrf(content: bytes) -> bytes | None:
    """The page with its CSRF token replaced by a placeholder; None if it holds a second token."""
    found = {m.group(1) for m in _CSRF_TOKEN_RE.finditer(content)}
    if len(found) > 1:
        return None
    if found:
        content = content.replace(found.pop(), _CSRF_PLACEHOLDER)
    return content


def _from_entry(entry: dict, request) -> HttpResponse:
    content = entry["content"]
    if _CSRF_PLACEHOLDER in content:
        content = content.replace(_CSRF_PLACEHOLDER, get_token(request).encode())
    content = _fill_live(content, entry.get("live", ()), request)
    response = HttpResponse(content, status=200)
    for name, value in entry["headers"]:
        response[name] = value
    response["X-Page-Cache"] = "hit"
    return response


def cached_page(view):
    """For a cabinet page (GET, signed in): serve the session's last rendering while it is fresh."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        if (request.method != "GET" or getattr(request, "htmx", False) or not request.user.is_authenticated
                or not enabled() or _messages_pending(request)):
            return view(request, *args, **kwargs)
        key = page_key(request)
        client = _redis()
        try:
            pipe = client.pipeline(transaction=False)
            pipe.get(key)
            pipe.hgetall(_versions_key())
            raw, versions = pipe.execute()
            versions = _decode_versions(versions)
        except Exception:  # noqa: BLE001 - without Redis the page is simply rendered
            logger.warning("page cache: Redis unreachable, rendering", exc_info=True)
            return view(request, *args, **kwargs)
        entry = _unpack(raw) if raw else None
        if entry is not None and _fresh(entry, versions):
            return _from_entry(entry, request)
        recorder = _Recorder("default")
        previous, _local.recorder = getattr(_local, "recorder", None), recorder
        try:
            response = view(request, *args, **kwargs)
        finally:
            _local.recorder = previous
        if _storable(response, recorder, request):
            _store(key, response, recorder, versions)
        if recorder.live and not response.streaming:
            response.content = _fill_live(response.content, recorder.live, request)
        return response

    wrapped.page_cached = True
    return wrapped


def _store(key: str, response, recorder: _Recorder, versions: dict[str, int]) -> None:
    content = _cut_csrf(response.content)
    if content is None:
        return
    tables = recorder.tables | {ANY_TABLE}
    entry = {
        "content": content, "deadline": recorder.deadline, "live": sorted(recorder.live),
        "headers": [(k, v) for k, v in response.items() if k.lower() not in ("content-length", "set-cookie")],
        "versions": {table: versions.get(table, 0) for table in tables},
    }
    ttl = settings.PAGE_CACHE_SECONDS
    if recorder.deadline is not None:
        ttl = min(ttl, max(1, int(recorder.deadline - time.time())))
    connection = connections[recorder.alias]
    connection._page_cache_store_epoch = getattr(connection, "_page_cache_store_epoch", 0) + 1
    with contextlib.suppress(Exception):  # a cache outage only costs the next hit
        _redis().set(key, _pack(entry), ex=ttl)
