"""Trusted time and live revocation (issue #13): the NCA stand-in, CAdES-T on every user
signature, the forgeries refused by the flows and by the verifier, ETSI verdicts, B-LTA and the
archive re-time-stamp, and independent checks by pdfsig and pyHanko's own validator."""

import datetime as dt
import io
import os
import shutil
import subprocess

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp

from signing import pki, trust
from signing.certs import SigningError, pkcs12_open
from signing.cms import cms_sign
from signing.models import Signature
from signing.verification import FAILED, INDETERMINATE, PASSED, verify_cms, verify_pdf, verify_upload

NOW = dt.datetime.now(dt.UTC)
DAY = dt.timedelta(days=1)
YEAR = dt.timedelta(days=365)


def _key(slug="company_head_sign"):
    return pkcs12_open(data=pki.demo_key(slug)[0], password=pki.DEMO_PASSWORD)


def _fresh_key(**kw):
    return pkcs12_open(data=pki.issue_test_key(**kw), password=pki.DEMO_PASSWORD)


def _pdf_sign(pdf: bytes, key, *, timestamper=None, field="Sig") -> bytes:
    """What an attacker (or another program) can produce: pyHanko PAdES with any key, optionally
    time-stamped."""
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers

    from signing.pdf import _off_event_loop, _simple_signer

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf), strict=False)
    meta = signers.PdfSignatureMetadata(field_name=field, md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES)
    signer = signers.PdfSigner(meta, signer=_simple_signer(key), timestamper=timestamper,
                               new_field_spec=fields.SigFieldSpec(field))
    out = io.BytesIO()
    _off_event_loop(lambda: signer.sign_pdf(writer, output=out))
    return out.getvalue()


@pytest.fixture
def dead_url():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens there


@pytest.fixture
def fast_trust(settings):
    settings.SIGNING_TRUST_TIMEOUT = 1.0
    settings.SIGNING_TSA_ATTEMPTS = 2
    return settings


# --- the NCA stand-in -------------------------------------------------------------------------------

def _ocsp_ask(base: str, cert, issuer) -> ocsp.OCSPResponse:
    req = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, hashes.SHA1()).build()  # noqa: S303
    r = httpx.post(base + "/ocsp", content=req.public_bytes(serialization.Encoding.DER),
                   headers={"Content-Type": "application/ocsp-request"})
    return ocsp.load_der_ocsp_response(r.content)


def _nca():
    return x509.load_pem_x509_certificate((pki.pki_dir() / "nca_rsa.pem").read_bytes())


def test_ocsp_responder_answers_good_revoked_with_reason_and_time_and_unknown(nca_services):
    good = _key().certificate
    revoked = _key("revoked_sign").certificate
    unknown = _fresh_key(register=False).certificate
    r = _ocsp_ask(nca_services, good, _nca())
    assert r.response_status == ocsp.OCSPResponseStatus.SUCCESSFUL and r.certificate_status == ocsp.OCSPCertStatus.GOOD
    responder = r.certificates[0]
    assert ocsp.load_der_ocsp_response  # the responder is the delegated OCSP certificate, not the CA
    assert responder.subject.rfc4514_string().endswith(pki.OCSP_NAME) and responder.issuer == _nca().subject
    assert x509.oid.ExtendedKeyUsageOID.OCSP_SIGNING in responder.extensions.get_extension_for_class(
        x509.ExtendedKeyUsage).value
    r = _ocsp_ask(nca_services, revoked, _nca())
    assert r.certificate_status == ocsp.OCSPCertStatus.REVOKED
    assert r.revocation_reason == x509.ReasonFlags.key_compromise and r.revocation_time_utc < NOW
    assert _ocsp_ask(nca_services, unknown, _nca()).certificate_status == ocsp.OCSPCertStatus.UNKNOWN
    assert trust.ocsp_evidence(_ocsp_ask(nca_services, good, _nca()).public_bytes(serialization.Encoding.DER),
                               good, _nca()).status == "good"
    garbage = httpx.post(nca_services + "/ocsp", content=b"nonsense")
    assert ocsp.load_der_ocsp_response(garbage.content).response_status == ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_tsa_issues_rfc3161_tokens_with_its_own_timestamping_certificate(nca_services):
    token = trust.request_timestamp(b"document")
    check = trust.timestamp_check(token, b"document")
    assert check.ok and abs(check.time - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)
    eku = check.tsa_certificate.extensions.get_extension_for_class(x509.ExtendedKeyUsage)
    assert eku.critical and list(eku.value) == [x509.oid.ExtendedKeyUsageOID.TIME_STAMPING]
    assert check.chain[-1].subject.rfc4514_string().endswith(pki.ROOT_NAME)
    assert not trust.timestamp_check(token, b"another document").ok
    assert httpx.post(nca_services + "/tsp", content=b"x", headers={"Content-Type": "text/plain"}).status_code == 415


