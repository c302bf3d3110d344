"""Non-ASCII key passwords (issue #11): a Kazakh user's PKCS#12 password may be «Құпия2024». PKCS#12
encodes it two ways — PBES2's PBKDF2 takes the UTF-8 bytes (RFC 8018), the PKCS#12 KDF of the legacy
3DES/RC2 encryptions and of every file's MAC takes a BMPString, UTF-16BE + two zero bytes (RFC 7292
appendix B.1). The files made here are checked against both rules by hand (hashlib, an independent
RFC 7292 KDF), then opened by the portal's Python side (`pkcs12_open`, used by tests and the eGov
simulator) and by the NCALayer emulator with the password typed on its page or given on its
command line. The page (node-forge) opens the same files in tests/browser/test_keyfile_passwords.py."""

import asyncio
import base64
import concurrent.futures
import hashlib
import hmac
import json
import shutil

import httpx
import pytest
import websockets
from asn1crypto import keys as akeys
from asn1crypto import pkcs12 as apkcs12
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from signing import pki
from signing.cms import cms_verify
from signing.services import SigningError, pkcs12_open

PASSWORD = "Құпия2024"  # noqa: S105 - a test key's password (Kazakh letters қ ұ, Cyrillic п и я)


@pytest.fixture(scope="module")
def unicode_keys(_test_pki):
    """{"pbes2": bytes, "legacy": bytes}: one fresh SIGN key of the demo company's head (registered with
    the OCSP responder) under PASSWORD, as PBES2/AES-256 and as legacy 3DES + RC2-40 + SHA-1 MAC."""
    p12 = pki.issue_test_key(slug="company_head", purpose="SIGN")
    return {"pbes2": pki.pkcs12_rewrap(p12, password=pki.DEMO_PASSWORD, new_password=PASSWORD),
            "legacy": pki.pkcs12_rewrap(p12, password=pki.DEMO_PASSWORD, new_password=PASSWORD, legacy=True)}


def bmp(password: str) -> bytes:
    return password.encode("utf-16-be") + b"\0\0"


