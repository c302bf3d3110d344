"""The history chain's rules (issue #17): canonical form, links, append-only in code and in
PostgreSQL, tampering through raw SQL named by verify, purged drafts, parallel appends."""

import datetime as dt
import io
import logging
import threading

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from appeals import services as appeal_services
from appeals.models import AppealHistory, AppealStatus
from appeals.tests.factories import AppealFactory
from audit import chain
from audit.models import GENESIS, ChainHead, PurgedEntry
from homeportal.history import HistoryImmutable, chain_content

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL triggers")


def add(appeal, **kw):
    kw.setdefault("event", "status")
    kw.setdefault("status", AppealStatus.DRAFT)
    kw.setdefault("actor_name", "ТОО «Демо»")
    return AppealHistory.objects.create(appeal=appeal, **kw)


def raw(sql, params=()):
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def tamper(sql, params=()):
    """What a database superuser can do: switch triggers off for the session, write, on again."""
    if connection.vendor == "postgresql":
        raw("SET session_replication_role = replica")
    raw(sql, params)
    if connection.vendor == "postgresql":
        raw("SET session_replication_role = origin")


def problems(report, kind):
    return [p for p in report.problems if p.kind == kind]


# --- canonical form ----------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(st.characters(blacklist_categories=("Cs",),
                                                                                blacklist_characters="\x00")),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=8),
                      children, max_size=4),
    max_leaves=12,
)


@pytest.mark.django_db
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.dictionaries(st.text(max_size=6).filter(lambda s: "\x00" not in s), json_values, max_size=5),
       comment=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=40))
def test_canonical_content_is_what_the_database_gives_back(payload, comment):
    """Whatever JSON a step carries, the row read back hashes to what was chained at insert."""
    appeal = AppealFactory()
    entry = add(appeal, payload=payload, comment=comment)
    stored = AppealHistory.objects.get(pk=entry.pk)
    assert stored.canonical_content() == entry.canonical_content()
    assert chain.entry_hash(stored.prev_hash, stored.canonical_content()) == stored.hash
    assert chain.verify_object(appeal).intact


@given(payload=st.dictionaries(st.text(max_size=6), json_values, max_size=6), seed=st.randoms())
def test_canonical_content_ignores_key_order(payload, seed):
    items = list(payload.items())
    seed.shuffle(items)
    values = {"created_at": dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC), "event": "status", "from_status": "",
              "status": "draft", "actor_id": 1, "actor_name": "x", "comment": "", "document": "",
              "document_name": "", "document_sha256": ""}
    a = chain_content(object_key="o:1", values={**values, "payload": payload}, signature=None, extra={})
    b = chain_content(object_key="o:1", values={**values, "payload": dict(items)}, signature=None, extra={})
    assert a == b


text_values = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)


@given(payload=json_values, comment=text_values, actor=st.none() | st.integers(min_value=1, max_value=2**40),
       status=text_values, extra=st.dictionaries(st.sampled_from(["decision_document_id"]), st.none() | st.integers()),
       signature=st.none() | st.dictionaries(st.sampled_from(["id", "iin", "signed_at"]), text_values, min_size=1))
