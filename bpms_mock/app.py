"""HTTP front of the BPMS Simbase mock (FastAPI): the JSON API (/api/*), the test switches
(/admin/*), the operator pages (/, /cases/<id>, Jinja templates) and the OpenAPI document
generated from the routes and `schemas` (served at /api/openapi.json).

`create_app(service)` is the FastAPI application; `with_faults(app, service)` wraps it in the
fault switches of /api calls (an outermost ASGI layer: dropping a connection needs the server's
transport, which only the outermost layer sees)."""

from __future__ import annotations

import asyncio
import base64
import hmac
import json
import logging
import time
from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, FastAPI, Form, Header, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from . import routes, schemas
from .service import DEFAULT_FAULTS, ActionError, MockService

logger = logging.getLogger("bpms_mock")

TITLE = "BPMS Simbase (homeportal mock)"
VERSION = "1.0"
MAX_SEQ = 2**63 - 1  # SQLite INTEGER: a bigger `after` could never match anyway

STATUS_LABELS = {
    "sent": "Отправлено", "registered": "Зарегистрировано", "in_review": "На рассмотрении", "revision": "На доработке",
    "resubmitted": "Повторно отправлено", "rejected": "Отказано", "approved": "Одобрено",
    "ds_applicant_signing": "ДС на подписании у заявителя", "ds_kzhk_signing": "ДС на подписании в КЖК",
    "ds_signed": "ДС подписано", "subsidy_approved": "Одобрено, готовится договор субсидирования",
    "agreement_signing": "Договор субсидирования на подписании", "agreement_signed": "Договор субсидирования подписан",
}
SAFE_CONTENT_TYPES = ("application/pdf", "application/octet-stream", "application/pkcs7-signature", "text/plain")
ERRORS = {code: {"model": schemas.Error} for code in (400, 401)}

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
templates.env.filters["label"] = lambda status: STATUS_LABELS.get(status, status)
templates.env.policies["json.dumps_kwargs"] = {"ensure_ascii": False}
templates.env.filters["moment"] = lambda value, width=16: (value or "")[:width].replace("T", " ")


def _service(request: Request) -> MockService:
    return request.app.state.service


def _authorized(request: Request) -> None:
    given = request.headers.get("Authorization", "")
    if not hmac.compare_digest(given.encode(), f"Bearer {_service(request).token}".encode()):
        raise HTTPException(401, "bad or missing bearer token")


Service = Annotated[MockService, Depends(_service)]


def _case_json(case: dict) -> dict:
    keys = ("case_id", "case_kind", "external_id", "status", "received_at", "registration_number", "registered_at",
            "deadline", "executor", "executor_number", "case_seq")
    return {k: case[k] for k in keys} | {"finished": bool(case["finished"]), "autopilot": bool(case["autopilot"])}


# --- /api ---------------------------------------------------------------------------------------

api = APIRouter(prefix="/api", dependencies=[Depends(_authorized)], responses=ERRORS)


@api.post("/messages", status_code=201, response_model=schemas.MessageAnswer,
          responses={200: {"model": schemas.MessageAnswer, "description": "a repeat of an accepted key: the first answer, duplicate=true"},
                     404: {"model": schemas.Error, "description": "unknown case: send the submit message first"}},
          summary="Accept a message about a case (submit creates the case); idempotent by key")
def post_message(message: schemas.Message, svc: Service,
                 idempotency_key: Annotated[str, Header(alias="Idempotency-Key", min_length=1, max_length=200)]):
    status, answer = svc.receive_message(idempotency_key=idempotency_key, body=message.model_dump())
    return JSONResponse(answer if status < 400 else {"error": answer["error"]}, status_code=status)


@api.get("/events", response_model=schemas.Feed, summary="The status event feed after a sequence number, in seq order")
def get_events(svc: Service, after: Annotated[int, Query(ge=0, le=MAX_SEQ)] = 0,
               limit: Annotated[int, Query(ge=1, le=1000)] = 500):
    return {"events": svc.store.events_after(after, limit), "last_seq": svc.store.max_seq()}


