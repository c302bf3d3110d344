"""`manage.py history_verify [--object appeals.appeal:<public id>]`: recomputes the history chain
and names every broken link (issue #17, docs/history.md). Exit status 1 when anything is broken."""

import sys
import time

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError

from audit import chain


class Command(BaseCommand):
    help = "Recompute the history hash chain and report every broken link."

    def add_arguments(self, parser):
        parser.add_argument("--object", help="one object's chain: <app>.<model>:<public id or pk>")
        parser.add_argument("--no-record", action="store_true", help="do not store the result (what /healthz shows)")
        parser.add_argument("--limit", type=int, default=50, help="how many problems to print")
        parser.add_argument("--workers", type=int, default=2,
                            help="processes checking the entries' content hashes (PostgreSQL, long chains)")

    def handle(self, *args, object=None, no_record=False, limit=50, workers=2, **options):
        started = time.perf_counter()
        report = (chain.verify_object(self._object(object)) if object
                  else chain.verify(record=not no_record, workers=workers))
        elapsed = time.perf_counter() - started
        rate = report.entries / elapsed if elapsed > 0 else 0
        for problem in report.problems[:limit]:
            self.stdout.write(str(problem))
        if len(report.problems) > limit:
            self.stdout.write(f"... and {len(report.problems) - limit} more")
        anchor = report.last_anchor
        anchored = f", last anchor seq {anchor.seq} at {anchor.tsa_time:%Y-%m-%d %H:%M:%S} UTC" if anchor else ""
        verdict = "intact" if report.intact else f"BROKEN ({len(report.problems)} problems)"
        self.stdout.write(f"history chain {verdict}: {report.entries} entries, {report.anchors} anchors{anchored}; "
                          f"{elapsed:.2f} s, {rate:,.0f} entries/s")
        if not report.intact:
            sys.exit(1)

    def _object(self, spec: str):
        label, _, ident = spec.partition(":")
        try:
            model = apps.get_model(label)
        except (LookupError, ValueError) as exc:
            raise CommandError(f"unknown model {label!r}") from exc
        lookup = "public_id" if any(f.name == "public_id" for f in model._meta.fields) else "pk"
        obj = model._default_manager.filter(**{lookup: ident}).first()
        if obj is None:
            raise CommandError(f"no {label} {ident}")
        return obj
