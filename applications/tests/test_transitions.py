"""The two transition tables of the domain — the application's and the decision document's —
over every (source, target, actor): every allowed move succeeds with its payload and writes its
history row; every other is refused, changes nothing and is logged."""

import itertools

import pytest
from django.utils import timezone

from applications import services, transitions
from applications.models import ApplicationHistory, DecisionDocument, Status
from applications.tests.factories import PDF_BYTES, ApplicationFactory
from applications.transitions import Actor
from cabinets.models import Notification
from homeportal.workflow import Document
from tests.factories import OrganizationFactory

pytestmark = pytest.mark.django_db
S = Status
ALL_ACTORS = [Actor.COMPANY, Actor.DEVELOPER, Actor.MODERATOR, Actor.BPMS, Actor.STAFF, Actor.SYSTEM]
PAYLOADS = {
    S.ON_MODERATION: {},
    S.REVISION: {"document": Document("zaklyuchenie.pdf", PDF_BYTES), "comment": "Нет устава"},
    S.TO_SIGN: {},
    S.SENT: {},
    S.REGISTERED: {"registration_number": "01-00001/26", "due_date": "2026-12-10"},
    S.IN_REVIEW: {"due_date": "2026-12-10"},
    # The status's own documents, as the prepare step makes them (no rendering here).
    S.REJECTED: {"reason": "Неполный пакет", "notice": Document("otkaz.pdf", PDF_BYTES)},
    S.APPROVED: {"pledge": Document("dogovor-zaloga.pdf", PDF_BYTES)},
    S.SUBSIDY_APPROVED: {},
    S.AGREEMENT_SIGNING: {"agreement": Document("dogovor-subsidirovaniya.pdf", PDF_BYTES)},
    S.AGREEMENT_SIGNED: {},
}
# Both services' tables: guarantee and subsidy (one workflow module, one table each).
TABLES = {"guarantee": transitions.TRANSITIONS, "subsidy": transitions.SUBSIDY_TRANSITIONS}
RULES = [(service, rule) for service, table in TABLES.items() for rule in table]
ALLOWED = [(service, rule, actor) for service, rule in RULES for actor in sorted(rule.actors)]
REFUSED = [(service, a, b) for service in TABLES for a, b in itertools.product(S.values, S.values)
           if services.WORKFLOWS[service].find(a, b) is None]
OWN = {S.REJECTED: DecisionDocument.Kind.REJECTION, S.APPROVED: DecisionDocument.Kind.PLEDGE,
       S.AGREEMENT_SIGNING: DecisionDocument.Kind.SUBSIDY_AGREEMENT}


def application(status, service="guarantee"):
    return ApplicationFactory(status=status, developer=OrganizationFactory(), sent_at=None, service=service)


@pytest.mark.parametrize(("service", "rule", "actor"), ALLOWED,
                         ids=[f"{s}:{r.source}->{r.target}:{a}" for s, r, a in ALLOWED])
def test_every_allowed_transition(service, rule, actor):
    app = application(rule.source, service)
    services.application_transition(app, to=rule.target, actor=actor, payload=dict(PAYLOADS[rule.target]))
    app.refresh_from_db()
    assert app.status == rule.target
    step = app.history.get(event=ApplicationHistory.Event.STATUS)
    assert (step.payload["from_status"], step.status) == (rule.source, rule.target)
    assert step.actor_name  # who made it is always shown
    for organization in (app.organization, app.developer):  # both parties are told, in both languages
        note = Notification.objects.get(organization=organization)
        assert note.title_ru and note.title_kk and note.title_ru != note.title_kk
    if "document" in PAYLOADS[rule.target]:
        assert step.document and step.document_name and step.document_sha256
    if rule.target == S.SENT:
        assert app.sent_at is not None
    own = OWN.get(rule.target)
    assert list(app.decision_documents.values_list("kind", flat=True)) == ([own] if own else [])
    if rule.target == S.AGREEMENT_SIGNED:  # the signed agreement is the organization's subsidy contract
        assert app.issued_contract.kind == "subsidy" and app.issued_contract.organization == app.organization


@pytest.mark.parametrize(("service", "rule"), RULES, ids=[f"{s}:{r.source}->{r.target}" for s, r in RULES])
def test_allowed_transition_refused_for_other_actors(service, rule, caplog):
    app = application(rule.source, service)
    for actor in set(ALL_ACTORS) - rule.actors:
        with pytest.raises(services.ApplicationError):
            services.application_transition(app, to=rule.target, actor=actor, payload=dict(PAYLOADS[rule.target]))
    app.refresh_from_db()
    assert app.status == rule.source and not app.history.exists()
    assert "refused" in caplog.text


def test_a_bpms_event_cannot_send_a_draft():
    """The old table had no actors: a BPMS event could move DRAFT → SENT."""
    app = application(S.DRAFT)
    with pytest.raises(services.ApplicationError):
        services.application_apply_bpms_event(case_id=str(app.public_id), event={"seq": 1, "status": S.SENT})
    app.refresh_from_db()
    assert app.status == S.DRAFT and app.bpms_seq == 0


