from django.apps import AppConfig


class HomeportalConfig(AppConfig):
    """The project package as an app: only for its system checks (homeportal/checks.py)."""

    name = "homeportal"
    verbose_name = "homeportal"

    def ready(self):
        from . import checks  # noqa: F401 - registers the production checks
