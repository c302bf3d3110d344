"""NCALayer's WebSocket JSON protocol as the emulator answers it (docs/signing.md, NCALayer).

One connection, one request at a time, answers in order (NCALayer's answers carry no id). On
connect NCALayer sends `{"result": {"version": "1.4"}}`. Two answer shapes:

* `kz.gov.pki.knca.basics` (NCALayer 1.3+): `{"status": true, "body": {"result": ...}}`; the user
  pressed «Отмена»: `{"status": true, "body": {}}`; an error: `{"status": false, "code":
  "INVOCATION_ERROR", "message": "An invoked method threw an exception.", "details": "<Java exception>"}`.
* `kz.gov.pki.knca.commonUtils` (the older calls): `{"code": "200", "responseObject": ...}`;
  cancelled: `{"code": "500", "message": "action.canceled"}`; an error: `{"code": "500",
  "message": "<Java exception>"}`.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import collections
import contextvars
import datetime as dt
import itertools
import json
import logging
from dataclasses import dataclass, field

from .keys import KeyStore, WrongPassword, make_cms, pem_cms

log = logging.getLogger("ncalayer_emulator")

BASICS = "kz.gov.pki.knca.basics"
COMMON = "kz.gov.pki.knca.commonUtils"
CANCELLED_BASICS = {"body": {}, "status": True}
CANCELLED_COMMON = {"code": "500", "message": "action.canceled"}
MODES = ("manual", "auto", "cancel")
_entry: contextvars.ContextVar[dict] = contextvars.ContextVar("ncalayer_emulator_entry")


def invocation_error(details: str) -> dict:
    return {"code": "INVOCATION_ERROR", "details": details, "message": "An invoked method threw an exception.",
            "status": False}


def common_error(message: str) -> dict:
    return {"code": "500", "message": message}


def mismatch(method: str) -> str:
    return f"java.lang.IllegalArgumentException: argument type mismatch. Method: {method}"


@dataclass
class Pending:
    """A request waiting for the person's answer (NCALayer's dialog): choose a key, type its password."""

    id: str
    module: str
    method: str
    origin: str
    locale: str
    signer_params: dict
    key_type: str | None  # commonUtils' SIGNATURE / AUTHENTICATION
    summary: dict
    created: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    future: asyncio.Future | None = None


class Emulator:
    """The state shared by the WebSocket side and the page: mode, pending requests, recent log."""

    def __init__(self, store: KeyStore, *, mode: str = "manual", key: str | None = None, password: str | None = None,
                 version: str = "1.4", legacy: bool = False, delay: float = 0.0):
        self.store = store
        self.version = version
        self.legacy = legacy  # an NCALayer before the basics module: only commonUtils answers
        self.common_locale = "ru"
        self.pending: dict[str, Pending] = {}
        self.recent: collections.deque = collections.deque(maxlen=50)
        self._ids = itertools.count(1)
        self.configure(mode=mode, key=key, password=password, delay=delay)

    def configure(self, *, mode: str, key: str | None = None, password: str | None = None, delay: float = 0.0,
                  version: str | None = None, legacy: bool | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}")
        if mode == "auto":
            if not key:
                raise ValueError("auto mode needs a key")
            self.store.get(key)  # KeyError for an unknown slug
        self.mode, self.key, self.password, self.delay = mode, key, password, float(delay or 0)
        if version is not None:
            self.version = version
        if legacy is not None:
            self.legacy = bool(legacy)

    def state(self) -> dict:
        return {
            "mode": self.mode, "key": self.key, "version": self.version, "legacy": self.legacy,
            "pending": [self._pending_json(p) for p in self.pending.values()],
            "recent": list(self.recent),
        }

    def _pending_json(self, p: Pending) -> dict:
        return {"id": p.id, "module": p.module, "method": p.method, "origin": p.origin, "locale": p.locale,
                "signerParams": p.signer_params, "keyType": p.key_type, "summary": p.summary,
                "created": p.created.isoformat()}

    def greeting(self) -> str:
        return json.dumps({"result": {"version": self.version}})

    # --- one request -----------------------------------------------------------------------------

    async def handle(self, text: str, *, origin: str = "") -> str | None:
        """The answer (JSON text) to one request; None where NCALayer sends none."""
        try:
            request = json.loads(text)
            if not isinstance(request, dict):
                raise ValueError("not an object")
        except ValueError as exc:
            return json.dumps(common_error(f"org.json.JSONException: {exc}"))
        module, method = request.get("module"), request.get("method")
        entry = {"at": dt.datetime.now(dt.UTC).isoformat(), "origin": origin, "module": module, "method": method,
                 "args": _args_summary(request.get("args"))}
        self.recent.append(entry)
        _entry.set(entry)
        if module == BASICS and not self.legacy:
            answer = await self._basics(method, request.get("args"), origin)
        elif module == COMMON:
            answer = await self._common(method, request.get("args"), origin)
        else:
            answer = common_error(f"kz.gov.pki.osgi.layer.api.ModuleNotFoundException: {module}")
        entry["answer"] = _answer_summary(answer)
        log.info("%s %s.%s -> %s", origin or "-", module, method, entry["answer"])
        return json.dumps(answer, ensure_ascii=False)

    async def _basics(self, method, args, origin) -> dict:
        if method != "sign":
            return invocation_error(f"java.lang.NoSuchMethodException: {method}")
        if not isinstance(args, dict):
            return invocation_error('org.json.JSONException: JSONObject["args"] not found.')
        fmt = args.get("format")
        if fmt != "cms":
            return invocation_error(f"kz.gov.pki.knca.basics.BasicsException: format {fmt!r} is not emulated (cms only)")
        signing = args.get("signingParams", {})
        if not isinstance(signing, dict):
            return invocation_error('org.json.JSONException: JSONObject["signingParams"] is not a JSONObject.')
        signer = args.get("signerParams", {}) or {}
        if not isinstance(signer, dict):
            return invocation_error('org.json.JSONException: JSONObject["signerParams"] is not a JSONObject.')
        data = args.get("data")
        many = isinstance(data, list)
        items = data if many else [data]
        if not items or not all(isinstance(x, str) for x in items):
            return invocation_error('org.json.JSONException: JSONObject["data"] is not a string or an array.')
        decode = _flag(signing.get("decode"), False)
        encapsulate = _flag(signing.get("encapsulate"), True)
        digested = _flag(signing.get("digested"), False)
        try:
            blobs = [base64.b64decode(x, validate=True) if decode else x.encode("utf-8") for x in items]
        except (binascii.Error, ValueError):
            return invocation_error("java.lang.IllegalArgumentException: Illegal base64 character")
        if digested and encapsulate:
            return invocation_error("kz.gov.pki.knca.basics.BasicsException: digested data cannot be encapsulated")
        if digested and any(len(b) != 32 for b in blobs):
            return invocation_error("kz.gov.pki.knca.basics.BasicsException: digest length does not match SHA-256")
        summary = {"format": fmt, "documents": len(blobs), "bytes": sum(len(b) for b in blobs), "decode": decode,
                   "encapsulate": encapsulate, "digested": digested,
                   "allowedStorages": args.get("allowedStorages"), "tsaProfile": "tsaProfile" in signing}
        pending = self._new_pending(BASICS, "sign", origin, args.get("locale"), signer, None, summary)
        choice = await self._answer(pending)
        if choice is None:
            return CANCELLED_BASICS
        if isinstance(choice, WrongPassword):
            return invocation_error(str(choice))
        private_key, cert, chain = choice
        results = []
        for blob in blobs:
            der = (make_cms(private_key=private_key, certificate=cert, chain=chain, digest=blob) if digested else
                   make_cms(private_key=private_key, certificate=cert, chain=chain, data=blob, encapsulate=encapsulate))
            results.append(pem_cms(der))
        return {"body": {"result": results if many else results[0]}, "status": True}

    async def _common(self, method, args, origin) -> dict:
        args = args if isinstance(args, list) else ([] if args is None else None)
        if args is None:
            return common_error(mismatch(method))
        if method == "getActiveTokens":
            return {"responseObject": [], "code": "200"}  # no hardware token plugged in; files are "PKCS12"
        if method == "changeLocale":
            if len(args) != 1 or not isinstance(args[0], str):
                return common_error(mismatch(method))
            self.common_locale = args[0]
            return {"code": "200"}
        if method == "getKeyInfo":
            if len(args) != 1 or not isinstance(args[0], str):
                return common_error(mismatch(method))
            pending = self._new_pending(COMMON, method, origin, None, {}, None, {"storage": args[0]})
            choice = await self._answer(pending)
            if choice is None:
                return CANCELLED_COMMON
            if isinstance(choice, WrongPassword):
                return common_error(str(choice))
            return {"responseObject": self.store.get(pending.summary["chosen"]).info(), "code": "200"}
        if method in ("createCAdESFromBase64", "createCMSSignatureFromBase64", "createCAdESFromBase64Hash"):
            hashed = method == "createCAdESFromBase64Hash"
            want = 3 if hashed else 4
            if len(args) != want or not all(isinstance(a, str) for a in args[:3]) or (
                    not hashed and not isinstance(args[3], bool)):
                return common_error(mismatch(method))
            storage, key_type, data_b64 = args[:3]
            attach = (not hashed) and args[3]
            try:
                blob = base64.b64decode(data_b64, validate=True)
            except (binascii.Error, ValueError):
                return common_error("java.lang.IllegalArgumentException: Illegal base64 character")
            if hashed and len(blob) != 32:
                return common_error("kz.gov.pki.kalkan.exception: digest length does not match SHA-256")
            summary = {"storage": storage, "bytes": len(blob), "digested": hashed, "encapsulate": attach}
            pending = self._new_pending(COMMON, method, origin, None, {}, key_type, summary)
            choice = await self._answer(pending)
            if choice is None:
                return CANCELLED_COMMON
            if isinstance(choice, WrongPassword):
                return common_error(str(choice))
            private_key, cert, chain = choice
            der = (make_cms(private_key=private_key, certificate=cert, chain=chain, digest=blob) if hashed else
                   make_cms(private_key=private_key, certificate=cert, chain=chain, data=blob, encapsulate=attach))
            return {"responseObject": base64.b64encode(der).decode(), "code": "200"}
        return common_error(f"java.lang.NoSuchMethodException: {method}")

    # --- the person's answer ---------------------------------------------------------------------

    def _new_pending(self, module, method, origin, locale, signer_params, key_type, summary) -> Pending:
        if module == COMMON:  # the older calls take NCALayer's language, set by changeLocale
            locale = {"kz": "kk"}.get(self.common_locale, self.common_locale)
        # basics.sign: Kazakh when `locale` is absent (the official sample's note)
        locale = locale if locale in ("ru", "kk", "en") else "kk"
        return Pending(id=str(next(self._ids)), module=module, method=method, origin=origin, locale=locale,
                       signer_params=signer_params, key_type=key_type, summary=summary)

    async def _answer(self, pending: Pending):
        """(private key, certificate, chain) of the chosen key; None = cancelled; WrongPassword."""
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.mode == "cancel":
            return None
        if self.mode == "auto":
            key = self.store.get(self.key)
            why = key.refusal(pending.signer_params, pending.key_type)
            if why:
                # NCALayer greys out a key that does not fit; the user can only cancel
                log.warning("auto key %s does not fit the request (%s): cancelled", key.slug, why)
                _entry.get({})["refused_key"] = f"{key.slug}: {why}"
                return None
            pending.summary["chosen"] = key.slug
            try:
                return await asyncio.to_thread(self.store.open, key.slug, self.password or "")
            except WrongPassword as exc:
                return exc
        pending.future = asyncio.get_running_loop().create_future()
        self.pending[pending.id] = pending
        try:
            return await pending.future
        finally:
            self.pending.pop(pending.id, None)

    async def choose(self, pending_id: str, slug: str, password: str) -> str:
        """The page's «Подписать»: '' when done, else why not (the request stays, like NCALayer's dialog)."""
        pending = self.pending.get(pending_id)
        if pending is None or pending.future is None or pending.future.done():
            return "gone"
        try:
            key = self.store.get(slug)
        except KeyError:
            return "unknown_key"
        if key.refusal(pending.signer_params, pending.key_type):
            return "key_refused"
        try:
            opened = await asyncio.to_thread(self.store.open, slug, password)
        except WrongPassword:
            return "wrong_password"
        pending.summary["chosen"] = slug
        if not pending.future.done():
            pending.future.set_result(opened)
        return ""

    def cancel(self, pending_id: str) -> None:
        pending = self.pending.get(pending_id)
        if pending is not None and pending.future is not None and not pending.future.done():
            pending.future.set_result(None)


def _flag(value, default: bool) -> bool:
    if value is None:
        return default
    if isinstance(value, str):  # the official sample page sends "true"/"false" from its radio buttons
        return value.strip().lower() == "true"
    return bool(value)


def _args_summary(args):
    """The request's arguments for the log and /api/state, with the data replaced by its size."""
    if isinstance(args, dict):
        out = {k: v for k, v in args.items() if k not in ("data", "logo")}
        data = args.get("data")
        out["data"] = ([len(x) if isinstance(x, str) else None for x in data] if isinstance(data, list)
                       else len(data) if isinstance(data, str) else data)
        return out
    if isinstance(args, list):
        return [a if not isinstance(a, str) or len(a) <= 64 else f"<{len(a)} chars>" for a in args]
    return args


def _answer_summary(answer: dict) -> str:
    if answer.get("status") is True:
        return "result" if "result" in answer.get("body", {}) else "cancelled"
    if answer.get("status") is False:
        return f"{answer['code']}: {answer.get('details', '')}"
    if answer.get("code") == "200":
        return "200"
    return f"{answer.get('code')}: {answer.get('message', '')}"
