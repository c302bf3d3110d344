"""List and history pages cost the same at any size (issue #18): a list that is a union of parts
is read part by part in index order and merged, the count is bounded, the unread badge stops at
«99+», history pages are paged; queries per page do not grow with the rows."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import override

from appeals.models import AppealHistory
from appeals.tests.factories import AppealFactory
from applications.models import Application, ApplicationHistory
from applications.tests.factories import ApplicationFactory
from cabinets.models import Notification
from homeportal import pagination
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db


def _queries(client, url, **params):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, params)
    assert response.status_code == 200
    return response, captured.captured_queries


def test_guarantee_list_merges_both_parts_newest_first_across_pages(cabinet_client, organization, monkeypatch):
    """Filed by the УК and naming it as the developer, interleaved by date: one order across pages."""
    monkeypatch.setattr(pagination, "PAGE_SIZE", 3)
    now = timezone.now()
    other = OrganizationFactory()
    expected = []
    for i in range(7):
        own = i % 2 == 0
        app = ApplicationFactory(organization=organization if own else other, developer=None if own else organization,
                                 created_at=now - timedelta(minutes=i))
        expected.append(app.pk)
    ApplicationFactory(organization=other)  # not ours
    url = reverse("applications:list")
    seen = []
    for number in (1, 2, 3):
        response = cabinet_client.get(url, {"page": number})
        seen += [a.pk for a in response.context["applications"]]
    assert seen == expected
    assert cabinet_client.get(url, {"page": 99}).context["page"].number == 3  # past the end: the last page


def test_appeal_list_keeps_the_filters_over_both_parts(cabinet_client, organization, monkeypatch):
    from appeals.transitions import DEVELOPER_VISIBLE

    developer_status = sorted(DEVELOPER_VISIBLE)[0]
    own = AppealFactory(organization=organization, status=developer_status)
    as_developer = AppealFactory(contract__developer=organization, status=developer_status)
    AppealFactory(contract__developer=organization, status="draft")  # not yet visible to the developer
    url = reverse("appeals:list")
    rows = cabinet_client.get(url).context["rows"]
    assert [r["appeal"].pk for r in rows] == [as_developer.pk, own.pk]
    assert [r["own"] for r in rows] == [False, True]
    rows = cabinet_client.get(url, {"status": "draft"}).context["rows"]
    assert rows == []


def test_count_is_bounded_and_the_page_says_more_than(cabinet_client, organization, monkeypatch):
    monkeypatch.setattr(pagination, "PAGE_SIZE", 2)
    monkeypatch.setattr(pagination, "COUNT_AHEAD", 2)
    Application.objects.bulk_create([Application(organization=organization, project_name=f"P{i}") for i in range(30)])
    url = reverse("applications:list")
    response, queries = _queries(cabinet_client, url)
    page = response.context["page"]
    assert page.paginator.count == 6 and not page.paginator.count_is_exact  # (1 + 2) pages × 2, then «more»
    assert [q["sql"] for q in queries if "COUNT(" in q["sql"] and "applications_application" in q["sql"]]
    assert all("LIMIT" in q["sql"] for q in queries if "COUNT(" in q["sql"] and "applications_application" in q["sql"])
    with override("ru"):
        assert "Страница 1 из более чем 3" in response.content.decode()
    response = cabinet_client.get(url, {"page": 14})
    assert response.context["page"].number == 14 and response.context["page"].has_next()
    last = cabinet_client.get(url, {"page": 15})
    assert last.context["page"].paginator.count_is_exact and not last.context["page"].has_next()
    assert "Страница 15 из 15" in last.content.decode()


@pytest.mark.parametrize("url_name", ["applications:list", "appeals:list", "cabinets:notifications"])
def test_queries_per_list_page_do_not_grow_with_rows(cabinet_client, organization, url_name, settings):
    settings.PAGE_CACHE_SECONDS = 0  # the rendering's queries, not a page cache hit's
    def fill(n):
        Application.objects.bulk_create([Application(organization=organization) for _ in range(n)])
        Notification.objects.bulk_create([Notification(organization=organization, title_ru="Т", title_kk="Т")
                                          for _ in range(n)])
        for _ in range(n):
            AppealFactory(organization=organization)

    fill(2)
    cabinet_client.get(reverse(url_name))  # the first request of a session also writes "last seen"
    _response, small = _queries(cabinet_client, reverse(url_name))
    fill(40)
    _response, big = _queries(cabinet_client, reverse(url_name))
    assert len(big) == len(small)


def test_unread_badge_stops_at_99_plus(cabinet_client, organization):
    Notification.objects.bulk_create([Notification(organization=organization, title_ru="Т", title_kk="Т")
                                      for _ in range(120)])
    body = cabinet_client.get("/").content.decode()
    assert ">99+</span>" in body
    Notification.objects.filter(pk__in=Notification.objects.values("pk")[:30]).update(read_at=timezone.now())
    assert ">90</span>" in cabinet_client.get("/").content.decode()


def test_history_pages_are_paged(cabinet_client, organization):
    appeal = AppealFactory(organization=organization)
    AppealHistory.objects.bulk_create([AppealHistory(appeal=appeal, event="status", status="draft")
                                       for _ in range(pagination.HISTORY_PAGE_SIZE + 5)])
    url = reverse("appeals:history", args=[appeal.public_id])
    assert len(cabinet_client.get(url).context["steps"]) == pagination.HISTORY_PAGE_SIZE
    assert len(cabinet_client.get(url, {"page": 2}).context["steps"]) == 5

    application = ApplicationFactory(organization=organization)
    ApplicationHistory.objects.bulk_create([ApplicationHistory(application=application, event="created")
                                            for _ in range(pagination.HISTORY_PAGE_SIZE + 1)])
    url = reverse("applications:history", args=[application.public_id])
    response = cabinet_client.get(url)
    assert len(response.context["entries"]) == pagination.HISTORY_PAGE_SIZE and 'rel="next"' in response.content.decode()


def test_without_union_support_the_parts_are_one_or_with_the_same_rows(cabinet_client, organization, monkeypatch):
    """SQLite (`make run`'s default) refuses LIMIT/ORDER BY in a UNION's parts: the same pages come
    from one OR query there, in the same order, with the same bounded count."""
    monkeypatch.setattr(pagination, "PAGE_SIZE", 3)
    now, other = timezone.now(), OrganizationFactory()
    expected = []
    for i in range(7):
        own = i % 2 == 0
        expected.append(ApplicationFactory(organization=organization if own else other,
                                           developer=None if own else organization,
                                           created_at=now - timedelta(minutes=i)).pk)
    url = reverse("applications:list")
    monkeypatch.setattr(connection.features, "supports_slicing_ordering_in_compound", False)
    seen = []
    for number in (1, 2, 3):
        response, queries = _queries(cabinet_client, url, page=number)
        assert not any("UNION" in q["sql"] for q in queries)
        seen += [a.pk for a in response.context["applications"]]
        assert response.context["page"].paginator.count == 7
    assert seen == expected
