"""What the history and ДС pages show: dates as dates, each heading once, labels next to their values."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from appeals import services
from appeals.models import AppealStatus
from appeals.services import Document
from appeals.templatetags.appeals_tags import isodate
from appeals.transitions import Actor
from bpms_bridge.models import BpmsCase

from .factories import AppealFactory

S = AppealStatus
PDF = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"
pytestmark = pytest.mark.django_db


def visible_text(html: str) -> str:
    return re.sub(r"<[^>]+>", " ", html)


def test_isodate_shows_a_date_as_a_date_and_a_moment_with_its_time():
    assert isodate("2026-12-02") == "02.12.2026"
    assert isodate("2026-12-02T10:30:00+05:00") == "02.12.2026 10:30"
    assert isodate("not a date") == "not a date"


def test_history_shows_the_sa_date_without_a_time(cabinet_client, cabinet_user):
    appeal = AppealFactory(organization=cabinet_user.organization, status=S.DS_KZHK_SIGNING)
    services.appeal_transition(appeal, to=S.DS_SIGNED, actor=Actor.STAFF,
                               payload={"ds_number": "ДС-7", "ds_date": datetime.date(2026, 12, 2)})
    html = cabinet_client.get(reverse("appeals:history", args=[appeal.public_id])).content.decode()
    assert "02.12.2026" in html and "02.12.2026 00:00" not in html


def _registered(cabinet_user):
    appeal = AppealFactory(organization=cabinet_user.organization, status=S.SENT)
    services.appeal_transition(appeal, to=S.REGISTERED, actor=Actor.BPMS,
                               payload={"registration_number": "КЖК-1", "review_deadline": "2026-12-10"})
    now = timezone.now()
    BpmsCase.objects.create(case_kind="appeal", case_id=str(appeal.public_id), registered_at=now,
                            deadline=now + datetime.timedelta(days=8))
    return appeal


def test_history_names_the_review_term_once_and_pairs_labels_with_values(cabinet_client, cabinet_user):
    appeal = _registered(cabinet_user)
    html = cabinet_client.get(reverse("appeals:history", args=[appeal.public_id])).content.decode()
    outside_steps = re.sub(r'<table class="data history-table">.*?</table>', "", html, flags=re.S)
    assert visible_text(outside_steps).count("Срок рассмотрения") == 1
    card = re.search(r'<section[^>]*id="case-terms".*?</section>', html, re.S).group(0)
    # label/value pairs in their own two-column list (a wrapping grid put a label over another value)
    assert 'class="term-list"' in card and "grid-2" not in card
    pairs = re.findall(r"<dt>(.*?)</dt>\s*<dd>(.*?)</dd>", card, re.S)
    assert [label for label, _v in pairs][:2] == ["Дата и время регистрации", "Срок истекает"]


def test_ds_page_names_the_signature_table_once(cabinet_client, cabinet_user):
    appeal = AppealFactory(organization=cabinet_user.organization, status=S.APPROVED)
    services.appeal_transition(appeal, to=S.DS_APPLICANT_SIGNING, actor=Actor.BPMS,
                               payload={"document": Document("ДС.pdf", PDF)})
    html = cabinet_client.get(reverse("appeals:ds", args=[appeal.public_id])).content.decode()
    assert visible_text(html).count("Сведения о подписи") == 1


def test_no_page_of_the_appeal_creation_writes_on_get(cabinet_client, cabinet_user):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from appeals.models import AppealCategory

    AppealCategory.objects.filter(code="other").update(is_active=False)  # as if staff had hidden it
    with CaptureQueriesContext(connection) as queries:
        for url in (reverse("appeals:list"), reverse("appeals:new") + "?kind=guarantee",
                    reverse("appeals:new_contract") + "?kind=guarantee"):
            assert cabinet_client.get(url).status_code == 200
    writes = [q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
              and "django_session" not in q["sql"]]
    assert not writes


def test_other_category_comes_from_the_migration(db):
    from appeals.models import AppealCategory

    assert AppealCategory.objects.filter(code="other", is_other=True, is_active=True).exists()
