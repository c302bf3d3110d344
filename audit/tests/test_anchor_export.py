"""Anchoring the chain head with the TSA (RFC 3161) and «Выгрузить историю» (PDF signed by KZhK)."""

import pytest
from django.urls import reverse

from appeals.tests.factories import AppealFactory
from audit import chain, tasks
from audit.models import Anchor, ChainHead
from signing import pdf as signing_pdf
from tests.factories import UserFactory

from .test_chain import add, problems, tamper


@pytest.mark.django_db
def test_anchor_time_stamps_the_head_and_verifies():
    appeal = AppealFactory()
    add(appeal)
    add(appeal)
    anchor = chain.anchor_head()
    head = ChainHead.objects.get(pk=1)
    assert (anchor.seq, anchor.head) == (head.seq, head.head) == (2, head.head)
    assert anchor.tsa_time is not None
    assert chain.anchor_head() is None  # the head has not moved: nothing new to prove
    add(appeal)
    assert chain.anchor_head().seq == 3
    report = chain.verify()
    assert report.intact, report.problems
    assert report.anchors == 2 and report.last_anchor.seq == 3


@pytest.mark.django_db
def test_an_anchor_over_the_empty_chain_verifies():
    assert chain.anchor_head(force=True).seq == 0
    assert chain.verify().intact


@pytest.mark.django_db
def test_a_rewritten_history_no_longer_matches_its_time_stamp():
    appeal = AppealFactory()
    e1 = add(appeal, comment="было")
    add(appeal)
    chain.anchor_head()
    # Someone rewrites the first row AND recomputes every hash and the head: the links hold again...
    tamper("UPDATE appeals_appealhistory SET comment = 'стало' WHERE id = %s", [e1.pk])
    from appeals.models import AppealHistory

    head = "0" * 64
    prev = "0" * 64
    for entry in AppealHistory.objects.order_by("chain_seq"):
        new_hash = chain.entry_hash(prev, entry.canonical_content())
        tamper("UPDATE appeals_appealhistory SET prev_hash = %s, hash = %s WHERE id = %s", [prev, new_hash, entry.pk])
        prev = new_hash
        head = chain.link(head, new_hash)
    tamper("UPDATE audit_chainhead SET head = %s WHERE id = 1", [head])
    report = chain.verify()
    # ...but not with the time-stamped head.
    anchors = problems(report, "anchor")
    assert anchors and "does not match its time-stamped head" in anchors[0].detail
    assert not problems(report, "modified")


@pytest.mark.django_db
def test_a_forged_anchor_does_not_verify():
    add(AppealFactory())
    anchor = chain.anchor_head()
    tamper("UPDATE audit_anchor SET head = %s WHERE id = %s", ["ab" * 32, anchor.pk])
    report = chain.verify()
    details = " ".join(p.detail for p in problems(report, "anchor"))
    assert "does not match its time-stamped head" in details and "does not verify (imprint)" in details


@pytest.mark.django_db
def test_hourly_task_anchors_and_records_a_verification(settings):
    add(AppealFactory())
    result = tasks.anchor_and_verify()
    assert result == {"anchored_seq": 1, "intact": True, "entries": 1, "problems": 0}
    settings.SIGNING_TSA_URL = "http://127.0.0.1:9/tsp"  # the TSA is down: the hour is skipped, verification still runs
    settings.SIGNING_TSA_ATTEMPTS = 1
    add(AppealFactory())
    result = tasks.anchor_and_verify()
    assert result["tsa"] == "unavailable" and result["intact"] is True
    assert Anchor.objects.count() == 1
    assert chain.last_verification().entries == 2


# --- «Выгрузить историю» ------------------------------------------------------------------------

@pytest.fixture
def rendered(monkeypatch):
    """The HTML each export rendered (the PDF's text), besides the PDF itself."""
    from django.template.loader import render_to_string

    seen = []
    original = signing_pdf.pdf_render

    def spy(*, template_name, context):
        seen.append(render_to_string(template_name, context))
        return original(template_name=template_name, context=context)

    monkeypatch.setattr(signing_pdf, "pdf_render", spy)
    return seen


