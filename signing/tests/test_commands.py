"""manage.py verify / egov_simulator / pki_init."""

import datetime as dt

import pytest
from django.core.management import call_command
from django.urls import reverse

from signing import pki
from signing.certs import pkcs12_open
from signing.cms import cms_sign


def test_verify_command_reports_valid_and_altered(tmp_path, capsys):
    key = pkcs12_open(data=pki.demo_key("company_signer_sign")[0], password=pki.DEMO_PASSWORD)
    (tmp_path / "doc.txt").write_bytes(b"contract text")
    from signing.trust import secure_user_signature

    cms = secure_user_signature(cms_bytes=cms_sign(data=b"contract text", key=key, signing_time=dt.datetime.now(dt.UTC)))
    (tmp_path / "sig.cms").write_bytes(cms.cms)
    call_command("verify", str(tmp_path / "sig.cms"), "--data", str(tmp_path / "doc.txt"))
    out = capsys.readouterr().out
    assert "САТПАЕВА АЙГЕРИМ КАНАТОВНА" in out and "TOTAL-PASSED" in out and "level B-T" in out
    (tmp_path / "doc.txt").write_bytes(b"contract text!")
    with pytest.raises(SystemExit):
        call_command("verify", str(tmp_path / "sig.cms"), "--data", str(tmp_path / "doc.txt"), "--json")
    assert '"document_altered": true' in capsys.readouterr().out


def test_pki_init_prints_the_demo_keys(capsys):
    call_command("pki_init")
    out = capsys.readouterr().out
    assert "RSA256_" in out and "160340003066" in out and pki.DEMO_PASSWORD in out


@pytest.mark.django_db(transaction=True)
def test_egov_simulator_command_signs_over_http(live_server, company, company_user, make_request, capsys):
    from signing.models import QrSession
    from signing.services import qr_session_complete, qr_session_create

    sr = make_request()
    session = qr_session_create(signing_request=sr)
    qr = "mobileSign:" + live_server.url + reverse("signing:egov_api1", args=[session.api1_token])
    call_command("egov_simulator", qr, "--key", "company_head_sign")
    assert "HTTP 200: success" in capsys.readouterr().out
    session.refresh_from_db()
    assert session.status == QrSession.Status.SIGNED
    signature = qr_session_complete(qr_session=session)
    assert signature.method == "qr" and signature.signer_bin == company.bin
    # the same QR cannot be used twice
    with pytest.raises(SystemExit):
        call_command("egov_simulator", qr, "--key", "company_head_sign")


@pytest.mark.django_db(transaction=True)
def test_egov_simulator_refusal_in_kazakh(live_server, make_request, capsys):
    from signing.services import qr_session_create

    sr = make_request()
    session = qr_session_create(signing_request=sr)
    qr = live_server.url + reverse("signing:egov_api1", args=[session.api1_token])
    with pytest.raises(SystemExit):
        call_command("egov_simulator", qr, "--key", "expired_sign", "--lang", "kk")
    out = capsys.readouterr().out
    assert "HTTP 403" in out and "мерзімі өтіп кеткен" in out
