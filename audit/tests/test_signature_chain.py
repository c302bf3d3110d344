"""Signature records on the history chain (issue #17): each signing.Signature carries prev_hash and
hash in the chain of what it signed, on the one global chain; append-only in code and in
PostgreSQL; tampering through raw SQL named by verify; the object's chain check covers the
signatures its history records."""

import datetime as dt
import hashlib

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from appeals.models import AppealHistory
from appeals.tests.factories import AppealFactory
from audit import chain
from audit.models import GENESIS, ChainHead
from homeportal.history import HistoryImmutable
from signing.models import Signature, SignedDocument, SigningRequest

from .test_chain import postgres_only, problems, raw, tamper

pytestmark = pytest.mark.django_db


def signed_document(title="ДС"):
    return SignedDocument.objects.create(title_ru=title, filename="ds.pdf", document=b"%PDF",
                                         document_sha256=hashlib.sha256(b"%PDF").hexdigest())


def signing_request():
    return SigningRequest.objects.create(document=b"doc", document_sha256=hashlib.sha256(b"doc").hexdigest(),
                                         filename="doc.pdf", title_ru="Документ", return_url="/",
                                         expires_at=timezone.now() + dt.timedelta(hours=1))


def sign(*, document=None, request=None, iin="880101300123", chain_later=False):
    signature = Signature(
        signed_document=document, signing_request=request, signer_name="Иванов И.", signer_iin=iin,
        signer_bin="123456789012", organization_name="ТОО «Демо»", roles=["FIRST_HEAD"],
        certificate_serial="01ab", certificate_issuer="НУЦ РК (тест)",
        certificate_not_after=timezone.now() + dt.timedelta(days=365), cms=b"cms-" + iin.encode(),
        document_sha256="d" * 64, signed_at=timezone.now(), tsa_time=timezone.now(), level="B-T",
        revocation_source="ocsp", revocation_evidence=b"ocsp-response")
    signature.save(chain_later=chain_later)
    return signature


def test_signatures_are_chained_per_signed_document_and_globally():
    doc = signed_document()
    first = sign(document=doc)
    entry = AppealHistory.objects.create(appeal=AppealFactory(), event="status", status="draft")
    second = sign(document=doc, iin="900101400456")
    alone = sign(request=signing_request())
    assert (first.chain_seq, entry.chain_seq, second.chain_seq, alone.chain_seq) == (1, 2, 3, 4)
    assert first.chain_object == second.chain_object == f"signing.signeddocument:{doc.public_id}"
    assert first.prev_hash == GENESIS and second.prev_hash == first.hash
    assert alone.chain_object.startswith("signing.signingrequest:") and alone.prev_hash == GENESIS
    head = GENESIS
    for row in (first, entry, second, alone):
        head = chain.link(head, row.hash)
    assert (ChainHead.objects.get(pk=1).seq, ChainHead.objects.get(pk=1).head) == (4, head)
    stored = Signature.objects.get(pk=second.pk)
    assert chain.entry_hash(stored.prev_hash, stored.canonical_content()) == stored.hash
    report = chain.verify()
    assert report.intact, report.problems
    assert report.entries == 4


def test_seal_chains_a_record_stored_first_once():
    signature = sign(request=signing_request(), chain_later=True)
    assert signature.chain_seq is None
    assert [p.kind for p in chain.verify().problems] == ["inserted"]  # stored, not on the chain
    with transaction.atomic():
        chain.seal(signature)
    stored = Signature.objects.get(pk=signature.pk)
    assert (stored.chain_seq, stored.hash) == (1, signature.hash)
    assert chain.verify().intact
    with pytest.raises(RuntimeError), transaction.atomic():
        chain.seal(stored)


def test_models_refuse_update_and_delete():
    signature = sign(request=signing_request())
    signature.signer_iin = "000000000000"
    with pytest.raises(HistoryImmutable):
        signature.save()
    with pytest.raises(HistoryImmutable):
        signature.delete()
    with pytest.raises(HistoryImmutable):
        Signature.objects.filter(pk=signature.pk).update(signer_iin="x")
    with pytest.raises(HistoryImmutable):
        Signature.objects.filter(pk=signature.pk).delete()


@postgres_only
@pytest.mark.parametrize("sql", [
    "UPDATE signing_signature SET signer_iin = '000000000000' WHERE id = %s",
    "UPDATE signing_signature SET chain_seq = chain_seq + 10 WHERE id = %s",
    "DELETE FROM signing_signature WHERE id = %s",
])
def test_postgresql_trigger_refuses_update_and_delete(sql):
    signature = sign(request=signing_request())
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        raw(sql, [signature.pk])
    assert Signature.objects.filter(pk=signature.pk, signer_iin="880101300123").exists()


def test_deleting_the_request_keeps_the_record_and_its_chain():
    """SET_NULL of the request (not hashed: chain_object names what was signed) is let through."""
    request = signing_request()
    signature = sign(request=request)
    request.delete()
    stored = Signature.objects.get(pk=signature.pk)
    assert stored.signing_request_id is None and stored.chain_object == signature.chain_object
    assert chain.verify().intact


# --- tampering through raw SQL ---------------------------------------------------------------------

@pytest.fixture
def signatures(db):
    doc = signed_document()
    rows = [sign(document=doc, iin=f"88010130012{i}") for i in range(3)]
    assert chain.verify().intact
    return doc, rows


