"""Loads the demo data: `manage.py seed_demo`. Idempotent: a second run changes nothing.

Each app contributes through a `demo.py` module with `seed(*, stdout) -> None`; they run in
dependency order (PKI first, then organizations, calendars, applications, appeals).
"""

import importlib

from django.core.management.base import BaseCommand
from django.db import transaction

DEMO_MODULES = ["signing.demo", "cabinets.demo", "bpms_bridge.demo", "applications.demo", "appeals.demo"]


class Command(BaseCommand):
    help = "Load the demo organizations, people, key files, contracts and records (idempotent)."

    def handle(self, *args, **options):
        for module_name in DEMO_MODULES:
            try:
                module = importlib.import_module(module_name)
            except ModuleNotFoundError as exc:
                if exc.name != module_name:
                    raise
                continue
            with transaction.atomic():
                module.seed(stdout=self.stdout)
        self.stdout.write(self.style.SUCCESS("Demo data is in place."))
