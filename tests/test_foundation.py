
import pytest
from django.conf import settings
from django.urls import reverse

from cabinets.validators import iin_bin_checksum_ok, validate_kz_iban


def test_tests_run_on_postgresql():
    assert settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql"


def test_time_zone_is_astana():
    assert settings.TIME_ZONE == "Asia/Almaty"
    assert settings.USE_TZ


@pytest.mark.django_db
def test_home_page_in_russian_by_default(client):
    response = client.get("/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Казахстанская Жилищная Компания" in body
    assert "Личный кабинет юридического лица" in body
    assert 'lang="ru"' in body


@pytest.mark.django_db
def test_language_switch_persists_in_a_cookie(client):
    response = client.post(reverse("set_language"), {"language": "kk", "next": "/"})
    assert response.status_code == 302
    assert response.cookies[settings.LANGUAGE_COOKIE_NAME].value == "kk"
    body = client.get("/").content.decode()
    assert "Заңды тұлғаның жеке кабинеті" in body
    assert 'lang="kk"' in body


@pytest.mark.django_db
def test_healthz_checks_database_broker_and_storage(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "broker": "ok", "storage": "ok"},
                               "bpms_outbox": {"pending": 0, "dead": 0, "oldest_pending_seconds": None},
                               "history": {"status": "unverified"}}  # the chain's last verification: none yet


@pytest.mark.django_db
def test_healthz_reports_a_broken_broker(client, settings):
    from homeportal.celery import app

    original = app.conf.broker_url
    app.conf.broker_url = "redis://127.0.0.1:1/0"
    try:
        response = client.get("/healthz")
    finally:
        app.conf.broker_url = original
    assert response.status_code == 503
    assert response.json()["checks"]["broker"].startswith("error")


@pytest.mark.django_db
def test_security_headers(client):
    response = client.get("/")
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Referrer-Policy"] == "same-origin"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]


@pytest.mark.django_db
def test_htmx_is_served_from_our_static_files_with_csrf_header(client):
    body = client.get("/").content.decode()
    assert "/static/vendor/htmx-2.0.11.min.js" in body
    assert 'hx-headers=\'{"X-CSRFToken"' in body
    assert "//cdn" not in body and "unpkg" not in body


@pytest.mark.django_db
def test_cabinet_pages_need_login(client):
    response = client.get(reverse("applications:list"))
    assert response.status_code == 302
    assert reverse("cabinets:login") in response["Location"]


@pytest.mark.django_db
def test_menu_shows_unread_notifications_count(cabinet_client, organization):
    from cabinets.models import Notification

    Notification.objects.create(organization=organization, title_ru="Т", title_kk="Т")
    body = cabinet_client.get("/").content.decode()
    assert 'id="unread-count"' in body
    assert ">1</span>" in body


# The production profile's check --deploy: tests/test_production_profile.py.


@pytest.mark.parametrize("value", ["160340003066", "150240008272"])
def test_bins_from_the_manuals_pass_the_check_digit(value):
    assert iin_bin_checksum_ok(value)


@pytest.mark.parametrize("value", ["160340003067", "12345678901", "1603400030661", "abcdefghijkl"])
def test_bad_bins_fail(value):
    assert not iin_bin_checksum_ok(value)


def test_iban_mod97():
    validate_kz_iban("KZ86125KZT5004100100")
    with pytest.raises(Exception):  # noqa: B017
        validate_kz_iban("KZ87125KZT5004100100")


@pytest.mark.django_db
def test_unread_count_is_queried_once_per_page(cabinet_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        body = cabinet_client.get("/").content.decode()
    assert body.count(">0</span>") >= 1  # menu badge (and the home tile) shown
    assert sum("cabinets_notification" in q["sql"] for q in queries.captured_queries) == 1
