"""Test helpers that play the user's browser: they sign in Python what the browser would sign in
the page (static/js/signing-keyfile.js) and send only the CMS, like the page does. The portal
itself never signs with a user's key (issue #11)."""

from __future__ import annotations

import base64
import datetime as dt

from django.urls import reverse
from django.utils import timezone

from signing import pki
from signing.certs import pkcs12_open
from signing.cms import cms_sign


def cms_for_contract(contract: dict, *, p12: bytes, password: str, now: dt.datetime | None = None) -> bytes:
    """The CMS the page builds for a to-sign contract (signing_request_to_sign / signing:to_sign)."""
    key = pkcs12_open(data=p12, password=password)
    data = base64.b64decode(contract["dataB64"])
    now = now or timezone.now()
    if contract.get("digested"):
        return cms_sign(digest=data, key=key, signing_time=now)
    return cms_sign(data=data, key=key, signing_time=now, attached=bool(contract.get("attached")))


def signing_request_sign_with_key(*, signing_request, p12: bytes, password: str, now: dt.datetime | None = None,
                                  request=None):
    """Service level: to-sign contract -> CMS made here -> signing_request_submit."""
    from signing.services import signing_request_submit, signing_request_to_sign

    contract = signing_request_to_sign(signing_request=signing_request, now=now)
    cms = cms_for_contract(contract, p12=p12, password=password, now=now)
    return signing_request_submit(signing_request=signing_request, cms_bytes=cms, preparation_id=contract["preparation"],
                                  now=now, request=request)


def sign_with_demo_key(signing_request, slug: str, **kw):
    p12, password = pki.demo_key(slug)
    return signing_request_sign_with_key(signing_request=signing_request, p12=p12, password=password, **kw)


def post_signature(client, signing_request, slug: str | None = None, *, p12: bytes | None = None,
                   password: str | None = None, **extra):
    """HTTP level, as the page does: POST signing:to_sign, sign here, POST the CMS to signing:ecp.
    Returns the last response (JSON). A wrong password fails here, in the "browser", like in the page."""
    if slug is not None:
        p12, default_password = pki.demo_key(slug)
        password = default_password if password is None else password
    answer = client.post(reverse("signing:to_sign", args=[signing_request.public_id]), **extra)
    if answer.status_code != 200 or not answer.json().get("ok"):
        return answer
    cms = cms_for_contract(answer.json(), p12=p12, password=password)
    return client.post(reverse("signing:ecp", args=[signing_request.public_id]),
                       {"cms": base64.b64encode(cms).decode(), "preparation": answer.json()["preparation"] or ""}, **extra)
