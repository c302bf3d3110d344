"""The page cache (homeportal/page_cache.py, issue #18): a signed-in page is served again only to
the session that rendered it, only while no table it read was written, by any path and any process;
a fresh CSRF token each time; nothing served or stored around messages, htmx, writes or Redis down."""

import os
import re
import threading
from pathlib import Path

import pytest
from django.db import connection, connections, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from cabinets.backends import SESSION_BACKEND
from cabinets.models import Notification
from homeportal import page_cache
from tests.factories import OrganizationFactory, UserFactory

NOTIFICATIONS = "/notifications/"
SKIP_DIRS = {"tests", "bench", "scripts", "migrations", "var", "node_modules", "__pycache__", "static"}


def _hit(response) -> bool:
    return response.get("X-Page-Cache") == "hit"


def _token(response) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([A-Za-z0-9]{64})"', response.content.decode()).group(1)


def _note(organization, title="Первое уведомление", **kwargs):
    return Notification.objects.create(organization=organization, title_ru=title, title_kk=title, body_ru="т",
                                       body_kk="т", **kwargs)


# --- statements ------------------------------------------------------------------------------


@pytest.mark.parametrize(("sql", "kind"), [
    ('SELECT "cabinets_notification"."id" FROM "cabinets_notification"', "read"),
    ("  select 1", "read"),
    ("-- a comment\nSELECT 1", "read"),
    ("/* hint */ UPDATE cabinets_notification SET read_at = now()", "write"),
    ('INSERT INTO "cabinets_notification" ("title_ru") VALUES (%s)', "write"),
    ('DELETE FROM "cabinets_notification" WHERE "id" = %s', "write"),
    ("WITH moved AS (UPDATE cabinets_notification SET read_at = now() RETURNING id) SELECT count(*) FROM moved",
     "write"),
    ("WITH x AS (SELECT 1) SELECT * FROM x", "read"),
    ('ALTER TABLE "cabinets_notification" ADD COLUMN "x" int', "schema"),
    ("TRUNCATE cabinets_notification", "write"),
    ('SAVEPOINT "s1"', "other"),
    ("RELEASE SAVEPOINT s1", "other"),
])
def test_statement_kind(sql, kind):
    assert page_cache.statement_kind(sql) == kind


@pytest.mark.django_db
def test_tables_named_quoted_bare_and_joined():
    sql = ('SELECT "a"."id" FROM "applications_application" a INNER JOIN "cabinets_organization" ON (…), '
           "cabinets_notification n WHERE x IN (SELECT id FROM appeals_appeal)")
    assert page_cache.tables_named(sql) == {"applications_application", "cabinets_organization",
                                            "cabinets_notification", "appeals_appeal"}
    assert page_cache.tables_named("SELECT 1") == set()


# --- serving -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_second_view_is_served_with_a_fresh_valid_csrf_token(cabinet_user, organization):
    _note(organization)
    client = Client(enforce_csrf_checks=True)
    client.force_login(cabinet_user, backend=SESSION_BACKEND)  # as a cabinet login records it
    first = client.get(NOTIFICATIONS)
    with CaptureQueriesContext(connection) as queries:
        second = client.get(NOTIFICATIONS)
    assert not _hit(first) and _hit(second)
    # The session's user with its organization, and the menu's unread badge (a live fragment).
    assert len(queries) == 2
    assert "Первое уведомление" in second.content.decode()
    assert _token(first) != _token(second)  # masked anew (BREACH), same secret
    assert page_cache._CSRF_PLACEHOLDER not in second.content
    # The served token is accepted: mark the notification read with it.
    note = Notification.objects.get()
    response = client.post(reverse("cabinets:notification_read", args=[note.pk]),
                           {"csrfmiddlewaretoken": _token(second)})
    assert response.status_code == 302


@pytest.mark.django_db
@pytest.mark.parametrize("write", ["save", "queryset_update", "raw_sql", "create", "delete"])
def test_any_write_path_shows_at_once(cabinet_client, organization, write):
    note = _note(organization)
    cabinet_client.get(NOTIFICATIONS)
    assert _hit(cabinet_client.get(NOTIFICATIONS))
    if write == "save":
        note.title_ru = "Изменено сохранением"
        note.save()
        expected = "Изменено сохранением"
    elif write == "queryset_update":
        Notification.objects.filter(pk=note.pk).update(title_ru="Изменено update()")
        expected = "Изменено update()"
    elif write == "raw_sql":
        with connection.cursor() as cursor:
            cursor.execute("UPDATE cabinets_notification SET title_ru = %s WHERE id = %s", ["Изменено SQL", note.pk])
        expected = "Изменено SQL"
    elif write == "create":
        _note(organization, title="Новое уведомление")
        expected = "Новое уведомление"
    else:
        note.delete()
        expected = None
    response = cabinet_client.get(NOTIFICATIONS)
    assert not _hit(response)
    body = response.content.decode()
    if expected:
        assert expected in body
    else:
        assert "Первое уведомление" not in body