def test_crls_are_served_and_reissued_when_the_index_changes(nca_services):
    cert = _fresh_key().certificate
    before = x509.load_der_x509_crl(httpx.get(nca_services + "/crl/nca_rsa.crl").content)
    assert before.get_revoked_certificate_by_serial_number(cert.serial_number) is None
    pki.revoke(cert, at=NOW - DAY, crl=False)  # the CRL file lags; the service re-issues it
    after = x509.load_der_x509_crl(httpx.get(nca_services + "/crl/nca_rsa.crl").content)
    assert after.get_revoked_certificate_by_serial_number(cert.serial_number) is not None
    assert after.is_signature_valid(_nca().public_key()) and after.next_update_utc > NOW


def test_user_certificates_point_at_the_nca_services():
    cert = _key().certificate
    aia = cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value
    assert aia[0].access_location.value == pki.ocsp_url()
    cdp = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert cdp[0].full_name[0].value == pki.crl_url("nca_rsa")


# --- every user signature: CAdES-T + OCSP on arrival ------------------------------------------------

def test_flow_time_stamps_the_signature_and_keeps_the_ocsp_response(make_request, demo_key):
    from signing.tests.helpers import signing_request_sign_with_key

    sr = make_request()
    sig = signing_request_sign_with_key(signing_request=sr, p12=demo_key("company_head_sign")[0],
                                        password=pki.DEMO_PASSWORD)
    sig.refresh_from_db()
    assert sig.level == "B-T" and sig.tsa_time is not None and sig.signed_at == sig.tsa_time
    assert sig.revocation_source == "ocsp" and sig.revocation_produced_at is not None
    evidence = trust.ocsp_evidence(bytes(sig.revocation_evidence), _key().certificate, _nca())
    assert evidence.status == "good"
    report = verify_cms(bytes(sig.cms), bytes(sr.document))
    line = report.signatures[0]
    assert line.indication == PASSED and line.level == "B-T" and line.tsa_time == sig.tsa_time


def test_flow_refuses_a_key_revoked_by_ocsp_before_the_crl_knows(make_request):
    from signing.services import signing_request_complete

    key = _fresh_key()
    pki.revoke(key.certificate, at=NOW - dt.timedelta(minutes=5), crl=False)
    sr = make_request()
    cms = cms_sign(data=bytes(sr.document), key=key, signing_time=NOW - DAY)  # declared a day back
    with pytest.raises(SigningError) as err:
        signing_request_complete(signing_request=sr, cms_bytes=cms, method=Signature.Method.ECP)
    assert err.value.code == "revoked"
    assert not Signature.objects.exists()


@pytest.mark.parametrize(("slug", "code"), [
    ("revoked_sign", "revoked"),       # forgery 1: revoked key, declared time a day back
    ("expired_sign", "expired"),       # forgery 2: expired key, declared time inside its validity
    ("company_head_auth", "auth_key_for_signing"),  # forgery 3: an AUTH key on a document
])
def test_flows_refuse_the_three_forgeries(make_request, slug, code):
    from signing.services import signing_request_complete

    key = _key(slug)
    declared = key.certificate.not_valid_before_utc + DAY if slug == "expired_sign" else NOW - DAY
    sr = make_request()
    cms = cms_sign(data=bytes(sr.document), key=key, signing_time=declared)
    with pytest.raises(SigningError) as err:
        signing_request_complete(signing_request=sr, cms_bytes=cms, method=Signature.Method.ECP)
    assert err.value.code == code
    assert not Signature.objects.exists()


def test_the_one_trust_step_refuses_forgeries_even_past_the_local_checks(nca_services):
    """secure_user_signature decides on its own (the TSA's time, OCSP), whatever ran before."""
    for slug, code in (("revoked_sign", "revoked"), ("expired_sign", "expired"),
                       ("company_head_auth", "auth_key_for_signing")):
        cms = cms_sign(data=b"doc", key=_key(slug), signing_time=NOW - DAY)
        with pytest.raises(SigningError) as err:
            trust.secure_user_signature(cms_bytes=cms)
        assert err.value.code == code, slug


def test_ocsp_unknown_is_refused(make_request):
    from signing.services import signing_request_complete

    key = _fresh_key(register=False)  # issued by the CA's key, unknown to its responder
    sr = make_request()
    with pytest.raises(SigningError) as err:
        signing_request_complete(signing_request=sr, cms_bytes=cms_sign(data=bytes(sr.document), key=key,
                                                                         signing_time=NOW), method="ecp")
    assert err.value.code == "certificate_unknown"


def test_ocsp_down_falls_back_to_the_crl(make_request, settings, dead_url, fast_trust):
    from signing.services import signing_request_complete

    settings.SIGNING_OCSP_URL = dead_url + "/ocsp"
    sr = make_request()
    sig = signing_request_complete(signing_request=sr, cms_bytes=cms_sign(data=bytes(sr.document), key=_key(),
                                                                          signing_time=NOW), method="ecp")
    assert sig.revocation_source == "crl"