@pytest.mark.parametrize(("service", "rule"), [(s, r) for s, r in RULES if r.required],
                         ids=[f"{s}:{r.source}->{r.target}" for s, r in RULES if r.required])
def test_transition_refused_without_its_payload(service, rule):
    app = application(rule.source, service)
    with pytest.raises(services.ApplicationError) as refused:
        services.application_transition(app, to=rule.target, actor=sorted(rule.actors)[0], payload={})
    assert refused.value.code == "payload"
    app.refresh_from_db()
    assert app.status == rule.source


@pytest.mark.parametrize(("service", "source", "target"), REFUSED, ids=[f"{s}:{a}->{b}" for s, a, b in REFUSED])
def test_every_other_transition_is_refused_and_logged(service, source, target, caplog):
    app = application(source, service)
    for actor in ALL_ACTORS:
        with pytest.raises(services.ApplicationError):
            services.application_transition(app, to=target, actor=actor, payload=dict(PAYLOADS.get(target, {})))
    app.refresh_from_db()
    assert app.status == source and not app.history.exists()
    assert "refused" in caplog.text


def test_user_actions_cover_every_status():
    assert set(transitions.USER_ACTIONS) == set(S.values)
    assert [s for s in S.values if transitions.user_can(s, transitions.DELETE)] == [S.DRAFT]
    assert transitions.user_can(S.REVISION, transitions.EDIT) and not transitions.user_can(S.REVISION, transitions.DELETE)


# --- decision documents ------------------------------------------------------------------------------

D = DecisionDocument.State
DOCUMENT_PAYLOADS = {D.SIGNED: {}, D.RETURNED: {"comment": "Неверная сумма"}}
DOCUMENT_ALLOWED = [(rule, actor) for rule in transitions.DOCUMENT_TRANSITIONS for actor in sorted(rule.actors)]
DOCUMENT_REFUSED = [(a, b) for a, b in itertools.product(D.values, D.values)
                    if services.DOCUMENT_WORKFLOW.find(a, b) is None]


def decision_document(state):
    app = ApplicationFactory(status=S.APPROVED, developer=OrganizationFactory(), sent_at=timezone.now())
    doc = services.decision_document_add(application=app, kind=DecisionDocument.Kind.AVR, title="АВР",
                                         data=PDF_BYTES, filename="avr.pdf")
    DecisionDocument.objects.filter(pk=doc.pk).update(state=state)
    doc.refresh_from_db()
    return doc


@pytest.mark.parametrize(("rule", "actor"), DOCUMENT_ALLOWED,
                         ids=[f"{r.source}->{r.target}:{a}" for r, a in DOCUMENT_ALLOWED])
def test_every_allowed_document_transition(rule, actor):
    from bpms_bridge.models import OutboxMessage

    doc = decision_document(rule.source)
    services.decision_document_transition(doc, to=rule.target, actor=actor, payload=dict(DOCUMENT_PAYLOADS[rule.target]))
    doc.refresh_from_db()
    assert doc.state == rule.target
    step = doc.history.exclude(event=ApplicationHistory.Event.DOCUMENT_ISSUED).get()
    assert step.application_id == doc.application_id and step.status == rule.target
    kind = {D.SIGNED: "signed_document", D.RETURNED: "avr_returned"}[rule.target]
    assert OutboxMessage.objects.filter(case_id=str(doc.application.public_id), kind=kind).count() == 1


@pytest.mark.parametrize("rule", transitions.DOCUMENT_TRANSITIONS, ids=lambda r: f"{r.source}->{r.target}")
def test_document_transition_refused_for_other_actors_and_without_payload(rule):
    doc = decision_document(rule.source)
    for actor in set(ALL_ACTORS) - rule.actors:
        with pytest.raises(services.ApplicationError):
            services.decision_document_transition(doc, to=rule.target, actor=actor,
                                                  payload=dict(DOCUMENT_PAYLOADS[rule.target]))
    if rule.required:
        with pytest.raises(services.ApplicationError):
            services.decision_document_transition(doc, to=rule.target, actor=sorted(rule.actors)[0], payload={})
    doc.refresh_from_db()
    assert doc.state == rule.source


@pytest.mark.parametrize(("source", "target"), DOCUMENT_REFUSED, ids=[f"{a}->{b}" for a, b in DOCUMENT_REFUSED])
def test_every_other_document_transition_is_refused(source, target):
    doc = decision_document(source)
    for actor in ALL_ACTORS:
        with pytest.raises(services.ApplicationError):
            services.decision_document_transition(doc, to=target, actor=actor,
                                                  payload=dict(DOCUMENT_PAYLOADS.get(target, {})))
    doc.refresh_from_db()
    assert doc.state == source


def test_only_an_avr_goes_back_for_revision(company_user):
    doc = decision_document(D.TO_SIGN)
    DecisionDocument.objects.filter(pk=doc.pk).update(kind=DecisionDocument.Kind.PLEDGE)
    doc.refresh_from_db()
    with pytest.raises(services.ApplicationError):
        services.avr_return(document=doc, comment="Неверная сумма", actor=company_user)