def pkcs12_kdf(password: bytes, salt: bytes, purpose: int, iterations: int, size: int, hash_name: str = "sha1") -> bytes:
    """RFC 7292 appendix B.2, written out (the password already as a BMPString)."""
    u, v = hashlib.new(hash_name).digest_size, hashlib.new(hash_name).block_size
    d = bytes([purpose]) * v

    def stretch(data: bytes) -> bytes:  # repeated to a whole number of v-byte blocks
        if not data:
            return b""
        n = v * ((len(data) + v - 1) // v)
        return (data * (n // len(data) + 1))[:n]

    i = bytearray(stretch(salt) + stretch(password))
    out = b""
    while len(out) < size:
        a = d + bytes(i)
        for _ in range(iterations):
            a = hashlib.new(hash_name, a).digest()
        out += a
        b = (a * (v // u + 1))[:v]
        b_int = int.from_bytes(b, "big") + 1
        for j in range(0, len(i), v):
            block = (int.from_bytes(i[j:j + v], "big") + b_int) % (1 << (8 * v))
            i[j:j + v] = block.to_bytes(v, "big")
    return out[:size]


def test_the_rfc7292_kdf_written_out_agrees_with_openssl():
    """The KDF above against OpenSSL's PKCS12KDF (which takes the password bytes as given: the BMPString)."""
    import subprocess

    salt = bytes(range(8))
    ours = pkcs12_kdf(bmp(PASSWORD), salt, 3, 2048, 20)

    openssl = shutil.which("openssl")
    if not openssl:
        pytest.skip("openssl not installed")
    out = subprocess.run(  # noqa: S603
        [openssl, "kdf", "-keylen", "20", "-kdfopt", "digest:SHA1", "-kdfopt", f"hexpass:{bmp(PASSWORD).hex()}",
         "-kdfopt", f"hexsalt:{salt.hex()}", "-kdfopt", "iter:2048", "-kdfopt", "id:3", "PKCS12KDF"],
        capture_output=True, text=True, check=False)
    if out.returncode:
        pytest.skip("openssl kdf has no PKCS12KDF here")
    assert ours.hex() == out.stdout.strip().replace(":", "").lower()


def _mac_key_ok(pfx: apkcs12.Pfx, password_bytes: bytes) -> bool:
    mac = pfx["mac_data"]
    hash_name = mac["mac"]["digest_algorithm"]["algorithm"].native
    salt, iterations = mac["mac_salt"].native, mac["iterations"].native
    size = hashlib.new(hash_name).digest_size
    key = pkcs12_kdf(password_bytes, salt, 3, iterations, size, hash_name)
    content = pfx["auth_safe"]["content"].native
    return hmac.compare_digest(hmac.new(key, content, hash_name).digest(), mac["mac"]["digest"].native)


def _bags(pfx: apkcs12.Pfx):
    yield from apkcs12.AuthenticatedSafe.load(pfx["auth_safe"]["content"].native)


def test_the_files_use_utf8_for_pbkdf2_and_a_bmpstring_for_the_pkcs12_kdf(unicode_keys):
    # PBES2: the key bag decrypts with PBKDF2 over the UTF-8 bytes, not over anything else
    pfx = apkcs12.Pfx.load(unicode_keys["pbes2"])
    assert _mac_key_ok(pfx, bmp(PASSWORD))
    assert not _mac_key_ok(pfx, PASSWORD.encode("utf-8"))
    shrouded = None
    for info in _bags(pfx):
        if info["content_type"].native == "data":
            for bag in apkcs12.SafeContents.load(info["content"].native):
                if bag["bag_id"].native == "pkcs8_shrouded_key_bag":
                    shrouded = bag["bag_value"]
    assert shrouded is not None
    alg = shrouded["encryption_algorithm"]
    assert alg["algorithm"].native == "pbes2"
    kdf = alg["parameters"]["key_derivation_func"]["parameters"]
    enc = alg["parameters"]["encryption_scheme"]
    prf = kdf["prf"]["algorithm"].native.removeprefix("hmac_with_")  # "sha256"
    key_length = {"aes128_cbc": 16, "aes192_cbc": 24, "aes256_cbc": 32}[enc["algorithm"].native]

    def decrypt(pw: bytes):
        key = hashlib.pbkdf2_hmac(prf, pw, kdf["salt"].native, kdf["iteration_count"].native, key_length)
        dec = Cipher(algorithms.AES(key), modes.CBC(enc["parameters"].native)).decryptor()
        plain = dec.update(shrouded["encrypted_data"].native) + dec.finalize()
        pad = plain[-1]
        if not 1 <= pad <= 16 or plain[-pad:] != bytes([pad]) * pad:
            return None
        return akeys.PrivateKeyInfo.load(plain[:-pad])

    key_info = decrypt(PASSWORD.encode("utf-8"))
    assert key_info is not None and key_info["private_key_algorithm"]["algorithm"].native == "rsa"
    assert decrypt(PASSWORD.encode("utf-16-be")) is None

    # legacy: pbeWithSHAAnd3-KeyTripleDES-CBC; its key, IV and the MAC from the BMPString
    pfx = apkcs12.Pfx.load(unicode_keys["legacy"])
    assert pfx["mac_data"]["mac"]["digest_algorithm"]["algorithm"].native == "sha1"
    assert _mac_key_ok(pfx, bmp(PASSWORD))
    assert not _mac_key_ok(pfx, PASSWORD.encode("utf-8") + b"\0")
    for info in _bags(pfx):
        if info["content_type"].native != "data":
            continue
        for bag in apkcs12.SafeContents.load(info["content"].native):
            if bag["bag_id"].native != "pkcs8_shrouded_key_bag":
                continue
            value = bag["bag_value"]
            params = value["encryption_algorithm"]
            assert params["algorithm"].native == "pkcs12_sha1_tripledes_3key"
            salt, iterations = params["parameters"]["salt"].native, params["parameters"]["iterations"].native
            key = pkcs12_kdf(bmp(PASSWORD), salt, 1, iterations, 24)
            iv = pkcs12_kdf(bmp(PASSWORD), salt, 2, iterations, 8)
            from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES

            dec = Cipher(TripleDES(key), modes.CBC(iv)).decryptor()
            plain = dec.update(value["encrypted_data"].native) + dec.finalize()
            assert akeys.PrivateKeyInfo.load(plain[:-plain[-1]])["private_key_algorithm"]["algorithm"].native == "rsa"
            return
    raise AssertionError("no shrouded key bag in the legacy file")


@pytest.mark.parametrize("kind", ["pbes2", "legacy"])
def test_pkcs12_open_takes_the_unicode_password(unicode_keys, kind):
    opened = pkcs12_open(data=unicode_keys[kind], password=PASSWORD)
    assert opened.certificate_info.full_name == "ДЕМОВ АЛЕКСЕЙ ПЕТРОВИЧ"
    for wrong in ("Кұпия2024", "Құпия2024 ", PASSWORD.encode("utf-8").decode("latin-1")):
        with pytest.raises(SigningError) as err:
            pkcs12_open(data=unicode_keys[kind], password=wrong)
        assert err.value.code == "wrong_password"


@pytest.fixture(scope="module")
def emulator_pki(tmp_path_factory, _test_pki, unicode_keys):
    """A PKI directory for the NCALayer emulator whose manifest lists the two files under PASSWORD."""
    base = tmp_path_factory.mktemp("unicode-pki")
    manifest = pki.demo_manifest()
    entry = next(k for k in manifest["keys"] if k["slug"] == "company_head_sign")
    keys = []
    for kind, data in unicode_keys.items():
        (base / f"unicode_{kind}.p12").write_bytes(data)
        keys.append({**entry, "slug": f"unicode_{kind}", "file": f"unicode_{kind}.p12", "password": PASSWORD})
    (base / "demo-keys.json").write_text(json.dumps({**manifest, "keys": keys}, ensure_ascii=False))
    return base


def _basics(data_b64):
    return {"module": "kz.gov.pki.knca.basics", "method": "sign", "args": {
        "allowedStorages": ["PKCS12"], "format": "cms", "data": data_b64,
        "signingParams": {"decode": True, "encapsulate": False, "digested": False},
        "signerParams": {"extKeyUsageOids": ["1.3.6.1.5.5.7.3.4"]}, "locale": "kk"}}


def run(coro):
    """asyncio.run in a thread of its own (a Playwright test before may have left this thread a loop)."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def _cms_of(answer: dict) -> bytes:
    pem = answer["body"]["result"]
    return base64.b64decode("".join(pem.splitlines()[1:-1]))


def test_the_ncalayer_emulator_takes_the_password_typed_on_its_page(emulator_pki):
    """The person types «Құпия2024» on the emulator's page (a UTF-8 page: the browser posts the form
    percent-encoded UTF-8, as httpx does here); a wrong one is refused there, the right one signs."""
    from ncalayer_emulator.launch import running

    with running(emulator_pki, "--ws") as emu:
        page = httpx.get(emu.page_url, timeout=10)
        assert "charset=utf-8" in page.headers["content-type"].lower()

        async def go(kind):
            async with websockets.connect(emu.url, origin="http://portal.test") as ws:
                await ws.recv()
                await ws.send(json.dumps(_basics(base64.b64encode(b"hello").decode())))
                async with asyncio.timeout(30):
                    while not (pending := await asyncio.to_thread(emu.state))["pending"]:
                        await asyncio.sleep(0.05)
                pid = pending["pending"][0]["id"]
                url = f"{emu.page_url}requests/{pid}/sign"
                wrong = await asyncio.to_thread(httpx.post, url, data={"key": f"unicode_{kind}", "password": "Кұпия2024"})
                assert wrong.status_code == 400 and "Құпиясөз қате." in wrong.text  # the request's locale: kk
                ok = await asyncio.to_thread(httpx.post, url, data={"key": f"unicode_{kind}", "password": PASSWORD})
                assert ok.status_code == 303
                return json.loads(await asyncio.wait_for(ws.recv(), 30))

        for kind in ("pbes2", "legacy"):
            answer = run(go(kind))
            sig = cms_verify(cms_bytes=_cms_of(answer), data=b"hello").signatures[0]
            assert sig.info.full_name == "ДЕМОВ АЛЕКСЕЙ ПЕТРОВИЧ"


def test_the_ncalayer_emulator_takes_the_password_on_its_command_line(emulator_pki):
    from ncalayer_emulator.launch import running

    async def go(url):
        async with websockets.connect(url) as ws:
            await ws.recv()
            await ws.send(json.dumps(_basics(base64.b64encode(b"hello").decode())))
            return json.loads(await asyncio.wait_for(ws.recv(), 30))

    with running(emulator_pki, "--ws", "--key", "unicode_legacy", "--password", PASSWORD) as emu:
        answer = run(go(emu.url))
    assert cms_verify(cms_bytes=_cms_of(answer), data=b"hello").signatures[0].info.full_name == "ДЕМОВ АЛЕКСЕЙ ПЕТРОВИЧ"
