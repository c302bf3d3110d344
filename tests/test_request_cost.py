"""What every request costs: persistent database connections, cached sessions, a "last seen" write
at most once a minute, and health probes that do not hammer the dependencies (issue #18)."""

import time

import pytest
from django.conf import settings
from django.db import connection
from django.test.utils import CaptureQueriesContext


def test_postgres_connections_persist_with_health_checks():
    db = settings.DATABASES["default"]
    assert db["ENGINE"].endswith("postgresql")
    assert db["CONN_MAX_AGE"] >= 60
    assert db["CONN_HEALTH_CHECKS"] is True


def test_sessions_are_cached_when_redis_is_configured():
    assert settings.REDIS_URL
    assert settings.SESSION_ENGINE == "django.contrib.sessions.backends.cached_db"


@pytest.mark.django_db
def test_last_seen_is_written_at_most_once_per_resolution(cabinet_client, settings):
    settings.SESSION_LAST_SEEN_RESOLUTION = 60
    cabinet_client.get("/")  # first request: last seen written
    first = cabinet_client.session["_last_seen"]
    with CaptureQueriesContext(connection) as queries:
        cabinet_client.get("/")
    assert cabinet_client.session["_last_seen"] == first
    assert not [q for q in queries.captured_queries if "django_session" in q["sql"] and q["sql"].startswith("UPDATE")]

    session = cabinet_client.session
    session["_last_seen"] = int(time.time()) - 61
    session.save()
    cabinet_client.get("/")
    assert cabinet_client.session["_last_seen"] >= int(time.time()) - 2


@pytest.mark.django_db
def test_livez_touches_no_dependency(client):
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/livez")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert len(queries) == 0


@pytest.mark.django_db
def test_healthz_results_are_cached_for_a_few_seconds(client, settings, monkeypatch):
    from django.core.cache import cache

    from homeportal import health

    settings.HEALTHZ_CACHE_SECONDS = 5
    cache.delete("healthz:checks")
    calls = []
    monkeypatch.setitem(health.CHECKS, "storage", lambda: calls.append(1))
    for _ in range(5):
        assert client.get("/healthz").status_code == 200
    assert len(calls) == 1
    cache.delete("healthz:checks")