def test_modified_signature_is_named(signatures):
    _, (s1, s2, s3) = signatures
    tamper("UPDATE signing_signature SET signer_iin = '000000000000' WHERE id = %s", [s2.pk])
    modified = problems(chain.verify(), "modified")
    assert [(p.source, p.entry_id, p.seq) for p in modified] == [("signing.Signature", s2.pk, 2)]


def test_modified_cms_is_named(signatures):
    _, (s1, s2, s3) = signatures
    tamper("UPDATE signing_signature SET cms = %s WHERE id = %s", [b"other cms", s3.pk])
    assert [p.entry_id for p in problems(chain.verify(), "modified")] == [s3.pk]


def test_deleted_signature_is_named(signatures):
    _, (s1, s2, s3) = signatures
    tamper("DELETE FROM signing_signature WHERE id = %s", [s2.pk])
    deleted = problems(chain.verify(), "deleted")
    assert deleted and deleted[0].seq == 2
    assert f"signing.Signature #{s1.pk}" in deleted[0].detail and f"#{s3.pk}" in deleted[0].detail
    assert any(p.entry_id == s3.pk for p in deleted)


def test_inserted_signature_is_named(signatures):
    doc, (s1, s2, s3) = signatures
    tamper("INSERT INTO signing_signature (public_id, method, signer_name, signer_iin, signer_bin, organization_name,"
           " roles, certificate_serial, certificate_issuer, certificate_not_after, cms, document_sha256, signed_at,"
           " level, revocation_source, in_pades_pdf, signed_document_id, chain_object, chain_seq, prev_hash, hash)"
           " SELECT gen_random_uuid(), method, signer_name, '770101300999', signer_bin, organization_name, roles,"
           " certificate_serial, certificate_issuer, certificate_not_after, cms, document_sha256, signed_at, level,"
           " revocation_source, in_pades_pdf, signed_document_id, chain_object, chain_seq, prev_hash, hash"
           " FROM signing_signature WHERE id = %s" if connection.vendor == "postgresql" else
           "INSERT INTO signing_signature (public_id, method, signer_name, signer_iin, signer_bin, organization_name,"
           " roles, certificate_serial, certificate_issuer, certificate_not_after, cms, document_sha256, signed_at,"
           " level, revocation_source, in_pades_pdf, signed_document_id, chain_object, chain_seq, prev_hash, hash)"
           " SELECT 'f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0', method, signer_name, '770101300999', signer_bin,"
           " organization_name, roles, certificate_serial, certificate_issuer, certificate_not_after, cms,"
           " document_sha256, signed_at, level, revocation_source, in_pades_pdf, signed_document_id, chain_object,"
           " chain_seq, prev_hash, hash FROM signing_signature WHERE id = %s", [s3.pk])
    new_id = Signature.objects.order_by("-pk").values_list("pk", flat=True).first()
    inserted = problems(chain.verify(), "inserted")
    assert new_id in [p.entry_id for p in inserted]
    assert all(p.source == "signing.Signature" for p in inserted)


def test_reordered_signatures_are_named(signatures):
    _, (s1, s2, s3) = signatures
    tamper("UPDATE signing_signature SET chain_seq = -1 WHERE id = %s", [s2.pk])
    tamper("UPDATE signing_signature SET chain_seq = 2 WHERE id = %s", [s3.pk])
    tamper("UPDATE signing_signature SET chain_seq = 3 WHERE id = %s", [s2.pk])
    report = chain.verify()
    reordered = problems(report, "reordered")
    assert {p.entry_id for p in reordered} & {s2.pk, s3.pk}
    assert all(p.source == "signing.Signature" for p in reordered)
    assert problems(report, "head")


def test_the_objects_chain_check_covers_the_signatures_its_history_records(signatures):
    doc, (s1, s2, s3) = signatures
    appeal = AppealFactory()
    AppealHistory.objects.create(appeal=appeal, event="signed", signature=s2)
    assert chain.verify_object(appeal).intact
    assert chain.verify_object(doc).intact and chain.verify_object(s1).intact
    tamper("UPDATE signing_signature SET signed_at = signed_at - interval '1 hour' WHERE id = %s"
           if connection.vendor == "postgresql" else
           "UPDATE signing_signature SET signed_at = '2020-01-01 00:00:00' WHERE id = %s", [s1.pk])
    report = chain.verify_object(appeal)
    assert [(p.kind, p.source, p.entry_id) for p in report.problems] == [("modified", "signing.Signature", s1.pk)]
    assert not chain.verify_object(doc).intact


def test_migration_chains_signatures_stored_before(db):
    """audit/0004 chains the records stored without a chain, in the order they were created."""
    import importlib

    from django.db.migrations.executor import MigrationExecutor

    AppealHistory.objects.create(appeal=AppealFactory(), event="status", status="draft")
    doc = signed_document()
    old = [sign(document=doc, chain_later=True), sign(document=doc, iin="900101400456", chain_later=True),
           sign(request=signing_request(), chain_later=True)]
    state = MigrationExecutor(connection).loader.project_state(("audit", "0004_chain_signatures"))
    importlib.import_module("audit.migrations.0004_chain_signatures").chain_existing(state.apps, None)
    stored = list(Signature.objects.filter(pk__in=[s.pk for s in old]).order_by("pk"))
    assert [s.chain_seq for s in stored] == [2, 3, 4]
    assert stored[1].prev_hash == stored[0].hash and stored[2].prev_hash == GENESIS
    report = chain.verify()
    assert report.intact, report.problems
