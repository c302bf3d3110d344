"""pytest plugin loaded with `-p` before Django settings: the test profile's environment.

Tests always run against real PostgreSQL and Redis; `make test` exports the same values.
"""

import os

os.environ.setdefault("HOMEPORTAL_TESTING", "1")
os.environ.setdefault("DEBUG", "True")  # the development profile; tests of production set DEBUG=False
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/homeportal")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop
os.environ.setdefault("HOMEPORTAL_VAR_DIR", os.path.join(os.getcwd(), "var", "test"))
