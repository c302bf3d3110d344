from django.apps import AppConfig


class HomeportalConfig(AppConfig):
    """The project package as an app: its system checks (homeportal/checks.py) and the page cache's
    database hook (homeportal/page_cache.py), installed on every connection of every process."""

    name = "homeportal"
    verbose_name = "homeportal"

    def ready(self):
        from . import (
            checks,  # noqa: F401 - registers the production checks
            page_cache,
        )

        page_cache.connect_signals()