@pytest.mark.django_db(transaction=True)
def test_a_write_from_another_process_connection_shows_at_once(cabinet_client, organization):
    """A worker writes through its own connection and commits: the web's next view renders."""
    note = _note(organization)
    cabinet_client.get(NOTIFICATIONS)
    assert _hit(cabinet_client.get(NOTIFICATIONS))

    def worker():
        with transaction.atomic():
            Notification.objects.filter(pk=note.pk).update(title_ru="Статус из BPMS")
        connections.close_all()

    thread = threading.Thread(target=worker)
    thread.start()
    thread.join()
    response = cabinet_client.get(NOTIFICATIONS)
    assert not _hit(response) and "Статус из BPMS" in response.content.decode()


@pytest.mark.django_db(transaction=True)
def test_versions_move_at_first_write_and_again_after_commit():
    org = OrganizationFactory()
    client = page_cache._redis()
    key = page_cache._versions_key()

    def version():
        return int(client.hget(key, "cabinets_notification") or 0)

    start = version()
    with transaction.atomic():
        _note(org)
        assert version() == start + 1  # at the first write
        _note(org)
        assert version() == start + 1  # once per transaction while no page was stored meanwhile
    assert version() == start + 2  # after COMMIT
    with pytest.raises(RuntimeError), transaction.atomic():
        _note(org)
        raise RuntimeError
    assert version() == start + 3  # the eager bump only: a rollback commits nothing
    Notification.objects.filter(organization=org).update(title_ru="x")  # autocommit: once, after it
    assert version() == start + 4


def _badge(response) -> str:
    return re.search(r'id="unread-count"[^>]*>([^<]*)</span>', response.content.decode()).group(1)


@pytest.mark.django_db
def test_the_unread_badge_is_filled_at_every_serving(cabinet_client, organization):
    """A new notification does not invalidate the pages that don't list notifications: they are
    still served, with the badge counted anew."""
    url = reverse("appeals:list")
    cabinet_client.get(url)
    second = cabinet_client.get(url)
    assert _hit(second) and _badge(second) == "0"
    _note(organization)
    third = cabinet_client.get(url)
    assert _hit(third) and _badge(third) == "1"
    assert b"hp-live" not in third.content
    listed = cabinet_client.get(NOTIFICATIONS)  # the list itself reads the table: rendered anew
    assert _badge(listed) == "1" and "Первое уведомление" in listed.content.decode()


@pytest.mark.django_db
def test_another_session_or_user_never_gets_the_page(cabinet_client, cabinet_user, organization):
    _note(organization)
    cabinet_client.get(NOTIFICATIONS)
    other_org = OrganizationFactory()
    _note(other_org, title="Чужое уведомление")
    stranger = Client()
    stranger.force_login(UserFactory(organization=other_org))
    body = stranger.get(NOTIFICATIONS).content.decode()
    assert "Первое уведомление" not in body and "Чужое уведомление" in body
    again = Client()  # the same user, a second session: its own rendering
    again.force_login(cabinet_user)
    assert not _hit(again.get(NOTIFICATIONS))
    cabinet_client.logout()
    assert cabinet_client.get(NOTIFICATIONS).status_code == 302


@pytest.mark.django_db
def test_language_user_and_organization_rows_are_part_of_the_key(cabinet_client, cabinet_user, organization):
    _note(organization)
    cabinet_client.get(NOTIFICATIONS)
    cabinet_client.post("/i18n/setlang/", {"language": "kk", "next": NOTIFICATIONS})
    kk = cabinet_client.get(NOTIFICATIONS)
    assert not _hit(kk) and 'lang="kk"' in kk.content.decode()
    # The header shows the user and organization loaded before the view: their rows are in the key.
    type(organization).objects.filter(pk=organization.pk).update(name_kk="Жаңа атауы ЖШС")
    renamed = cabinet_client.get(NOTIFICATIONS)
    assert not _hit(renamed) and "Жаңа атауы ЖШС" in renamed.content.decode()


@pytest.mark.django_db
def test_a_flash_message_is_shown_once_and_never_from_cache(cabinet_client, organization, rf):
    """A message queued before a redirect (a draft saved, no table written since) shows on the next
    page, which is rendered, not served, and not kept; the page after it shows none."""
    from django.contrib.messages import Message, constants
    from django.contrib.messages.storage.cookie import CookieStorage

    _note(organization)
    cabinet_client.get(NOTIFICATIONS)
    assert _hit(cabinet_client.get(NOTIFICATIONS))
    cabinet_client.cookies["messages"] = CookieStorage(rf.get("/"))._encode(
        [Message(constants.SUCCESS, "Черновик сохранён.")])
    shown = cabinet_client.get(NOTIFICATIONS)
    assert not _hit(shown) and "Черновик сохранён." in shown.content.decode()
    after = cabinet_client.get(NOTIFICATIONS)
    assert _hit(after) and "Черновик сохранён." not in after.content.decode()