@api.get("/cases/{case_id}", response_model=schemas.Case, responses={404: {"model": schemas.Error}},
         summary="One case with its events")
def get_case(case_id: str, svc: Service):
    case = svc.store.case(case_id)
    if case is None:
        raise HTTPException(404, "unknown case")
    return {**_case_json(case), "events": svc.store.events_of(case_id)}


# --- /admin: test switches (bearer token) -------------------------------------------------------

admin = APIRouter(prefix="/admin", dependencies=[Depends(_authorized)], responses=ERRORS)


@admin.get("/faults", summary="Current fault switches and the /api call counter")
def faults_get(svc: Service) -> dict:
    return {**svc.faults, "calls": svc.calls}


@admin.post("/faults", summary="Set fault switches: fail_500, delay_before, delay_after, drop_every, "
                               "webhook_enabled, webhook_repeat, webhook_reverse, reset")
def faults_set(changes: schemas.Faults, svc: Service) -> dict:
    return svc.set_faults(changes.model_dump(exclude_none=True))


@admin.post("/actions", responses={404: {"model": schemas.Error}, 409: {"model": schemas.Error}},
            summary="Operator action on a case: {case_id | case_kind+external_id, action, notes?, executor?}")
def admin_action(body: schemas.Action, svc: Service) -> dict:
    case_id = body.case_id
    if not case_id:
        case = svc.store.case_by_external(str(body.case_kind or ""), str(body.external_id or ""))
        if case is None:
            raise HTTPException(404, "unknown case")
        case_id = case["case_id"]
    return svc.do_action(case_id, body.action, body.model_dump(exclude_none=True))


@admin.post("/emit", summary="Append raw events {events:[{case_kind, external_id, status, payload?}]} (bench/tests)")
def admin_emit(body: schemas.Emit, svc: Service) -> dict:
    return {"seqs": svc.emit_raw([item.model_dump(exclude_none=True) for item in body.events])}


@admin.post("/autopilot", summary="{enabled, pace}")
def admin_autopilot(body: schemas.Autopilot, svc: Service) -> dict:
    if body.enabled is not None:
        svc.autopilot = body.enabled
    if body.pace is not None:
        svc.pace = body.pace
    return {"enabled": svc.autopilot, "pace": svc.pace}


@admin.post("/reset", summary="Forget everything but the event sequence (tests)")
def admin_reset(svc: Service) -> dict:
    svc.store.reset()
    svc.faults = dict(DEFAULT_FAULTS)
    svc.calls = 0
    return {"reset": True}