def test_fast_canonical_form_is_json_dumps(payload, comment, actor, status, extra, signature):
    """`chain_content_of` writes the row field by field: byte for byte what json.dumps gives of the
    whole object (keys sorted, no spaces, no ASCII escaping), so no hash changes; and a payload
    read from the database as jsonb text (`chain_content_from_db`) gives the same bytes."""
    import json

    from homeportal.history import _json_normal, chain_content_from_db, chain_content_of

    at = dt.datetime(2026, 1, 2, 3, 4, 5, 6, tzinfo=dt.UTC)
    payload = payload if isinstance(payload, dict) else {"v": payload}
    expected = json.dumps({
        "object": "appeals.appeal:x", "at": "2026-01-02T03:04:05.000006Z", "event": "status", "from_status": "",
        "status": status, "actor": actor, "actor_name": "ТОО «Демо» \"x\"\n", "payload": _json_normal(payload),
        "comment": comment, "document": "", "document_name": "акт.pdf", "document_sha256": "", "signature": signature,
        "extra": extra}, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    args = ("appeals.appeal:x", at, "status", "", status, actor, "ТОО «Демо» \"x\"\n")
    rest = (comment, "", "акт.pdf", "")
    assert chain_content_of(*args, payload, *rest, signature=signature, extra=extra) == expected
    as_text = json.dumps(payload, ensure_ascii=False)
    db_args = ("appeals.appeal:x", "2026-01-02T03:04:05.000006Z", *args[2:])
    assert chain_content_from_db(*db_args, as_text, *rest, signature=signature, extra=extra) == expected


def test_time_is_canonical_in_utc():
    base = {"event": "e", "from_status": "", "status": "", "actor_id": None, "actor_name": "", "payload": {},
            "comment": "", "document": "", "document_name": "", "document_sha256": ""}
    utc = dt.datetime(2026, 3, 1, 4, 30, tzinfo=dt.UTC)
    almaty = utc.astimezone(dt.timezone(dt.timedelta(hours=5)))
    assert (chain_content(object_key="o", values={**base, "created_at": utc}, signature=None, extra={})
            == chain_content(object_key="o", values={**base, "created_at": almaty}, signature=None, extra={}))


def test_every_field_is_covered():
    base = {"created_at": dt.datetime(2026, 3, 1, tzinfo=dt.UTC), "event": "e", "from_status": "a", "status": "b",
            "actor_id": 7, "actor_name": "n", "payload": {"k": 1}, "comment": "c", "document": "p",
            "document_name": "d", "document_sha256": "f" * 64}
    first = chain_content(object_key="o", values=base, signature=None, extra={})
    changes = {"created_at": dt.datetime(2026, 3, 1, 0, 0, 0, 1, tzinfo=dt.UTC), "event": "x", "from_status": "x",
               "status": "x", "actor_id": 8, "actor_name": "x", "payload": {"k": 2}, "comment": "x",
               "document": "x", "document_name": "x", "document_sha256": "0" * 64}
    for name, value in changes.items():
        assert chain_content(object_key="o", values={**base, name: value}, signature=None, extra={}) != first, name
    assert chain_content(object_key="o2", values=base, signature=None, extra={}) != first
    assert chain_content(object_key="o", values=base, signature={"id": "s"}, extra={}) != first
    assert chain_content(object_key="o", values=base, signature=None, extra={"decision_document_id": 1}) != first


# --- the chain -----------------------------------------------------------------------------------

@pytest.mark.django_db
def test_entries_link_per_object_and_globally():
    a, b = AppealFactory(), AppealFactory()
    a1, b1, a2 = add(a), add(b), add(a, status=AppealStatus.SENT, from_status=AppealStatus.DRAFT)
    assert (a1.chain_seq, b1.chain_seq, a2.chain_seq) == (1, 2, 3)
    assert a1.prev_hash == GENESIS and b1.prev_hash == GENESIS and a2.prev_hash == a1.hash
    head = ChainHead.objects.get(pk=1)
    expected = GENESIS
    for e in (a1, b1, a2):
        expected = chain.link(expected, e.hash)
    assert (head.seq, head.head) == (3, expected)
    report = chain.verify()
    assert report.intact, report.problems
    assert report.entries == 3


@pytest.mark.django_db
def test_bulk_create_is_chained():
    appeal = AppealFactory()
    rows = AppealHistory.objects.bulk_create([AppealHistory(appeal=appeal, event="status", status="draft")
                                              for _ in range(5)])
    assert [r.chain_seq for r in rows] == [1, 2, 3, 4, 5]
    assert all(r.prev_hash == p.hash for p, r in zip(rows, rows[1:], strict=False))
    assert chain.verify().intact


@pytest.mark.django_db
def test_models_refuse_update_and_delete():
    entry = add(AppealFactory())
    entry.comment = "изменено"
    with pytest.raises(HistoryImmutable):
        entry.save()
    with pytest.raises(HistoryImmutable):
        entry.delete()
    with pytest.raises(HistoryImmutable):
        AppealHistory.objects.filter(pk=entry.pk).update(comment="x")
    with pytest.raises(HistoryImmutable):
        AppealHistory.objects.filter(pk=entry.pk).delete()
    with pytest.raises(HistoryImmutable):
        AppealHistory.objects.bulk_update([entry], ["comment"])


@postgres_only
@pytest.mark.django_db
@pytest.mark.parametrize("sql", [
    "UPDATE appeals_appealhistory SET comment = 'x' WHERE id = %s",
    "DELETE FROM appeals_appealhistory WHERE id = %s",
])
def test_postgresql_trigger_refuses_update_and_delete(sql):
    entry = add(AppealFactory())
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        raw(sql, [entry.pk])
    with pytest.raises(DatabaseError, match="only moves forward"), transaction.atomic():
        raw("UPDATE audit_chainhead SET seq = 0 WHERE id = 1")
    assert AppealHistory.objects.filter(pk=entry.pk, comment="").exists()


# --- tampering through raw SQL ---------------------------------------------------------------------

@pytest.fixture
def three(db):
    appeal = AppealFactory()
    entries = [add(appeal, comment=f"шаг {i}") for i in range(3)]
    assert chain.verify().intact
    return appeal, entries


def test_modified_entry_is_named(three):
    appeal, (e1, e2, e3) = three
    tamper("UPDATE appeals_appealhistory SET comment = 'подделка' WHERE id = %s", [e2.pk])
    report = chain.verify()
    modified = problems(report, "modified")
    assert [(p.source, p.entry_id, p.seq) for p in modified] == [("appeals.AppealHistory", e2.pk, 2)]
    assert not chain.verify_object(appeal).intact


def test_modified_time_is_named(three):
    _, (e1, e2, e3) = three
    tamper("UPDATE appeals_appealhistory SET created_at = created_at - interval '1 day' WHERE id = %s"
           if connection.vendor == "postgresql" else
           "UPDATE appeals_appealhistory SET created_at = '2020-01-01 00:00:00' WHERE id = %s", [e1.pk])
    assert [p.entry_id for p in problems(chain.verify(), "modified")] == [e1.pk]


def test_deleted_entry_is_named(three):
    _, (e1, e2, e3) = three
    tamper("DELETE FROM appeals_appealhistory WHERE id = %s", [e2.pk])
    report = chain.verify()
    deleted = problems(report, "deleted")
    assert deleted and deleted[0].seq == 2
    assert f"#{e1.pk}" in deleted[0].detail and f"#{e3.pk}" in deleted[0].detail
    assert any(p.entry_id == e3.pk for p in deleted)  # its link names an entry that is gone


def test_inserted_entry_is_named(three):
    appeal, (e1, e2, e3) = three
    tamper("INSERT INTO appeals_appealhistory (created_at, event, from_status, status, actor_name, payload, comment,"
           " document, document_name, document_sha256, appeal_id, prev_hash, hash)"
           " SELECT created_at, event, from_status, status, actor_name, payload, 'вставлено', document, document_name,"
           " document_sha256, appeal_id, prev_hash, hash FROM appeals_appealhistory WHERE id = %s", [e2.pk])
    report = chain.verify()
    inserted = problems(report, "inserted")
    new_id = AppealHistory.objects.order_by("-pk").values_list("pk", flat=True).first()
    assert [p.entry_id for p in inserted] == [new_id]


def test_inserted_entry_with_a_copied_place_is_named(three):
    appeal, (e1, e2, e3) = three
    tamper("INSERT INTO appeals_appealhistory (created_at, event, from_status, status, actor_name, payload, comment,"
           " document, document_name, document_sha256, appeal_id, prev_hash, hash, chain_seq)"
           " SELECT created_at, event, from_status, status, actor_name, payload, comment, document, document_name,"
           " document_sha256, appeal_id, prev_hash, hash, chain_seq FROM appeals_appealhistory WHERE id = %s", [e3.pk])
    new_id = AppealHistory.objects.order_by("-pk").values_list("pk", flat=True).first()
    inserted = problems(chain.verify(), "inserted")
    assert new_id in [p.entry_id for p in inserted]


def test_reordered_entries_are_named(three):
    _, (e1, e2, e3) = three
    # Swap the places of the 2nd and 3rd entries (three steps: chain_seq is read in that order).
    tamper("UPDATE appeals_appealhistory SET chain_seq = -1 WHERE id = %s", [e2.pk])
    tamper("UPDATE appeals_appealhistory SET chain_seq = 2 WHERE id = %s", [e3.pk])
    tamper("UPDATE appeals_appealhistory SET chain_seq = 3 WHERE id = %s", [e2.pk])
    report = chain.verify()
    reordered = problems(report, "reordered")
    assert e3.pk in [p.entry_id for p in reordered] or e2.pk in [p.entry_id for p in reordered]
    assert problems(report, "head")


def test_forged_tail_with_valid_hashes_breaks_the_head(three):
    """An entry appended with correct hashes but without moving the chain head."""
    appeal, (e1, e2, e3) = three
    entry = AppealHistory(appeal=appeal, event="status", status="sent", created_at=e3.created_at)
    entry.prev_hash = e3.hash
    entry.hash = chain.entry_hash(e3.hash, entry.canonical_content())
    tamper("INSERT INTO appeals_appealhistory (created_at, event, from_status, status, actor_name, payload, comment,"
           " document, document_name, document_sha256, appeal_id, prev_hash, hash, chain_seq)"
           " VALUES (%s, 'status', '', 'sent', '', '{}', '', '', '', '', %s, %s, %s, 4)",
           [e3.created_at, appeal.pk, entry.prev_hash, entry.hash])
    report = chain.verify()
    assert [p.seq for p in problems(report, "inserted")] == [4]
    assert chain.verify_object(appeal).intact  # the object's own links hold: the global head catches it


# --- purged drafts ------------------------------------------------------------------------------------

@pytest.mark.django_db
def test_deleting_a_draft_purges_its_history_and_the_chain_still_verifies():
    keep, draft = AppealFactory(), AppealFactory()
    add(keep)
    add(draft, event="saved")
    add(keep)
    appeal_services.appeal_delete(appeal=draft)
    assert PurgedEntry.objects.count() == 1
    report = chain.verify()
    assert report.intact, report.problems
    assert report.entries == 3


@pytest.mark.django_db
def test_purge_of_an_existing_object_is_reported():
    appeal = AppealFactory()
    add(appeal)
    chain.purge(appeal.history.all(), reason="test")
    assert [p.object_key for p in problems(chain.verify(), "deleted")] == [f"appeals.appeal:{appeal.public_id}"]


# --- parallel appends -----------------------------------------------------------------------------------

@postgres_only  # SQLite's test database refuses concurrent writers ("database table is locked")
@pytest.mark.django_db(transaction=True)
def test_parallel_appends_keep_one_chain():
    appeals = [AppealFactory() for _ in range(3)]
    barrier = threading.Barrier(6)
    errors = []

    def write(appeal):
        try:
            barrier.wait()
            for i in range(10):
                add(appeal, comment=str(i))
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(appeals[i % 3],)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    seqs = sorted(AppealHistory.objects.values_list("chain_seq", flat=True))
    assert seqs == list(range(1, 61))
    report = chain.verify()
    assert report.intact, report.problems
    assert ChainHead.objects.get(pk=1).seq == 60


# --- the command ------------------------------------------------------------------------------------

def test_history_verify_command(three):
    appeal, (e1, e2, e3) = three
    out = io.StringIO()
    call_command("history_verify", stdout=out)
    assert "intact" in out.getvalue()
    tamper("UPDATE appeals_appealhistory SET comment = 'подделка' WHERE id = %s", [e1.pk])
    out = io.StringIO()
    with pytest.raises(SystemExit) as exit_:
        call_command("history_verify", stdout=out)
    assert exit_.value.code == 1
    assert f"appeals.AppealHistory #{e1.pk} (seq 1)" in out.getvalue()
    out = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("history_verify", "--object", f"appeals.appeal:{appeal.public_id}", stdout=out)
    assert f"#{e1.pk}" in out.getvalue()


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_workers_check_the_contents_and_name_the_modified_entry(monkeypatch):
    """verify(workers=2): forked processes check the content hashes, this one the links; the same
    report as one process gives."""
    monkeypatch.setattr(chain, "PARALLEL_FROM", 0)
    appeals = [AppealFactory(), AppealFactory()]
    entries = [add(appeals[i % 2], comment=f"шаг {i}") for i in range(9)]
    report = chain.verify(workers=2)
    assert report.intact and report.entries == 9, report.problems
    tamper("UPDATE appeals_appealhistory SET comment = 'подделка' WHERE id = %s", [entries[7].pk])
    tamper("UPDATE appeals_appealhistory SET payload = '{\"x\": 1}' WHERE id = %s", [entries[1].pk])
    parallel, single = chain.verify(workers=2), chain.verify()
    assert [(p.kind, p.entry_id, p.seq) for p in parallel.problems] == [
        ("modified", entries[1].pk, 2), ("modified", entries[7].pk, 8)]
    assert [str(p) for p in parallel.problems] == [str(p) for p in single.problems]


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_move_chosen_as_a_deadlock_victim_is_redone(caplog):
    """T1 writes history for A (it holds the chain head), then locks appeal B; meanwhile a move of B
    locked B and waits for the head: PostgreSQL aborts the move (it waited first), the workflow
    redoes it once T1 has committed."""
    import time

    from appeals.models import Appeal

    a, b = AppealFactory(), AppealFactory(status=AppealStatus.SENT)
    holds_head, errors, move_pid = threading.Event(), [], {}
    caplog.set_level(logging.WARNING, logger="homeportal.workflow")

    def t1():
        try:
            with transaction.atomic():
                add(a)
                holds_head.set()
                # Only once the move of B has locked B and queues on the head (a fixed sleep was not
                # enough on a loaded machine: no deadlock, nothing retried).
                # Its own session, by pid: other sessions of the suite may wait on locks too.
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline:
                    with connection.cursor() as cursor:
                        cursor.execute("SELECT pg_stat_clear_snapshot()")  # a transaction sees one snapshot
                        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s AND wait_event_type = 'Lock'",
                                       [move_pid.get("pid", 0)])
                        if cursor.fetchone()[0]:
                            break
                    time.sleep(0.02)
                time.sleep(0.3)  # the move has waited longer: its deadlock check runs first, it is the victim
                Appeal.objects.select_for_update().get(pk=b.pk)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(("t1", exc))
        finally:
            connection.close()

    def t2():
        try:
            holds_head.wait(10)
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                move_pid["pid"] = cursor.fetchone()[0]
            appeal_services.appeal_transition(Appeal.objects.get(pk=b.pk), to=AppealStatus.IN_REVIEW,
                                              actor=appeal_services.Actor.BPMS,
                                              payload={"executor_name": "Исполнитель", "internal_number": "ВН-1"})
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(("t2", exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=t1), threading.Thread(target=t2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert Appeal.objects.get(pk=b.pk).status == AppealStatus.IN_REVIEW
    assert "deadlock, the move is retried" in caplog.text
    assert chain.verify().intact
