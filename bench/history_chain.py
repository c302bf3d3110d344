"""bench/history_chain.py — what the history hash chain costs (issue #17, docs/history.md).

1. Appending: 10 000 history entries, each as the workflow writes it (its own transaction, the
   object's row locked, one INSERT), once chained and once with the chain switched off (the same
   INSERT without hashing, without the chain-head update, the chaining trigger disabled) — the floor, measured in the same
   run, interleaved in rounds so load from other processes hits both. Goal: chained ≤ 1.2× floor.
2. Verifying: the chain is extended to 1 000 000 entries (over 200 appeals; hashed by the chain's
   own functions, written with COPY — bulk_create would take most of the run), then
   `audit.chain.verify()` recomputes everything, with 2 worker processes (history_verify's
   default) and with 1. Goal: under a minute; prints entries/s.

Uses its own PostgreSQL database (hp_bench_history, recreated) and Redis DB 12.

    .venv/bin/python bench/history_chain.py [--append 10000] [--verify 1000000]
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench._common import recreate_database  # noqa: E402

DB_NAME = os.environ.get("BENCH_DB_NAME", "hp_bench_history")
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
os.environ.update({
    "DATABASE_URL": f"{PG}/{DB_NAME}", "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12"),
    "HOMEPORTAL_TESTING": "1", "DEBUG": "0", "DJANGO_SETTINGS_MODULE": "homeportal.settings",
    "HOMEPORTAL_VAR_DIR": str(Path(tempfile.gettempdir()) / "hp-bench-history-var"),
})




def append_round(appeals, n: int, *, chained: bool) -> float:
    from django.db import connection, transaction

    from appeals.models import Appeal, AppealHistory
    from audit import chain

    original, by_trigger = chain.append, chain.chained_by_trigger
    if not chained:  # the floor: the same INSERT, no hashing, no head update, the chaining trigger off
        chain.append = lambda entry, using=None: None
        chain.chained_by_trigger = lambda using: False
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE appeals_appealhistory DISABLE TRIGGER audit_chain")
    try:
        t0 = time.perf_counter()
        for i in range(n):
            appeal = appeals[i % len(appeals)]
            with transaction.atomic():
                Appeal.objects.select_for_update(of=("self",)).only("pk").get(pk=appeal.pk)
                AppealHistory.objects.create(appeal=appeal, event="status", status="sent", from_status="draft",
                                             actor_name="ТОО «Бенч»", payload={"registration_number": f"КЖК-{i}"},
                                             comment="Шаг бенча")
        return time.perf_counter() - t0
    finally:
        chain.append, chain.chained_by_trigger = original, by_trigger
        if not chained:
            with connection.cursor() as cursor:
                cursor.execute("ALTER TABLE appeals_appealhistory ENABLE TRIGGER audit_chain")


def fill_chained(n: int, owners: int = 200) -> int:
    """Appends n valid entries to the chain (as append_many would, without the ORM) with COPY."""
    import datetime as dt
    import json

    from django.db import connection, transaction
    from django.utils import timezone

    from appeals.models import AppealHistory
    from appeals.tests.factories import AppealFactory
    from audit import chain
    from audit.models import ChainHead
    from homeportal.history import chain_content_of

    appeals = [AppealFactory() for _ in range(owners)]
    columns = ("created_at", "event", "from_status", "status", "actor_id", "actor_name", "payload", "comment",
               "document", "document_name", "document_sha256", "appeal_id", "chain_seq", "prev_hash", "hash")
    with transaction.atomic():
        head_row = ChainHead.objects.select_for_update().get(pk=1)
        seq, head = head_row.seq, head_row.head
        last = {a.pk: chain.GENESIS for a in appeals}
        start = timezone.now()
        with connection.cursor() as cursor, cursor.connection.cursor().copy(
                f"COPY {AppealHistory._meta.db_table} ({', '.join(columns)}) FROM STDIN") as copy:
            for i in range(n):
                appeal = appeals[(i // 5000) % owners]
                at = start + dt.timedelta(microseconds=i)
                payload = {"executor_name": "Сапарова А. Б.", "n": i}
                values = (at, "status", "registered", "in_review", None, "АО «КЖК» (BPMS)", payload, "", "", "", "")
                content = chain_content_of(f"appeals.appeal:{appeal.public_id}", *values, signature=None, extra={})
                prev = last[appeal.pk]
                hash_ = chain.entry_hash(prev, content)
                last[appeal.pk] = hash_
                seq += 1
                head = chain.link(head, hash_)
                copy.write_row((*values[:6], json.dumps(payload, ensure_ascii=False), *values[7:], appeal.pk, seq,
                                prev, hash_))
        ChainHead.objects.filter(pk=1).update(seq=seq, head=head, updated_at=timezone.now())
    return n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--append", type=int, default=10_000)
    parser.add_argument("--verify", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--workers", type=int, nargs="+", default=[2, 1],
                        help="verify with each of these worker counts (2: history_verify's default)")
    args = parser.parse_args()
    recreate_database(PG, DB_NAME)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from appeals.models import AppealHistory
    from appeals.tests.factories import AppealFactory
    from audit import chain

    print(f"load average: {os.getloadavg()[0]:.1f} (2 cores shared; ratios are from this run)")
    if args.append:
        appeals = [AppealFactory() for _ in range(50)]
        append_round(appeals, 200, chained=True)  # warm: connection, statements
        append_round(appeals, 200, chained=False)
        per_round = args.append // args.rounds
        totals = {True: 0.0, False: 0.0}
        for r in range(args.rounds):
            for chained in ((True, False) if r % 2 == 0 else (False, True)):
                totals[chained] += append_round(appeals, per_round, chained=chained)
        n = per_round * args.rounds
        print(f"append {n} entries, chained:   {totals[True]:7.2f} s  {n / totals[True]:8.0f} entries/s")
        print(f"append {n} entries, no chain:  {totals[False]:7.2f} s  {n / totals[False]:8.0f} entries/s (floor)")
        print(f"ratio chained / floor: {totals[True] / totals[False]:.2f}x (goal ≤ 1.2x)")

    # The unchained rows of the floor are not on the chain: they go, so the verification below is of one chain.
    from django.db import transaction

    with transaction.atomic(), chain._purge_allowed("default"):
        AppealHistory.objects.filter(chain_seq__isnull=True).delete()
    existing = AppealHistory.objects.count()
    target = max(args.verify - existing, 0)
    t0 = time.perf_counter()
    written = fill_chained(target)
    fill = time.perf_counter() - t0
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    total = AppealHistory.objects.count()
    print(f"wrote {written} chained entries with COPY in {fill:.1f} s ({written / fill:,.0f} entries/s)")
    for workers in args.workers:
        verify_run(chain, total, workers)


def verify_run(chain, total: int, workers: int) -> None:
    import resource

    def cpu_of_children() -> float:
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    t0, cpu0, children0 = time.perf_counter(), time.process_time(), cpu_of_children()
    report = chain.verify(workers=workers)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    children = cpu_of_children() - children0
    print(f"history_verify (workers={workers}) over {report.entries} entries ({total} rows): {elapsed:.1f} s, "
          f"{report.entries / elapsed:,.0f} entries/s, intact={report.intact} (goal < 60 s for 1 000 000); "
          f"CPU time: this process {cpu:.1f} s, its workers {children:.1f} s; "
          f"load average {os.getloadavg()[0]:.1f}")
    if report.problems:
        print("problems:", [str(p) for p in report.problems[:5]])


if __name__ == "__main__":
    main()