def test_ocsp_and_crl_down_is_try_later_and_nothing_is_saved(make_request, settings, dead_url, fast_trust, client):
    from signing.services import signing_request_complete

    settings.SIGNING_OCSP_URL = dead_url + "/ocsp"
    settings.SIGNING_CRL_BASE_URL = dead_url + "/crl"
    trust._CRL_CACHE.clear()
    sr = make_request()
    with pytest.raises(SigningError) as err:
        signing_request_complete(signing_request=sr, cms_bytes=cms_sign(data=bytes(sr.document), key=_key(),
                                                                        signing_time=NOW), method="ecp")
    assert err.value.code == "try_later"
    from django.utils import translation

    with translation.override("ru"):
        assert "попробуйте" in str(err.value.message).lower()
    with translation.override("kk"):
        assert "кейінірек" in str(err.value.message).lower()
    sr.refresh_from_db()
    assert sr.status == "pending" and not Signature.objects.exists()


def test_tsa_down_retries_then_a_clear_message_and_nothing_saved(make_request, settings, dead_url, fast_trust,
                                                                monkeypatch):
    from signing.services import signing_request_complete

    settings.SIGNING_TSA_URL = dead_url + "/tsp"
    calls = []
    real_post = httpx.post
    monkeypatch.setattr(httpx, "post", lambda url, **kw: calls.append(url) or real_post(url, **kw))
    sr = make_request()
    with pytest.raises(SigningError) as err:
        signing_request_complete(signing_request=sr, cms_bytes=cms_sign(data=bytes(sr.document), key=_key(),
                                                                        signing_time=NOW), method="ecp")
    assert err.value.code == "tsa_unavailable"
    assert [u for u in calls if u.endswith("/tsp")] == [settings.SIGNING_TSA_URL] * 2  # bounded retries
    sr.refresh_from_db()
    assert sr.status == "pending" and not Signature.objects.exists()


def test_ecp_login_checks_the_certificate_by_ocsp(db):
    """The login challenge (signed in the browser) is refused for a key revoked by OCSP only."""
    from django.contrib.sessions.backends.db import SessionStore

    from cabinets.services import ecp_challenge_start
    from signing.tests.helpers import signing_request_sign_with_key

    p12 = pki.issue_test_key(purpose="AUTH")
    _challenge, sr = ecp_challenge_start(purpose="login", origin="http://testserver", session=SessionStore())
    assert signing_request_sign_with_key(signing_request=sr, p12=p12, password=pki.DEMO_PASSWORD).signer_bin
    pki.revoke(pkcs12_open(data=p12, password=pki.DEMO_PASSWORD).certificate, at=NOW - DAY, crl=False)
    _challenge, sr = ecp_challenge_start(purpose="login", origin="http://testserver", session=SessionStore())
    with pytest.raises(SigningError) as err:
        signing_request_sign_with_key(signing_request=sr, p12=p12, password=pki.DEMO_PASSWORD)
    assert err.value.code == "revoked"


# --- the verifier: ETSI verdicts ------------------------------------------------------------------

def test_verifier_without_time_stamp_is_never_passed():
    report = verify_cms(cms_sign(data=b"doc", key=_key(), signing_time=NOW), b"doc")
    line = report.signatures[0]
    assert (line.indication, line.sub_indication, line.level) == (INDETERMINATE, "NO_POE", "B-B")
    assert line.declared_time is not None and line.tsa_time is None


@pytest.mark.parametrize(("slug", "declared", "expected"), [
    ("revoked_sign", NOW - DAY, (INDETERMINATE, "REVOKED_NO_POE")),
    ("expired_sign", None, (INDETERMINATE, "OUT_OF_BOUNDS_NO_POE")),
    ("company_head_auth", NOW - DAY, (INDETERMINATE, "CHAIN_CONSTRAINTS_FAILURE")),
])
def test_verifier_refuses_the_three_forgeries_as_uploaded(slug, declared, expected):
    key = _key(slug)
    declared = declared or key.certificate.not_valid_before_utc + DAY
    line = verify_cms(cms_sign(data=b"doc", key=key, signing_time=declared), b"doc").signatures[0]
    assert (line.indication, line.sub_indication) == expected
    assert not line.ok and line.declared_time is not None


def _stamped(cms: bytes) -> bytes:
    """A time-stamp put on a CMS the way the portal does, but without its refusals (what a
    forger could get from any TSA): to see the verifier decide at the TSA time."""
    from asn1crypto import cms as acms

    info = acms.ContentInfo.load(cms)
    si = info["content"]["signer_infos"][0]
    token = trust.request_timestamp(si["signature"].native)
    si["unsigned_attrs"] = acms.CMSAttributes([acms.CMSAttribute({"type": "signature_time_stamp_token",
                                                                  "values": [token]})])
    return info.dump()