@admin.get("/stats", summary="Counts")
def admin_stats(svc: Service) -> dict:
    times = sorted(svc.webhook_times)
    answer_ms = {f"p{p}": round(times[min(len(times) - 1, len(times) * p // 100)] * 1000, 1) for p in (50, 95)} if times else {}
    return {**svc.store.stats(), "calls": svc.calls, "webhooks": svc.webhook_stats,
            "webhook_answer_ms": {**answer_ms, "posts": len(times)}}


# --- open: health and the operator pages -------------------------------------------------------

pages = APIRouter(include_in_schema=False)


@pages.get("/healthz")
@pages.get("/health")
def healthz() -> dict:
    return {"service": "bpms-simbase-mock", "status": "ok"}


def _page(request: Request, name: str, status_code: int = 200, **context) -> HTMLResponse:
    return templates.TemplateResponse(request, name, context, status_code=status_code)


def _not_found(request: Request, title: str = "Не найдено", text: str = "Нет такой страницы.") -> HTMLResponse:
    return _page(request, "message.html", 404, title=title, text=text)


@pages.get("/", response_class=HTMLResponse)
def case_list(request: Request, svc: Service):
    return _page(request, "cases.html", title="Дела", cases=svc.store.cases(), stats=svc.store.stats(),
                 autopilot=svc.autopilot, pace=f"{svc.pace:g}")


@pages.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, case_id: str, svc: Service, error: str = ""):
    case = svc.store.case(case_id)
    if case is None:
        return _not_found(request, "Дело не найдено", "Нет такого дела.")
    spec = routes.route(case["case_kind"])["actions"]
    actions = [(name, spec[name]["label"]) for name in routes.allowed_actions(case["case_kind"], case["status"])]
    messages = [{**m, "documents": json.loads(m["payload"]).get("documents") or []} for m in svc.store.messages_of(case_id)]
    return _page(request, "case.html", title=f"Дело {case_id}", case=case, actions=actions, error=error,
                 events=svc.store.events_of(case_id), messages=messages)


@pages.post("/cases/{case_id}/action")
def case_action(request: Request, case_id: str, svc: Service, action: Annotated[str, Form()] = "",
                notes: Annotated[str, Form()] = "", executor: Annotated[str, Form()] = ""):
    if svc.store.case(case_id) is None:
        return _not_found(request, "Дело не найдено", "Нет такого дела.")
    try:
        svc.do_action(case_id, action, {"notes": notes, "executor": executor})
    except ActionError as exc:
        return RedirectResponse(f"/cases/{quote(case_id)}?error={quote(str(exc))}", status_code=303)
    return RedirectResponse(f"/cases/{quote(case_id)}", status_code=303)


@pages.post("/cases/{case_id}/autopilot")
def case_autopilot(request: Request, case_id: str, svc: Service):
    case = svc.store.case(case_id)
    if case is None:
        return _not_found(request, "Дело не найдено", "Нет такого дела.")
    svc.store.update_case(case_id, autopilot=0 if case["autopilot"] else 1, last_change=time.time())
    return RedirectResponse(f"/cases/{quote(case_id)}", status_code=303)


@pages.get("/cases/{case_id}/{source}/{ident}/documents/{index}")
def document(request: Request, case_id: str, source: str, ident: str, index: int, svc: Service):
    """A document of an event (issued by BPMS) or of a portal message (e.g. the signed ДС the
    portal sent back)."""
    if source == "events":
        item = next((e for e in svc.store.events_of(case_id) if str(e["seq"]) == ident), None)
        docs = item["documents"] if item else []
    elif source == "messages":
        item = next((m for m in svc.store.messages_of(case_id) if str(m["id"]) == ident), None)
        docs = (json.loads(item["payload"]).get("documents") or []) if item else []
    else:
        docs = []
    if not 0 <= index < len(docs) or not isinstance(docs[index], dict):
        return _not_found(request, "Документ не найден", "Нет такого документа.")
    doc = docs[index]
    try:
        data = base64.b64decode(doc.get("data_b64") or "", validate=True)
    except ValueError:
        return _not_found(request, "Документ не найден", "Документ повреждён.")
    content_type = str(doc.get("content_type") or "application/octet-stream")
    if content_type not in SAFE_CONTENT_TYPES:
        content_type = "application/octet-stream"
    name = quote(str(doc.get("name") or "document.pdf"))
    return Response(data, media_type=content_type, headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{name}", "X-Content-Type-Options": "nosniff"})


# --- the application ------------------------------------------------------------------------------


def _error_handlers(app: FastAPI) -> None:
    """Errors as {"error": "..."} (the API's documented shape); bad input is 400, never 500."""

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException):
        return JSONResponse({"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError):
        detail = "; ".join(f"{'.'.join(str(p) for p in e.get('loc', ()))}: {e.get('msg')}" for e in exc.errors())
        return JSONResponse({"error": detail or "invalid request"}, status_code=400)

    @app.exception_handler(ActionError)
    async def refused(request: Request, exc: ActionError):
        return JSONResponse({"error": str(exc)}, status_code=409)


def _openapi(app: FastAPI):
    """The generated document, with the mock's conventions: 400 for bad input (not FastAPI's 422),
    a bearer token, and the webhook the mock posts to the portal."""

    def build() -> dict:
        if app.openapi_schema:
            return app.openapi_schema
        from fastapi.openapi.utils import get_openapi

        spec = get_openapi(title=TITLE, version=VERSION, routes=app.routes, description=(
            "Cases from the KZhK legal-entity cabinet and their status events. See docs/bpms-api.md."))
        for path in spec["paths"].values():
            for operation in path.values():
                responses = operation.get("responses", {})
                if responses.pop("422", None) is not None:
                    responses.setdefault("400", {"description": "Bad Request", "content": {"application/json": {
                        "schema": {"$ref": "#/components/schemas/Error"}}}})
                if "security" not in operation:
                    operation["security"] = [{"bearer": []}]
        schemas_ = spec.setdefault("components", {}).setdefault("schemas", {})
        for name in ("HTTPValidationError", "ValidationError"):
            schemas_.pop(name, None)
        spec["components"]["securitySchemes"] = {"bearer": {"type": "http", "scheme": "bearer"}}
        spec["webhooks"] = {"statusEvent": {"post": {
            "summary": "POST {events:[Event]} to the portal; header X-BPMS-Signature: t=<unix>,"
                       "v1=<hex HMAC-SHA256(secret, t + '.' + body)>",
            "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {
                "events": {"type": "array", "items": {"$ref": "#/components/schemas/Event"}}}}}}},
            "responses": {"200": {"description": "results per event"}},
        }}}
        app.openapi_schema = spec
        return spec

    return build


