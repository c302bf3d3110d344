"""Admin (issue #17): «Цепочка истории цела / нарушена» per object and per entry, the
verifications page, the CSV export of the audit log by period and user; /healthz's history."""

import csv
import io

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.urls import reverse
from django.utils import timezone, translation

from appeals.models import AppealHistory
from appeals.tests.factories import AppealFactory
from audit import chain
from tests.factories import UserFactory

from .test_chain import add, tamper


@pytest.fixture
def admin_client(client, django_user_model):
    staff = django_user_model.objects.create_superuser("kzhk-admin", "x")
    client.force_login(staff)
    return client


def _ru(client):
    client.cookies["django_language"] = "ru"
    return client


@pytest.mark.django_db
def test_appeal_admin_says_intact_then_broken_and_marks_the_entry(admin_client):
    appeal = AppealFactory()
    add(appeal, comment="один")
    e2 = add(appeal, comment="два")
    url = reverse("admin:appeals_appeal_change", args=[appeal.pk])
    with translation.override("ru"):
        page = admin_client.get(url, HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Цепочка истории цела" in page and "нарушена" not in page
    assert page.count("✓") >= 2
    tamper("UPDATE appeals_appealhistory SET comment = 'подделка' WHERE id = %s", [e2.pk])
    with translation.override("ru"):
        page = admin_client.get(url, HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Цепочка истории нарушена" in page
    assert f"appeals.AppealHistory #{e2.pk}" in page
    assert page.count("✗") == 1


@pytest.mark.django_db
def test_application_admin_shows_the_chain(admin_client):
    from applications.tests.factories import ApplicationFactory

    application = ApplicationFactory()
    from applications.models import ApplicationHistory

    ApplicationHistory.objects.create(application=application, event="created", actor_name="Тест")
    page = admin_client.get(reverse("admin:applications_application_change", args=[application.pk]),
                            HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Цепочка истории цела" in page


@pytest.mark.django_db
def test_verification_page_shows_the_overall_state(admin_client):
    add(AppealFactory())
    chain.verify(record=True)
    page = admin_client.get(reverse("admin:audit_verification_changelist"), HTTP_ACCEPT_LANGUAGE="ru")
    assert page.status_code == 200
    body = page.content.decode()
    assert "Цепочка истории цела" in body and "Выгрузить журнал истории" in body


@pytest.mark.django_db
def test_export_csv_by_period_and_user(admin_client):
    user = UserFactory(username="ivanov")
    appeal = AppealFactory()
    mine = add(appeal, actor=user, comment="мой шаг")
    other = add(appeal, comment="чужой шаг")
    url = reverse("admin:audit_history_export")
    assert admin_client.get(url).status_code == 200  # the form
    today = timezone.localdate().isoformat()
    response = admin_client.get(url, {"date_from": today, "date_to": today}, HTTP_ACCEPT_LANGUAGE="ru")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows[0][0] == "Время"
    assert [r[7] for r in rows[1:]] == ["мой шаг", "чужой шаг"]
    assert rows[1][10] == mine.hash and rows[2][10] == other.hash
    response = admin_client.get(url, {"date_from": today, "date_to": today, "user": "ivanov"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r[7] for r in rows[1:]] == ["мой шаг"]
    # Another period: nothing; a user that does not exist and a reversed period: the form says so.
    response = admin_client.get(url, {"date_from": "2020-01-01", "date_to": "2020-01-02"})
    assert len(list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))) == 1
    page = admin_client.get(url, {"date_from": today, "date_to": today, "user": "nobody"}, HTTP_ACCEPT_LANGUAGE="ru")
    assert page.status_code == 200 and "Нет такого пользователя" in page.content.decode()
    page = admin_client.get(url, {"date_from": today, "date_to": "2020-01-01"})
    assert page.status_code == 200 and page.context["form"].errors


@pytest.mark.django_db
def test_export_needs_its_permission(client, django_user_model):
    staff = django_user_model.objects.create_user("moderator", password="x", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_verification"))
    client.force_login(staff)
    url = reverse("admin:audit_history_export")
    assert client.get(url).status_code == 403
    staff.user_permissions.add(Permission.objects.get(codename="export_history"))
    staff = django_user_model.objects.get(pk=staff.pk)
    client.force_login(staff)
    assert client.get(url).status_code == 200


@pytest.mark.django_db
def test_history_records_are_read_only_in_admin(admin_client):
    add(AppealFactory())
    chain.verify(record=True)
    from audit.models import Verification

    v = Verification.objects.get()
    assert admin_client.get(reverse("admin:audit_verification_change", args=[v.pk])).status_code == 200
    assert admin_client.post(reverse("admin:audit_verification_delete", args=[v.pk]), {"post": "yes"}).status_code == 403
    assert Verification.objects.count() == 1


@pytest.mark.django_db
def test_healthz_reports_the_last_verification(client):
    assert client.get("/healthz").json()["history"] == {"status": "unverified"}
    entry = add(AppealFactory())
    chain.verify(record=True)
    history = client.get("/healthz").json()["history"]
    assert history["status"] == "ok" and history["entries"] == 1
    tamper("UPDATE appeals_appealhistory SET comment = 'x' WHERE id = %s", [entry.pk])
    chain.verify(record=True)
    response = client.get("/healthz")
    assert response.json()["history"]["status"] == "broken"
    assert response.status_code == 200  # informational: a broken chain does not take the portal out of service
    assert connection.vendor and AppealHistory.objects.count() == 1


@pytest.mark.django_db
def test_signature_admin_and_the_appeals_badge_show_a_tampered_signature_record(admin_client):
    from .test_signature_chain import sign, signed_document

    doc = signed_document()
    signature = sign(document=doc)
    appeal = AppealFactory()
    AppealHistory.objects.create(appeal=appeal, event="signed", signature=signature)
    url = reverse("admin:signing_signature_change", args=[signature.pk])
    with translation.override("ru"):
        page = admin_client.get(url, HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Цепочка истории цела" in page and signature.hash in page
    tamper("UPDATE signing_signature SET signer_name = 'Подделка' WHERE id = %s", [signature.pk])
    with translation.override("ru"):
        for each in (url, reverse("admin:appeals_appeal_change", args=[appeal.pk]),
                     reverse("admin:signing_signeddocument_change", args=[doc.pk])):
            page = admin_client.get(each, HTTP_ACCEPT_LANGUAGE="ru").content.decode()
            assert "Цепочка истории нарушена" in page, each
            assert f"signing.Signature #{signature.pk}" in page, each
