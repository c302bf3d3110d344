"""The NCALayer emulator over a real WebSocket (the `websockets` client, as a page's script would
talk to NCALayer): answers' shapes, real CMS from the demo keys, the person's page, cancel, wrong
password, key filters, the older commonUtils calls, wss:// with the test PKI, and the closed port."""

import asyncio
import base64
import concurrent.futures
import hashlib
import json
import socket
import ssl

import httpx
import pytest
import websockets

from ncalayer_emulator.launch import running
from ncalayer_emulator.tls import ensure_server_cert, spki_sha256_b64
from signing import pki
from signing.cms import _cms_verify, cms_content, cms_verify

OID_SIGN, OID_AUTH, OID_LEGAL = "1.3.6.1.5.5.7.3.4", "1.3.6.1.5.5.7.3.2", "1.2.398.3.3.4.1.2"


def _key(slug):
    return next(k for k in pki.demo_manifest()["keys"] if k["slug"] == slug)


@pytest.fixture(scope="module")
def emu(_test_pki):
    with running(_test_pki, "--ws") as emu:
        yield emu


@pytest.fixture
def auto(emu):
    emu.mode(mode="auto", key="company_head_sign", password=pki.DEMO_PASSWORD, clear=True)
    yield emu
    emu.mode(mode="manual")