def create_app(service: MockService) -> FastAPI:
    app = FastAPI(title=TITLE, version=VERSION, openapi_url="/api/openapi.json", docs_url=None, redoc_url=None)
    app.state.service = service
    app.include_router(api)
    app.include_router(admin)
    app.include_router(pages)
    _error_handlers(app)
    app.openapi = _openapi(app)
    return app


def openapi_document() -> dict:
    """The OpenAPI document without a running service (docs/bpms-openapi.json is this)."""
    return create_app(service=None).openapi()  # type: ignore[arg-type]


async def _buffered(receive):
    """The whole request body read now; a `receive` that replays it (None: the caller left)."""
    chunks, more = [], True
    while more:
        message = await receive()
        if message["type"] == "http.disconnect":
            return None
        chunks.append(message.get("body", b""))
        more = message.get("more_body", False)
    replay = [{"type": "http.request", "body": b"".join(chunks), "more_body": False}]

    async def replayed():
        return replay.pop() if replay else await receive()

    return replayed


def with_faults(app, service: MockService):
    """The fault switches of /api calls (after the token check, like the real BPMS's failures):
    drop the connection, delay before/after handling, answer 500."""

    async def asgi(scope, receive, send):
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith("/api/") or path == "/api/openapi.json":
            return await app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        token = headers.get(b"authorization", b"")
        if not hmac.compare_digest(token, f"Bearer {service.token}".encode()):
            return await app(scope, receive, send)  # the route answers 401
        faults = service.faults
        calls = service.count_call()
        if faults["drop_every"] and calls % faults["drop_every"] == 0:
            transport = getattr(getattr(send, "__self__", None), "transport", None)
            if transport is not None:
                transport.close()  # the caller sees the connection closed without an answer
                await asyncio.sleep(0.05)
                return None
        if faults["delay_before"]:
            # A hung BPMS still handles the call once it wakes up, even if the caller gave up:
            # read the request first so that the caller's disconnect does not cancel it.
            receive = await _buffered(receive)
            if receive is None:
                return None
            await asyncio.sleep(faults["delay_before"])
        if faults["fail_500"]:
            return await JSONResponse({"error": "fault switch: fail_500"}, status_code=500)(scope, receive, send)
        delay_after = faults["delay_after"]
        if not delay_after:
            return await app(scope, receive, send)

        async def late_send(message):
            if message["type"] == "http.response.start":
                await asyncio.sleep(delay_after)  # BPMS stored it; the caller may have given up
            await send(message)

        return await app(scope, receive, late_send)

    return asgi