def test_verifier_with_a_trusted_time_fails_revoked_and_expired_keys():
    revoked = verify_cms(_stamped(cms_sign(data=b"d", key=_key("revoked_sign"), signing_time=NOW - DAY)), b"d")
    assert (revoked.signatures[0].indication, revoked.signatures[0].sub_indication) == (FAILED, "REVOKED")
    assert revoked.signatures[0].revocation["status"] == "revoked"
    expired_key = _key("expired_sign")
    expired = verify_cms(_stamped(cms_sign(data=b"d", key=expired_key,
                                           signing_time=expired_key.certificate.not_valid_before_utc + DAY)), b"d")
    assert (expired.signatures[0].indication, expired.signatures[0].sub_indication) == (FAILED, "EXPIRED")


def test_a_signature_made_before_the_revocation_stays_valid():
    key = _fresh_key()
    signed = trust.secure_user_signature(cms_bytes=cms_sign(data=b"d", key=key, signing_time=NOW))
    pki.revoke(key.certificate, at=dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))
    line = verify_cms(signed.cms, b"d").signatures[0]
    assert line.indication == PASSED and line.revocation["status"] == "revoked"


def test_verifier_reports_hash_failure_and_try_later(settings, dead_url, fast_trust):
    signed = trust.secure_user_signature(cms_bytes=cms_sign(data=b"d", key=_key(), signing_time=NOW))
    assert verify_cms(signed.cms, b"other").signatures[0].sub_indication == "HASH_FAILURE"
    settings.SIGNING_OCSP_URL = dead_url + "/ocsp"
    settings.SIGNING_CRL_BASE_URL = dead_url + "/crl"
    trust._CRL_CACHE.clear()
    line = verify_cms(signed.cms, b"d").signatures[0]
    assert (line.indication, line.sub_indication) == (INDETERMINATE, "TRY_LATER")
    # the OCSP response kept with the signature is evidence enough
    assert verify_cms(signed.cms, b"d", evidence=[signed.evidence.der]).signatures[0].indication == PASSED


# --- PDFs: B-T, B-LTA, the archive, changes after signing ---------------------------------------------

def _ades(pdf: bytes, *, moment=None, ocsps=(), crls=()):
    """pyHanko's own ETSI EN 319 102-1 validator (ades_lta_validation), given the same trust
    anchors and revocation data: [(status, sub-indication)] per signature."""
    import asyncio

    from asn1crypto import crl as acrl
    from asn1crypto import ocsp as aocsp
    from asn1crypto import x509 as ax509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation.ades import ades_lta_validation
    from pyhanko.sign.validation.policy_decl import (
        LocalKnowledge,
        PdfSignatureValidationSpec,
        RevinfoOnlineFetchingRule,
        RevocationInfoGatheringSpec,
        SignatureValidationSpec,
    )
    from pyhanko_certvalidator.context import CertValidationPolicySpec
    from pyhanko_certvalidator.ltv.types import ValidationTimingInfo
    from pyhanko_certvalidator.policy_decl import REQUIRE_REVINFO, CertRevTrustPolicy
    from pyhanko_certvalidator.registry import SimpleTrustManager
    from pyhanko_certvalidator.revinfo.archival import CRLContainer, OCSPContainer

    from signing.certs import cert_der
    from signing.pdf import _off_event_loop

    def a(certs):
        return [ax509.Certificate.load(cert_der(c)) for c in certs]

    spec = PdfSignatureValidationSpec(SignatureValidationSpec(
        cert_validation_policy=CertValidationPolicySpec(
            trust_manager=SimpleTrustManager.build(trust_roots=a(pki.trusted_roots())),
            revinfo_policy=CertRevTrustPolicy(REQUIRE_REVINFO)),
        revinfo_gathering_policy=RevocationInfoGatheringSpec(online_fetching_rule=RevinfoOnlineFetchingRule.LOCAL_ONLY),
        local_knowledge=LocalKnowledge(
            known_certs=a(pki.known_intermediates()),
            known_ocsps=[c for o in ocsps for c in OCSPContainer.load_multi(aocsp.OCSPResponse.load(o))],
            known_crls=[CRLContainer(acrl.CertificateList.load(c)) for c in crls])))
    moment = moment or dt.datetime.now(dt.UTC)
    timing = ValidationTimingInfo(validation_time=moment, best_signature_time=moment, point_in_time_validation=False)
    out = []
    for emb in PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures:
        if emb.sig_object_type == "/DocTimeStamp":
            continue
        result = _off_event_loop(lambda emb=emb: asyncio.run(ades_lta_validation(emb, spec, timing_info=timing)))
        out.append((result.ades_subindic.status.name, result.ades_subindic.name))
    return out


def _live_material(pdf: bytes):
    """The OCSP answer and CRLs the verifier fetches live, for pyHanko too."""
    from pyhanko.pdf_utils.reader import PdfFileReader

    emb = next(e for e in PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures
               if e.sig_object_type != "/DocTimeStamp")
    leaf = x509.load_der_x509_certificate(emb.signer_cert.dump())
    nca = pki.known_intermediates()[0]
    ev = trust.ocsp_query(leaf, nca) if leaf.issuer == nca.subject else None
    crls = [f[0] for f in (trust.crl_fetch(nca), trust.crl_fetch(leaf) if leaf.issuer == nca.subject else None) if f]
    return [ev.der] if ev else [], crls