@pytest.mark.django_db
def test_htmx_and_post_are_not_cached(cabinet_client, organization):
    _note(organization)
    cabinet_client.get(NOTIFICATIONS)
    assert not _hit(cabinet_client.get(NOTIFICATIONS, headers={"HX-Request": "true"}))


@pytest.mark.django_db
def test_redis_down_renders_the_page(cabinet_client, organization, monkeypatch):
    _note(organization)
    cabinet_client.get(NOTIFICATIONS)

    class Down:
        def pipeline(self, **kwargs):
            raise ConnectionError("redis down")

        def hincrby(self, *args):
            raise ConnectionError("redis down")

    monkeypatch.setattr(page_cache, "_redis", lambda: Down())
    response = cabinet_client.get(NOTIFICATIONS)
    assert response.status_code == 200 and not _hit(response) and "Первое уведомление" in response.content.decode()
    note = Notification.objects.get()
    note.title_ru = "Записано без Redis"
    note.save()  # the write does not fail either


def _wrap_notifications_view(monkeypatch, before):
    """The notifications view, with `before()` run inside it; returns the list of stored entries."""
    from cabinets import views

    original, stored = views.selectors.notifications_of, []

    def wrapped(**kwargs):
        before()
        return original(**kwargs)

    monkeypatch.setattr(views.selectors, "notifications_of", wrapped)
    real_store = page_cache._store
    monkeypatch.setattr(page_cache, "_store", lambda *args: (stored.append(args[0]), real_store(*args)))
    return stored


@pytest.mark.django_db
def test_a_view_that_writes_is_not_stored(cabinet_client, organization, monkeypatch):
    _note(organization)
    stored = _wrap_notifications_view(
        monkeypatch, lambda: Notification.objects.filter(organization=organization).update(read_at=timezone.now()))
    cabinet_client.get(NOTIFICATIONS)
    assert stored == []


@pytest.mark.django_db
def test_expires_by_bounds_an_entry(cabinet_client, organization, monkeypatch):
    _note(organization)
    stored = _wrap_notifications_view(
        monkeypatch, lambda: page_cache.expires_by(timezone.now() - timezone.timedelta(seconds=1)))
    cabinet_client.get(NOTIFICATIONS)
    assert len(stored) == 1 and not _hit(cabinet_client.get(NOTIFICATIONS))


@pytest.mark.django_db
def test_off_when_disabled(cabinet_client, organization, settings):
    settings.PAGE_CACHE_SECONDS = 0
    _note(organization)
    cabinet_client.get(NOTIFICATIONS)
    assert not _hit(cabinet_client.get(NOTIFICATIONS))


def test_every_cabinet_page_of_the_bench_is_cached():
    from appeals import views as appeal_views
    from applications import views as application_views
    from cabinets import views as cabinet_views

    for view in (application_views.application_list, application_views.application_stage,
                 application_views.application_history, appeal_views.appeal_list, appeal_views.appeal_edit,
                 appeal_views.appeal_history, cabinet_views.notification_list, cabinet_views.survey_list):
        assert getattr(view, "page_cached", False), view


@pytest.mark.django_db
def test_rows_written_by_copy_show_at_once(cabinet_client, organization):
    """homeportal.db.insert_rows (the BPMS feed's history rows) writes with psycopg's COPY, past
    Django's execute wrappers: it reports its table itself."""
    from homeportal.db import insert_rows

    _note(organization)
    cabinet_client.get(NOTIFICATIONS)
    assert _hit(cabinet_client.get(NOTIFICATIONS))
    insert_rows(Notification, [Notification(organization=organization, title_ru="Записано COPY", title_kk="т")])
    response = cabinet_client.get(NOTIFICATIONS)
    assert not _hit(response) and "Записано COPY" in response.content.decode()


def test_every_direct_psycopg_writer_reports_its_tables():
    """Code that writes through psycopg itself (not Django's cursor) must call page_cache.wrote():
    a new such module fails here until it does."""
    root = Path(__file__).resolve().parent.parent
    direct = re.compile(r"\.cursor\.copy\(|psycopg\.Cursor\(|\.connection\.cursor\(\)")
    offenders = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and d not in SKIP_DIRS]
        for path in (Path(dirpath, name) for name in filenames if name.endswith(".py")):
            text = path.read_text(encoding="utf-8")
            if direct.search(text) and re.search(r"\b(INSERT|UPDATE|DELETE|COPY)\b", text) \
                    and "page_cache.wrote(" not in text:
                offenders.append(str(path.relative_to(root)))
    assert offenders == []