def run(coro_fn):
    """asyncio.run in a thread of its own (a Playwright test before may have left this thread a loop)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(coro_fn())).result()


def talk(url, *requests, ssl_context=None, origin="http://127.0.0.1:8000"):
    """Connect, read the greeting, send each request and read its answer, in order."""
    async def go():
        async with websockets.connect(url, ssl=ssl_context, origin=origin, max_size=2**26) as ws:
            answers = [json.loads(await ws.recv())]
            for r in requests:
                await ws.send(json.dumps(r))
                answers.append(json.loads(await asyncio.wait_for(ws.recv(), 30)))
            return answers
    return run(go)


def basics(data, *, decode=True, encapsulate=False, digested=False, oids=(OID_SIGN,), **signer):
    return {"module": "kz.gov.pki.knca.basics", "method": "sign", "args": {
        "allowedStorages": ["PKCS12"], "format": "cms", "data": data,
        "signingParams": {"decode": decode, "encapsulate": encapsulate, "digested": digested},
        "signerParams": {"extKeyUsageOids": list(oids), **signer}, "locale": "ru"}}


def common(method, *args):
    return {"module": "kz.gov.pki.knca.commonUtils", "method": method, **({"args": list(args)} if args else {})}


def der_of(pem):
    assert pem.startswith("-----BEGIN CMS-----\n") and pem.endswith("-----END CMS-----\n")
    return base64.b64decode("".join(pem.splitlines()[1:-1]))


def b64(data):
    return base64.b64encode(data).decode()


def test_greeting_is_the_version(emu):
    assert talk(emu.url) == [{"result": {"version": "1.4"}}]


def test_basics_sign_over_a_digest_is_a_real_cms_of_the_chosen_key(auto):
    doc = b"%PDF-1.7 byte range" * 100
    digest = hashlib.sha256(doc).digest()
    _, answer = talk(auto.url, basics(b64(digest), digested=True, oids=(OID_SIGN, OID_LEGAL),
                                      bin=_key("company_head_sign")["bin"], iin=_key("company_head_sign")["iin"]))
    assert answer["status"] is True and set(answer["body"]) == {"result"}
    der = der_of(answer["body"]["result"])
    checked = _cms_verify(cms_bytes=der, data=None, check_certificates=True, digest=digest)
    (sig,) = checked.signatures
    assert sig.intact and sig.signature_valid and sig.cert_status.trusted
    assert sig.info.iin == _key("company_head_sign")["iin"] and sig.info.key_purpose == "sign"
    assert cms_content(der) is None  # detached


def test_basics_sign_attached_and_detached_data(auto):
    data = "Согласие на обработку персональных данных".encode()
    _, attached, detached, text, many = talk(
        auto.url, basics(b64(data), encapsulate=True), basics(b64(data)),
        basics("plain text", decode=False), basics([b64(b"one"), b64(b"two")]))
    assert cms_content(der_of(attached["body"]["result"])) == data
    assert cms_verify(cms_bytes=der_of(detached["body"]["result"]), data=data).signatures[0].intact
    assert cms_verify(cms_bytes=der_of(text["body"]["result"]), data=b"plain text").signatures[0].intact
    first, second = many["body"]["result"]  # an array of documents: an array of signatures
    assert cms_verify(cms_bytes=der_of(second), data=b"two").signatures[0].intact


def test_basics_errors_in_ncalayers_shape(auto):
    _, bad_params, bad_b64, digest_attached = talk(
        auto.url,
        {"module": "kz.gov.pki.knca.basics", "method": "sign", "args": {
            "allowedStorages": None, "format": "cms", "data": "MTEK", "signingParams": 555,
            "signerParams": {"extKeyUsageOids": []}, "locale": "ru"}},
        basics("not base64!"), basics(b64(b"x" * 32), digested=True, encapsulate=True))
    assert bad_params == {"code": "INVOCATION_ERROR", "status": False, "message": "An invoked method threw an exception.",
                          "details": 'org.json.JSONException: JSONObject["signingParams"] is not a JSONObject.'}
    assert bad_b64["status"] is False and "base64" in bad_b64["details"]
    assert digest_attached["status"] is False


def test_cancel(emu):
    emu.mode(mode="cancel")
    try:
        _, b, c = talk(emu.url, basics(b64(b"x")), common("createCAdESFromBase64", "PKCS12", "SIGNATURE", "MTEK", False))
    finally:
        emu.mode(mode="manual")
    assert b == {"body": {}, "status": True}
    assert c == {"code": "500", "message": "action.canceled"}


def test_wrong_password(emu):
    emu.mode(mode="auto", key="company_head_sign", password="not-the-password")
    try:
        _, b, c = talk(emu.url, basics(b64(b"x")), common("createCAdESFromBase64Hash", "PKCS12", "SIGNATURE", b64(b"h" * 32)))
    finally:
        emu.mode(mode="manual")
    assert b["status"] is False and b["code"] == "INVOCATION_ERROR"
    assert b["details"] == "java.io.IOException: keystore password was incorrect"
    assert c == {"code": "500", "message": "java.io.IOException: keystore password was incorrect"}


@pytest.mark.parametrize("signer", [
    {"oids": (OID_AUTH,)},                               # a signing key for a login: not offered
    {"oids": (OID_SIGN,), "bin": "150240008272"},        # another organization's BIN
    {"oids": (OID_SIGN,), "iin": "950506400561"},        # another person
    {"oids": (OID_SIGN, "1.2.398.3.3.4.1.1")},           # an individual's key wanted
])
def test_keys_that_do_not_fit_are_not_offered(auto, signer):
    _, answer = talk(auto.url, basics(b64(b"x"), **signer))
    assert answer == {"body": {}, "status": True}  # NCALayer greys the key out: the user can only cancel
    assert auto.state()["recent"][-1]["refused_key"].startswith("company_head_sign: ")


def test_common_utils(auto):
    digest = hashlib.sha256(b"doc").digest()
    _, tokens, locale, info, cades, cades_hash, mismatch, unknown = talk(
        auto.url, common("getActiveTokens"), common("changeLocale", "kk"), common("getKeyInfo", "PKCS12"),
        common("createCAdESFromBase64", "PKCS12", "SIGNATURE", b64(b"doc"), True),
        common("createCAdESFromBase64Hash", "PKCS12", "SIGNATURE", b64(digest)),
        common("createCAdESFromBase64", "PKCS12", 123, "MTEK", False),
        {"module": "kz.digiflow.mobile.extensions", "method": "getVersion"})
    assert tokens == {"responseObject": [], "code": "200"}
    assert locale == {"code": "200"}
    assert info["code"] == "200" and info["responseObject"]["subjectCn"] == "ДЕМОВ АЛЕКСЕЙ"
    assert info["responseObject"]["pem"].startswith("-----BEGIN CERTIFICATE-----")
    assert cades["code"] == "200" and cms_content(base64.b64decode(cades["responseObject"])) == b"doc"
    checked = _cms_verify(cms_bytes=base64.b64decode(cades_hash["responseObject"]), data=None, check_certificates=True,
                          digest=digest)
    assert checked.signatures[0].signature_valid
    assert mismatch == {"code": "500", "message": (
        "java.lang.IllegalArgumentException: argument type mismatch. Method: createCAdESFromBase64")}
    assert unknown["code"] == "500" and "status" not in unknown


def test_common_utils_key_type_filter(auto):
    _, answer = talk(auto.url, common("createCAdESFromBase64", "PKCS12", "AUTHENTICATION", "MTEK", False))
    assert answer == {"code": "500", "message": "action.canceled"}


def test_an_older_ncalayer_has_no_basics_module(emu):
    emu.mode(mode="auto", key="company_head_sign", password=pki.DEMO_PASSWORD, version="1.2", legacy=True)
    try:
        hello, answer, cades = talk(emu.url, basics(b64(b"x")), common("createCAdESFromBase64", "PKCS12", "SIGNATURE",
                                                                      "MTEK", False))
    finally:
        emu.mode(mode="manual", version="1.4", legacy=False)
    assert hello == {"result": {"version": "1.2"}}
    assert answer["code"] == "500" and "status" not in answer and "kz.gov.pki.knca.basics" in answer["message"]
    assert cades["code"] == "200"


def test_the_person_answers_on_the_page(emu):
    """manual: the request waits for the page; a wrong password there is refused and it keeps waiting."""
    emu.mode(mode="manual", clear=True)

    async def go():
        async with websockets.connect(emu.url, origin="http://portal.test") as ws:
            await ws.recv()
            await ws.send(json.dumps(basics(b64(b"x"), oids=(OID_SIGN,), bin=_key("company_signer_sign")["bin"])))
            for _ in range(50):
                if emu.state()["pending"]:
                    break
                await asyncio.sleep(0.1)
            (pending,) = emu.state()["pending"]
            assert pending["origin"] == "http://portal.test" and pending["signerParams"]["bin"]
            page = await asyncio.to_thread(httpx.get, emu.page_url)
            assert "kz.gov.pki.knca.basics.sign" in page.text and "http://portal.test" in page.text
            assert "company_head_auth" in page.text  # listed, greyed out
            wrong = await asyncio.to_thread(httpx.post, f"{emu.page_url}requests/{pending['id']}/sign",
                                            data={"key": "company_signer_sign", "password": "nope"})
            assert wrong.status_code == 400 and "Неверный пароль." in wrong.text
            refused = await asyncio.to_thread(httpx.post, f"{emu.page_url}requests/{pending['id']}/sign",
                                              data={"key": "company_signer_auth", "password": pki.DEMO_PASSWORD})
            assert refused.status_code == 400
            assert len(emu.state()["pending"]) == 1
            ok = await asyncio.to_thread(httpx.post, f"{emu.page_url}requests/{pending['id']}/sign",
                                         data={"key": "company_signer_sign", "password": pki.DEMO_PASSWORD})
            assert ok.status_code == 303  # back to the page
            answer = json.loads(await asyncio.wait_for(ws.recv(), 30))
            # and «Отмена» on the page
            await ws.send(json.dumps(basics(b64(b"y"))))
            for _ in range(50):
                if emu.state()["pending"]:
                    break
                await asyncio.sleep(0.1)
            pid = emu.state()["pending"][0]["id"]
            await asyncio.to_thread(httpx.post, f"{emu.page_url}requests/{pid}/cancel")
            cancelled = json.loads(await asyncio.wait_for(ws.recv(), 30))
            return answer, cancelled

    answer, cancelled = run(go)
    sig = cms_verify(cms_bytes=der_of(answer["body"]["result"]), data=b"x").signatures[0]
    assert sig.info.full_name == "САТПАЕВА АЙГЕРИМ КАНАТОВНА"
    assert cancelled == {"body": {}, "status": True}


def test_a_closed_page_ends_its_pending_request(emu):
    emu.mode(mode="manual")

    async def go():
        async with websockets.connect(emu.url) as ws:
            await ws.recv()
            await ws.send(json.dumps(basics(b64(b"x"))))
            for _ in range(50):
                if emu.state()["pending"]:
                    break
                await asyncio.sleep(0.1)
            assert emu.state()["pending"]
        for _ in range(50):
            if not emu.state()["pending"]:
                return True
            await asyncio.sleep(0.1)
        return False

    assert run(go)


def test_wss_with_the_test_pki_and_the_command_line_key(_test_pki):
    """wss:// like NCALayer, the certificate issued by the test root for 127.0.0.1; started with
    --key/--password it answers by itself."""
    cert_path, _ = ensure_server_cert(_test_pki)
    assert len(base64.b64decode(spki_sha256_b64(cert_path))) == 32
    with running(_test_pki, "--key", "company_signer_sign", "--password", pki.DEMO_PASSWORD) as emu:
        assert emu.url.startswith("wss://")
        trusted = ssl.create_default_context(cafile=str(_test_pki / "root.pem"))
        _, answer = talk(emu.url, basics(b64(b"x")), ssl_context=trusted)
        assert cms_verify(cms_bytes=der_of(answer["body"]["result"]), data=b"x").signatures[0].info.iin == (
            _key("company_signer_sign")["iin"])
        with pytest.raises(ssl.SSLCertVerificationError):  # not trusted without the test root
            talk(emu.url, ssl_context=ssl.create_default_context())


def test_no_ncalayer_is_a_closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))  # bound, not listening
        port = s.getsockname()[1]
        with pytest.raises(OSError):
            talk(f"ws://127.0.0.1:{port}/")