@pytest.fixture(scope="module")
def corpus(_test_pki, nca_services, django_db_blocker):
    """The forgery corpus as PDFs, plus the KZhK B-LTA control."""
    from signing.pdf import pdf_issue_by_kzhk, pdf_render

    with django_db_blocker.unblock():
        base = pdf_render(template_name="signing/pdf/demo_document.html", context={
            "title": "Договор залога", "organization_name": "ТОО Демо", "organization_bin": "160340003066",
            "number": "F-1"})
    ts = trust.pdf_timestamper()
    tampered = bytearray(pdf_issue_by_kzhk(pdf=base, title="Т"))
    tampered[len(base) // 2] ^= 0x01  # one bit inside the original revision: inside every signed byte range
    return {
        "kzhk_b_lta": pdf_issue_by_kzhk(pdf=base, title="Договор залога"),
        "revoked_declared_day_back": _pdf_sign(base, _key("revoked_sign")),
        "revoked_with_tsa_time": _pdf_sign(base, _key("revoked_sign"), timestamper=ts),
        "expired_declared_inside_validity": _pdf_sign(base, _key("expired_sign")),
        "expired_with_tsa_time": _pdf_sign(base, _key("expired_sign"), timestamper=ts),
        "auth_key_on_document": _pdf_sign(base, _key("company_head_auth"), timestamper=ts),
        "untrusted_ca": _pdf_sign(base, _key("untrusted_sign"), timestamper=ts),
        "no_time_stamp": _pdf_sign(base, _key()),
        "tampered_bytes": bytes(tampered),
    }


# mine: (indication, sub-indication); pyHanko's ades_lta_validation must agree on passed / not passed
CORPUS = [
    ("kzhk_b_lta", PASSED, "", "PASSED"),
    ("revoked_declared_day_back", INDETERMINATE, "REVOKED_NO_POE", "INDETERMINATE"),
    ("revoked_with_tsa_time", FAILED, "REVOKED", "INDETERMINATE"),
    ("expired_declared_inside_validity", INDETERMINATE, "OUT_OF_BOUNDS_NO_POE", "INDETERMINATE"),
    ("expired_with_tsa_time", FAILED, "EXPIRED", "INDETERMINATE"),
    ("auth_key_on_document", INDETERMINATE, "CHAIN_CONSTRAINTS_FAILURE", "INDETERMINATE"),
    ("untrusted_ca", INDETERMINATE, "NO_CERTIFICATE_CHAIN_FOUND", "INDETERMINATE"),
    ("no_time_stamp", INDETERMINATE, "NO_POE", "INDETERMINATE"),
    ("tampered_bytes", FAILED, "HASH_FAILURE", "FAILED"),
]


@pytest.mark.parametrize(("case", "indication", "sub", "pyhanko_status"), CORPUS, ids=[c[0] for c in CORPUS])
def test_verifier_and_pyhanko_agree_on_the_forgery_corpus(corpus, case, indication, sub, pyhanko_status):
    pdf = corpus[case]
    line = verify_pdf(pdf).signatures[0]
    assert (line.indication, line.sub_indication) == (indication, sub)
    ocsps, crls = _live_material(pdf)
    theirs = _ades(pdf, ocsps=ocsps, crls=crls)[0]
    assert theirs[0] == pyhanko_status, theirs
    assert (theirs[0] == "PASSED") == (line.indication == PASSED)


def test_pdfsig_reads_every_signature_of_a_b_lta_pdf(corpus, tmp_path):
    pdfsig = shutil.which("pdfsig")
    assert pdfsig, "poppler-utils (pdfsig) is installed by scripts/ensure_system.sh --test"
    path = tmp_path / "lta.pdf"
    path.write_bytes(corpus["kzhk_b_lta"])
    out = subprocess.run([pdfsig, str(path)], capture_output=True, text=True, check=False).stdout
    assert out.count("Signature #") == 2  # KZhK's PAdES signature and the document time-stamp
    assert "Signature Field Name: KZhK" in out and "Signature is Valid." in out
    assert "ETSI.CAdES.detached" in out and pki.TSA_NAME in out


def test_b_lta_document_carries_dss_and_a_document_time_stamp(corpus):
    report = verify_pdf(corpus["kzhk_b_lta"])
    line = report.signatures[0]
    assert line.level == "B-LTA" and line.revocation["source"] == "ocsp" and line.revocation["origin"] == "embedded"
    assert line.bin == pki.KZHK_BIN and line.tsa_time and line.changes == []
    assert [d["valid"] for d in report.document_timestamps] == [True]


def test_b_lta_still_passes_eleven_years_on_with_everything_expired_and_no_crls(corpus, settings, dead_url,
                                                                               fast_trust):
    settings.SIGNING_OCSP_URL = settings.SIGNING_TSA_URL = dead_url + "/x"
    settings.SIGNING_CRL_BASE_URL = dead_url + "/crl"
    trust._CRL_CACHE.clear()
    later = dt.datetime.now(dt.UTC) + 11 * YEAR
    key = _key("kzhk_sign")
    assert all(c.not_valid_after_utc < later for c in [key.certificate] + key.chain[:1])
    line = verify_pdf(corpus["kzhk_b_lta"], moment=later).signatures[0]
    assert (line.indication, line.level) == (PASSED, "B-LTA"), line.sub_indication
    # the same signature without the LTA parts (B-T) proves nothing by then
    line = verify_pdf(corpus["revoked_with_tsa_time"], moment=later).signatures[0]
    assert line.indication != PASSED


def _future_tsa(at: dt.datetime):
    """A TSA of the future (its own certificate under the test root, valid from `at`) — what the
    archive task would meet ten years on."""
    from asn1crypto import keys as akeys
    from asn1crypto import x509 as ax509
    from cryptography.hazmat.primitives.asymmetric import rsa
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

    base = pki.pki_dir()
    root = pki._load_cert(base / "root.pem")
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = pki._service_cert(name="НУЦ РК (TEST) TSA 2037", key=key, ca_cert=root, ca_key=pki._load_key(base / "root.key"),
                             eku=x509.oid.ExtendedKeyUsageOID.TIME_STAMPING, not_before=at - DAY,
                             not_after=at + 12 * YEAR, crl_name="root")
    der = serialization.Encoding.DER
    return DummyTimeStamper(
        tsa_cert=ax509.Certificate.load(cert.public_bytes(der)),
        tsa_key=akeys.PrivateKeyInfo.load(key.private_bytes(der, serialization.PrivateFormat.PKCS8,
                                                            serialization.NoEncryption())),
        certs_to_embed=[ax509.Certificate.load(root.public_bytes(der))], fixed_dt=at)


def _tsa_and_validation_at(then, monkeypatch):
    """The archive task run at `then`: a TSA whose clock says `then`, validation at `then`."""
    from asn1crypto import x509 as ax509
    from pyhanko_certvalidator import ValidationContext

    from signing import pdf as pdf_mod
    from signing.certs import cert_der

    monkeypatch.setattr(trust, "pdf_timestamper", lambda: _future_tsa(then))
    roots = [ax509.Certificate.load(cert_der(c)) for c in pki.trusted_roots()]
    monkeypatch.setattr(pdf_mod, "lta_validation_context", lambda certs, moment=None: ValidationContext(
        trust_roots=roots, other_certs=[ax509.Certificate.load(cert_der(c)) for c in certs],
        allow_fetching=False, revocation_mode="soft-fail", moment=then))


def test_archive_task_re_time_stamps_before_the_tsa_certificate_expires(corpus, company, monkeypatch, settings):
    from signing import pdf as pdf_mod
    from signing.models import SignedDocument
    from signing.services import signed_document_create, signing_archive_retimestamp

    doc = signed_document_create(subject=company, document=b"%PDF-1.4", filename="a.pdf", title_ru="Д", parties=[])
    SignedDocument.objects.filter(pk=doc.pk).update(issued_pdf=corpus["kzhk_b_lta"])
    tsa_expiry = pdf_mod.last_document_timestamp_expiry(corpus["kzhk_b_lta"])
    assert signing_archive_retimestamp() == {"checked": 1, "renewed": 0}  # years to go: nothing to do
    # eleven and a half years on: the first TSA certificate expires within SIGNING_ARCHIVE_RENEW_DAYS
    then = tsa_expiry - dt.timedelta(days=settings.SIGNING_ARCHIVE_RENEW_DAYS // 2)
    _tsa_and_validation_at(then, monkeypatch)
    assert signing_archive_retimestamp(now=then) == {"checked": 1, "renewed": 1}
    renewed = bytes(SignedDocument.objects.get(pk=doc.pk).issued_pdf)
    assert renewed.startswith(corpus["kzhk_b_lta"])  # an incremental update: nothing earlier changes
    beyond = tsa_expiry + 2 * YEAR  # the first TSA certificate has expired too
    assert verify_pdf(corpus["kzhk_b_lta"], moment=beyond, live=False).signatures[0].indication == INDETERMINATE
    report = verify_pdf(renewed, moment=beyond, live=False)
    assert (report.signatures[0].indication, report.signatures[0].level) == (PASSED, "B-LTA")
    assert len(report.document_timestamps) == 2


@pytest.mark.django_db
def test_archive_task_renews_the_registered_domain_files_too(corpus, monkeypatch, settings):
    """The signed ДС of an appeal (a registered file field) is renewed into a new stored file; a PDF
    there without a document time-stamp (not KZhK's B-LTA issue) is read and left alone."""
    from django.core.files.base import ContentFile

    from appeals.models import Appeal
    from appeals.tests.factories import AppealFactory
    from signing import pdf as pdf_mod
    from signing.archive import archived_files
    from signing.services import signing_archive_retimestamp

    assert ("appeals.Appeal", "ds_signed_file") in {(e.model_label, e.field_name) for e in archived_files()}
    issued, plain = AppealFactory(), AppealFactory()
    issued.ds_signed_file.save("ds.pdf", ContentFile(corpus["kzhk_b_lta"]))
    plain.ds_signed_file.save("ds.pdf", ContentFile(b"%PDF-1.4 not signed by KZhK"))
    old_name = issued.ds_signed_file.name
    assert signing_archive_retimestamp() == {"checked": 2, "renewed": 0}
    then = pdf_mod.last_document_timestamp_expiry(corpus["kzhk_b_lta"]) - dt.timedelta(days=10)
    _tsa_and_validation_at(then, monkeypatch)
    assert signing_archive_retimestamp(now=then) == {"checked": 2, "renewed": 1}
    issued.refresh_from_db()
    assert issued.ds_signed_file.name != old_name
    renewed = issued.ds_signed_file.read()
    assert renewed.startswith(corpus["kzhk_b_lta"]) and len(renewed) > len(corpus["kzhk_b_lta"])
    assert Appeal.objects.get(pk=plain.pk).ds_signed_file.name == plain.ds_signed_file.name


def test_changes_after_the_last_signature_are_reported(corpus):
    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    # an annotation: reported, the signature stays valid
    w = IncrementalPdfFileWriter(io.BytesIO(corpus["kzhk_b_lta"]), strict=False)
    annot = w.add_object(generic.DictionaryObject({
        generic.NameObject("/Type"): generic.NameObject("/Annot"),
        generic.NameObject("/Subtype"): generic.NameObject("/Text"),
        generic.NameObject("/Rect"): generic.ArrayObject([generic.NumberObject(n) for n in (10, 10, 30, 30)]),
        generic.NameObject("/Contents"): generic.TextStringObject("Комментарий")}))
    page = w.root["/Pages"]["/Kids"][-1].get_object()  # the last page holds the KZhK stamp's widget
    annots = page.get("/Annots")
    annots = annots.get_object() if annots is not None else generic.ArrayObject()
    annots.append(annot)
    page[generic.NameObject("/Annots")] = annots
    w.update_container(page)
    if isinstance(page.raw_get("/Annots"), generic.IndirectObject):
        w.update_container(annots)
    out = io.BytesIO()
    w.write(out)
    line = verify_pdf(out.getvalue()).signatures[0]
    assert line.changes == ["annotation"] and line.indication == PASSED
    # the page content replaced by a later incremental update: reported and not passed
    w = IncrementalPdfFileWriter(io.BytesIO(corpus["kzhk_b_lta"]), strict=False)
    page = w.root["/Pages"]["/Kids"][0].get_object()
    stream = w.add_object(generic.StreamObject(stream_data=b"BT /F1 24 Tf 100 700 Td (FORGED) Tj ET"))
    page[generic.NameObject("/Contents")] = stream
    w.update_container(page)
    out = io.BytesIO()
    w.write(out)
    report = verify_pdf(out.getvalue())
    line = report.signatures[0]
    assert line.changes == ["incremental_update"] and report.altered
    assert (line.indication, line.sub_indication) == (INDETERMINATE, "SIG_CONSTRAINTS_FAILURE")


def test_party_pades_signature_is_b_t(make_request, pdf_bytes, demo_key):
    from signing.models import SignedDocument
    from signing.tests.helpers import signing_request_sign_with_key

    sr = make_request(document=pdf_bytes)
    signing_request_sign_with_key(signing_request=sr, p12=demo_key("company_head_sign")[0], password=pki.DEMO_PASSWORD)
    pades = bytes(SignedDocument.objects.get(pk=sr.signed_document_id).pades_pdf)
    line = verify_upload(pades).signatures[0]
    assert (line.indication, line.level) == (PASSED, "B-T")


# --- the verifier's pages: uploads, report PDF, JSON, CLI ----------------------------------------------

class _Body:
    """A request body produced on demand (never held in memory); counts what the server read."""

    def __init__(self, head: bytes, size: int, tail: bytes):
        self.head, self.size, self.tail, self.pos = head, size, tail, 0

    @property
    def total(self):
        return len(self.head) + self.size + len(self.tail)

    def read(self, n=-1):
        n = self.total - self.pos if n is None or n < 0 else min(n, self.total - self.pos)
        out = bytearray()
        while len(out) < n:
            p = self.pos
            if p < len(self.head):
                chunk = self.head[p:p + n - len(out)]
            elif p < len(self.head) + self.size:
                chunk = b"\0" * min(n - len(out), len(self.head) + self.size - p, 1 << 20)
            else:
                q = p - len(self.head) - self.size
                chunk = self.tail[q:q + n - len(out)]
            out += chunk
            self.pos += len(chunk)
        return bytes(out)

    def readline(self, *a):
        return self.read(a[0] if a else 65536)


def _post_big(path: str, size: int, *, declared: int | None = None):
    import tracemalloc

    from django.core.handlers.wsgi import WSGIHandler

    boundary = "BoUnDaRy"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.pdf\"\r\n"
            "Content-Type: application/pdf\r\n\r\n%PDF-1.7\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    body = _Body(head, size, tail)
    environ = {
        "REQUEST_METHOD": "POST", "PATH_INFO": path, "SERVER_NAME": "testserver", "SERVER_PORT": "80",
        "wsgi.url_scheme": "http", "wsgi.input": body, "CONTENT_TYPE": f"multipart/form-data; boundary={boundary}",
        "CONTENT_LENGTH": str(declared if declared is not None else body.total), "HTTP_ACCEPT_LANGUAGE": "ru",
    }
    status = []
    tracemalloc.start()
    chunks = WSGIHandler()(environ, lambda s, h, *a: status.append(s))
    content = b"".join(chunks)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return int(status[0].split()[0]), content, body.pos, peak


def test_verifier_refuses_a_400_mb_upload_by_content_length_before_reading_it(db):
    code, content, read, _peak = _post_big("/signing/verify/api/", 400 * 1024 * 1024)
    assert code == 413 and read == 0 and "50" in content.decode()
    code, content, read, _peak = _post_big("/signing/verify/", 400 * 1024 * 1024)
    assert code == 413 and read == 0 and "Файл слишком большой" in content.decode()


def test_verifier_stops_reading_at_the_cap_with_flat_memory(db):
    from signing.verification import MAX_VERIFY_SIZE

    # the declared length passes (a file just over 50 MB); the handler stops at the cap
    code, content, read, peak = _post_big("/signing/verify/api/", MAX_VERIFY_SIZE + 1024)
    assert code == 413
    assert read <= MAX_VERIFY_SIZE + 2 * 1024 * 1024  # not a byte more than the cap and a chunk or two
    assert peak < 16 * 1024 * 1024, peak  # streamed to a temp file: memory stays far below the file size


def test_verifier_page_shows_verdicts_and_a_signed_report_pdf(db, client, corpus):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from signing.models import VerificationReport

    r = client.post("/signing/verify/", {"file": SimpleUploadedFile("r.pdf", corpus["revoked_with_tsa_time"])},
                    HTTP_ACCEPT_LANGUAGE="ru")
    html = r.content.decode()
    assert r.status_code == 200
    assert "Подпись недействительна" in html and "TOTAL-FAILED / REVOKED" in html
    assert "Сертификат был отозван до подписания документа." in html
    record = VerificationReport.objects.get()
    assert record.number in html and record.result["signatures"][0]["sub_indication"] == "REVOKED"
    pdf = b"".join(client.get(f"/signing/verify/reports/{record.public_id}.pdf").streaming_content)
    line = verify_pdf(pdf).signatures[0]
    assert (line.indication, line.level, line.bin) == (PASSED, "B-LTA", pki.KZHK_BIN)
    client.cookies["homeportal_language"] = "kk"
    kk = client.post("/signing/verify/", {"file": SimpleUploadedFile("r.pdf", corpus["no_time_stamp"])}).content.decode()
    assert "INDETERMINATE / NO_POE" in kk and "Сенімді уақыт белгісі жоқ" in kk


def test_verifier_api_json_and_cli(db, client, corpus, tmp_path):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command

    data = client.post("/signing/verify/api/", {"file": SimpleUploadedFile("a.pdf", corpus["kzhk_b_lta"])}).json()
    sig = data["signatures"][0]
    assert data["valid"] and sig["indication"] == PASSED and sig["level"] == "B-LTA" and sig["tsa_time"]
    assert sig["revocation"]["source"] == "ocsp" and data["report"]["pdf"].endswith(".pdf")
    path = tmp_path / "auth.pdf"
    path.write_bytes(corpus["auth_key_on_document"])
    out = io.StringIO()
    with pytest.raises(SystemExit):
        call_command("verify", str(path), stdout=out)
    assert "INDETERMINATE / CHAIN_CONSTRAINTS_FAILURE" in out.getvalue()


def test_nca_stand_in_runs_in_dev_and_tests_never_in_the_production_image():
    from django.conf import settings

    base = settings.BASE_DIR
    assert "nca_services/" in (base / ".dockerignore").read_text().split()
    assert "standins" not in (base / "Dockerfile").read_text()
    assert "-m nca_services" in (base / "Procfile").read_text()
    compose = (base / "docker-compose.yml").read_text()
    assert "nca-services:" in compose and "context: ./nca_services" in compose
    from tests.test_deploy_files import COMPOSE_SECRETS  # compose refuses to parse without them (#10)

    result = subprocess.run(["docker-compose", "--profile", "dev", "config", "--services"], capture_output=True,
                            text=True, cwd=base, check=False, env={**os.environ, **COMPOSE_SECRETS},
                            ) if shutil.which("docker-compose") else None
    if result is not None:
        assert "nca-services" in result.stdout.split(), result.stderr