@pytest.mark.django_db
@pytest.mark.parametrize("lang,intact_text", [("ru", "Цепочка истории цела"), ("kk", "Тарих тізбегі бүтін")])
def test_user_exports_the_appeal_history_as_a_pdf_signed_by_kzhk(client, rendered, lang, intact_text):
    user = UserFactory()
    appeal = AppealFactory(organization=user.organization, contract__organization=user.organization)
    e1, e2 = add(appeal, comment="первый"), add(appeal, comment="второй")
    chain.anchor_head()
    client.force_login(user)
    response = client.get(reverse("appeals:history_export", args=[appeal.public_id]), {"lang": lang})
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].endswith(f'-{lang}.pdf"')
    pdf = b"".join(response.streaming_content)
    reports = signing_pdf.pdf_verify(pdf)
    assert reports and all(r.ok for r in reports), [r.problems for r in reports]
    assert reports[0].info.bin  # KZhK's organization key
    html = rendered[-1]
    assert e1.hash in html and e2.hash in html and intact_text in html
    assert Anchor.objects.get().head in html


@pytest.mark.django_db
def test_application_history_export(client, rendered):
    from applications.models import ApplicationHistory
    from applications.tests.factories import ApplicationFactory

    user = UserFactory()
    application = ApplicationFactory(organization=user.organization)
    entry = ApplicationHistory.objects.create(application=application, event="created", actor_name="Тест")
    client.force_login(user)
    response = client.get(reverse("applications:history_export", args=[application.public_id]))
    assert response.status_code == 200
    assert entry.hash in rendered[-1]


@pytest.mark.django_db
def test_another_organizations_history_is_404(client):
    appeal = AppealFactory()
    add(appeal)
    client.force_login(UserFactory())
    assert client.get(reverse("appeals:history_export", args=[appeal.public_id])).status_code == 404


@pytest.mark.django_db
def test_export_with_the_tsa_down_is_a_message_not_a_500(client, settings):
    user = UserFactory()
    appeal = AppealFactory(organization=user.organization, contract__organization=user.organization)
    add(appeal)
    settings.SIGNING_TSA_URL = "http://127.0.0.1:9/tsp"
    settings.SIGNING_TSA_ATTEMPTS = 1
    from signing import trust

    trust._TIMESTAMPERS.clear()
    client.force_login(user)
    response = client.get(reverse("appeals:history_export", args=[appeal.public_id]), HTTP_ACCEPT_LANGUAGE="ru")
    assert response.status_code == 302
    assert response["Location"] == reverse("appeals:history", args=[appeal.public_id])
    trust._TIMESTAMPERS.clear()


@pytest.mark.django_db
def test_history_page_offers_the_export(client):
    user = UserFactory()
    appeal = AppealFactory(organization=user.organization, contract__organization=user.organization)
    add(appeal)
    client.force_login(user)
    page = client.get(reverse("appeals:history", args=[appeal.public_id]), HTTP_ACCEPT_LANGUAGE="ru").content.decode()
    assert "Выгрузить историю" in page
    assert reverse("appeals:history_export", args=[appeal.public_id]) in page


@pytest.mark.django_db(transaction=True)
def test_no_transaction_is_held_across_the_tsa_or_the_pdf(client, monkeypatch):
    """The export renders (WeasyPrint), signs (pyHanko) and asks the TSA (httpx); the anchor asks
    the TSA: none of it inside an atomic block."""
    import functools

    import httpx
    import weasyprint
    from django.db import connection

    calls = []

    def watch(kind, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            calls.append((kind, connection.in_atomic_block))
            return fn(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(weasyprint.HTML, "write_pdf", watch("pdf render", weasyprint.HTML.write_pdf))
    monkeypatch.setattr(signing_pdf, "_off_event_loop", watch("pdf signature", signing_pdf._off_event_loop))
    monkeypatch.setattr(httpx.Client, "send", watch("http", httpx.Client.send))
    user = UserFactory()
    appeal = AppealFactory(organization=user.organization, contract__organization=user.organization)
    add(appeal)
    chain.anchor_head()
    client.force_login(user)
    assert client.get(reverse("appeals:history_export", args=[appeal.public_id])).status_code == 200
    kinds = {kind for kind, _ in calls}
    assert {"pdf render", "pdf signature", "http"} <= kinds, calls
    assert not [c for c in calls if c[1]], calls
