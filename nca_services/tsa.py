"""RFC 3161 time-stamp authority: the request and the token are asn1crypto `tsp` types and the
token is built by pyHanko's local TSA (`DummyTimeStamper`, the same TSTInfo/SignedData a real
TSA returns), signed with the TSA certificate of the test PKI (id-kp-timeStamping, critical)."""

from __future__ import annotations

import datetime as dt
import functools

from asn1crypto import tsp
from cryptography.hazmat.primitives import serialization
from pyhanko.sign.timestamps import dummy_client
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

from .authority import Authority

POLICY_OID = "1.2.398.3.3.2.6"  # NCA-shaped TSA policy arc of the test PKI


class _ParsedKeys:
    """pyHanko's DummyTimeStamper parses its RSA key from DER for every token (~35 ms, most of a
    time-stamp's cost); the stand-in keeps the parsed key, as a real TSA keeps its key loaded."""

    def __getattr__(self, name):
        return getattr(serialization, name)

    @staticmethod
    @functools.lru_cache(maxsize=4)
    def load_der_private_key(data, password=None):
        return serialization.load_der_private_key(data, password=password)


dummy_client.serialization = _ParsedKeys()  # only the dummy client's name for the module


class _TestTsa(DummyTimeStamper):
    def _build_tst_info(self, message_imprint, dt_, req):
        info = super()._build_tst_info(message_imprint, dt_, req)
        info["policy"] = tsp.ObjectIdentifier(req["req_policy"].dotted if req["req_policy"].native else POLICY_OID)
        info["accuracy"] = tsp.Accuracy({"seconds": 1})
        return info


def _rejection(fail: str) -> bytes:
    return tsp.TimeStampResp({"status": tsp.PKIStatusInfo({
        "status": tsp.PKIStatus("rejection"), "fail_info": tsp.PKIFailureInfo({fail})})}).dump()


SUPPORTED_DIGESTS = {"sha256", "sha384", "sha512"}


def respond(authority: Authority, body: bytes, *, now: dt.datetime | None = None) -> bytes:
    try:
        req = tsp.TimeStampReq.load(body)
        algorithm = req["message_imprint"]["hash_algorithm"]["algorithm"].native
        digest = req["message_imprint"]["hashed_message"].native
    except Exception:
        return _rejection("bad_data_format")
    if algorithm not in SUPPORTED_DIGESTS:
        return _rejection("bad_alg")
    if len(digest) != {"sha256": 32, "sha384": 48, "sha512": 64}[algorithm]:
        return _rejection("bad_data_format")
    cert, key, chain = authority.tsa_asn1()
    stamper = _TestTsa(tsa_cert=cert, tsa_key=key, certs_to_embed=chain,
                       fixed_dt=(now or dt.datetime.now(dt.UTC)))
    return stamper.request_tsa_response(req).dump()
