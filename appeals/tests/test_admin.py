"""Admin: filters, categories with documents, status changes only through the table."""

import pytest
from django.urls import reverse

from appeals import services
from appeals.models import AppealCategory, AppealStatus

from .factories import AppealFactory

S = AppealStatus


@pytest.fixture
def admin_client(client, django_user_model):
    staff = django_user_model.objects.create_superuser("kzhk-admin", "x")
    client.force_login(staff)
    return client


@pytest.mark.django_db
def test_admin_lists_with_filters_and_category_pages(admin_client):
    AppealFactory(status=S.SENT)
    url = reverse("admin:appeals_appeal_changelist")
    for params in [{}, {"status__exact": "sent"}, {"kind__exact": "guarantee"}]:
        assert admin_client.get(url, params).status_code == 200
    assert admin_client.get(reverse("admin:appeals_appealcategory_changelist")).status_code == 200
    assert admin_client.get(reverse("admin:appeals_appealcategory_add")).status_code == 200


@pytest.mark.django_db
def test_other_category_comes_back_after_deletion(admin_client):
    other = services.category_other_ensure()
    admin_client.post(reverse("admin:appeals_appealcategory_delete", args=[other.pk]), {"post": "yes"})
    assert AppealCategory.objects.filter(code="other", is_active=True, is_other=True).exists()
    other = AppealCategory.objects.get(code="other")
    admin_client.post(reverse("admin:appeals_appealcategory_changelist"),
                      {"action": "delete_selected", "_selected_action": [other.pk], "post": "yes"})
    assert AppealCategory.objects.filter(code="other", is_active=True, is_other=True).exists()


@pytest.mark.django_db
def test_admin_status_change_goes_through_the_table(admin_client):
    appeal = AppealFactory(status=S.SENT)
    url = reverse("admin:appeals_appeal_transition", args=[appeal.pk])
    page = admin_client.get(url)
    assert page.status_code == 200 and [c[0] for c in page.context["form"].fields["to"].choices] == [S.REGISTERED, S.IN_REVIEW, S.REJECTED]
    # Not in the table: refused by the form.
    admin_client.post(url, {"to": S.DS_SIGNED, "ds_number": "1", "ds_date": "2026-12-01"})
    appeal.refresh_from_db()
    assert appeal.status == S.SENT
    # Missing data: refused by the service, message on the page.
    response = admin_client.post(url, {"to": S.REGISTERED})
    assert response.status_code == 200 and response.context["form"].non_field_errors()
    response = admin_client.post(url, {"to": S.REGISTERED, "registration_number": "КЖК-9", "review_deadline": "2026-12-01"})
    assert response.status_code == 302
    appeal.refresh_from_db()
    assert appeal.status == S.REGISTERED and appeal.registration_number == "КЖК-9"
    # The action redirects one selected appeal to the same page.
    response = admin_client.post(reverse("admin:appeals_appeal_changelist"),
                                 {"action": "change_status", "_selected_action": [appeal.pk]})
    assert response.status_code == 302 and response["Location"].endswith(f"/{appeal.pk}/transition/")
    assert admin_client.get(reverse("admin:appeals_appeal_change", args=[appeal.pk])).status_code == 200


@pytest.mark.django_db
def test_kzhk_signature_of_the_ds_is_made_on_the_worker_not_in_the_request(admin_client, monkeypatch):
    """#18: a moderator's «ДС подписано» in the admin only queues KZhK's issue of the ДС; the
    request signs nothing, the task does (once, even when it runs twice)."""
    import datetime

    from django.core.files.base import ContentFile
    from django.utils import translation

    from appeals import tasks
    from appeals.models import AppealHistory

    issued, queued = [], []
    monkeypatch.setattr(services, "_pdf_issue_by_kzhk", lambda *, pdf, title, signers=None: issued.append(pdf) or b"PADES")
    monkeypatch.setattr(services, "enqueue", lambda task, args=(), **kw: queued.append((task, args)) or True)
    appeal = AppealFactory(status=S.DS_KZHK_SIGNING)
    appeal.ds_file.save("ds.pdf", ContentFile(b"%PDF-1.7 ds"))
    url = reverse("admin:appeals_appeal_transition", args=[appeal.pk])
    with translation.override("ru"):
        response = admin_client.post(url, {"to": S.DS_SIGNED, "ds_number": "ДС-7", "ds_date": "2026-12-25"}, follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        "Документ формируется… Статус станет «ДС подписано», когда на нём будет подпись АО «КЖК»."]
    appeal.refresh_from_db()
    assert appeal.status == S.DS_KZHK_SIGNING and not issued  # nothing signed in the request
    [(task, args)] = queued
    assert task is tasks.ds_sign_by_kzhk
    with translation.override("kk"):
        assert "Құжат қалыптастырылуда" in str(services.pgettext(
            "appeals", "The document is being prepared… The status changes to «SA signed» once it carries KZhK's "
                       "signature."))
    task.run(*args)  # the worker
    task.run(*args)  # redelivered: nothing more
    appeal.refresh_from_db()
    assert appeal.status == S.DS_SIGNED and appeal.ds_number == "ДС-7" and appeal.ds_date == datetime.date(2026, 12, 25)
    assert len(issued) == 1 and appeal.ds_signed_file.read() == b"PADES"
    assert appeal.history.filter(event=AppealHistory.Event.STATUS, status=S.DS_SIGNED).count() == 1
    # Not signable now: refused in the request, nothing queued.
    response = admin_client.post(url, {"to": S.DS_SIGNED, "ds_number": "ДС-8", "ds_date": "2026-12-25"})
    assert len(queued) == 1


@pytest.mark.django_db
def test_kzhk_signature_request_is_refused_when_the_queue_is_down(admin_client, monkeypatch):
    from django.core.files.base import ContentFile

    monkeypatch.setattr(services, "enqueue", lambda task, args=(), **kw: False)
    appeal = AppealFactory(status=S.DS_KZHK_SIGNING)
    appeal.ds_file.save("ds.pdf", ContentFile(b"%PDF-1.7 ds"))
    response = admin_client.post(reverse("admin:appeals_appeal_transition", args=[appeal.pk]),
                                 {"to": S.DS_SIGNED, "ds_number": "ДС-7", "ds_date": "2026-12-25"})
    assert response.status_code == 200 and response.context["form"].non_field_errors()
    appeal.refresh_from_db()
    assert appeal.status == S.DS_KZHK_SIGNING
