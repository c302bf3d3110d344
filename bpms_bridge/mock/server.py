"""HTTP front of the BPMS Simbase mock: JSON API (/api/*), test switches (/admin/*) and the
operator pages (/, /cases/<id>). Standard library only (plus the mock's own modules)."""

from __future__ import annotations

import hmac
import html
import json
import logging
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlparse

from . import routes
from .openapi import OPENAPI
from .service import DEFAULT_FAULTS, ActionError, MockService

logger = logging.getLogger("bpms_mock")

MAX_BODY = 50 * 1024 * 1024

STATUS_LABELS = {
    "sent": "Отправлено", "registered": "Зарегистрировано", "in_review": "На рассмотрении", "revision": "На доработке",
    "resubmitted": "Повторно отправлено", "rejected": "Отказано", "approved": "Одобрено",
    "ds_applicant_signing": "ДС на подписании у заявителя", "ds_kzhk_signing": "ДС на подписании в КЖК",
    "ds_signed": "ДС подписано",
}

CSS = (
    "body{font-family:system-ui,sans-serif;margin:0;background:#f4f6f9;color:#1b2430}"
    "header{background:#1d4f91;color:#fff;padding:12px 24px}header a{color:#fff}"
    "main{padding:16px 24px}table{border-collapse:collapse;width:100%;background:#fff}"
    "td,th{border:1px solid #d5dbe3;padding:6px 8px;text-align:left;font-size:14px}"
    "form.inline{display:inline-block;margin:4px}button{padding:6px 10px;cursor:pointer}"
    ".card{background:#fff;border:1px solid #d5dbe3;padding:12px;margin-bottom:12px}"
    "label{display:block;margin:6px 0 2px}input[type=text],textarea{width:100%;max-width:520px}"
)


def page(title: str, body: str) -> bytes:
    return (
        "<!doctype html><html lang='ru'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)} — BPMS Simbase (mock)</title><style>{CSS}</style></head><body>"
        "<header><strong>BPMS Simbase</strong> — имитация для homeportal · <a href='/'>Дела</a></header>"
        f"<main><h1>{html.escape(title)}</h1>{body}</main></body></html>"
    ).encode()


def label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


class Handler(BaseHTTPRequestHandler):
    server_version = "BPMSSimbaseMock/1.0"
    service: MockService  # set by make_server

    def log_message(self, fmt, *args):  # quieter than stderr per request
        logger.debug("%s " + fmt, self.address_string(), *args)

    # --- plumbing -----------------------------------------------------------------------------
    def _send(self, status: int, body: bytes, content_type: str, headers: dict | None = None):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, data) -> None:
        self._send(status, json.dumps(data, ensure_ascii=False).encode(), "application/json; charset=utf-8")

    def _html(self, status: int, body: bytes) -> None:
        self._send(status, body, "text/html; charset=utf-8")

    def _redirect(self, to: str) -> None:
        self._send(303, b"", "text/plain", {"Location": to})

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            raise ValueError("body too large")
        return self.rfile.read(length) if length else b""

    def _json_body(self) -> dict:
        data = json.loads(self._body() or b"{}")
        if not isinstance(data, dict):
            raise ValueError("a JSON object is expected")
        return data

    def _authorized(self) -> bool:
        given = self.headers.get("Authorization", "")
        return hmac.compare_digest(given.encode(), f"Bearer {self.service.token}".encode())

    def _faults(self) -> bool:
        """Apply the fault switches to an /api call; False if the call was dropped/failed."""
        faults = self.service.faults
        n = self.service.count_call()
        if faults["drop_every"] and n % faults["drop_every"] == 0:
            self.close_connection = True
            return False
        if faults["delay_before"]:
            time.sleep(faults["delay_before"])
        if faults["fail_500"]:
            self._json(500, {"error": "fault switch: fail_500"})
            return False
        return True

    # --- dispatch -----------------------------------------------------------------------------
    def do_GET(self):  # noqa: N802
        self._dispatch("GET")

    def do_POST(self):  # noqa: N802
        self._dispatch("POST")

    def _dispatch(self, method: str):
        url = urlparse(self.path)
        parts = [p for p in url.path.split("/") if p]
        try:
            if parts[:1] == ["api"] and parts[1:] != ["openapi.json"]:
                if not self._authorized():
                    return self._json(401, {"error": "bad or missing bearer token"})
                if not self._faults():
                    return None
                return self._api(method, parts[1:], parse_qs(url.query))
            if parts[:1] == ["admin"]:
                if not self._authorized():
                    return self._json(401, {"error": "bad or missing bearer token"})
                return self._admin(method, parts[1:])
            return self._public(method, parts, parse_qs(url.query))
        except (ValueError, KeyError, TypeError) as exc:
            return self._json(400, {"error": str(exc)})
        except ActionError as exc:
            return self._json(409, {"error": str(exc)})
        except BrokenPipeError:
            return None
        except Exception:
            logger.exception("mock error on %s %s", method, self.path)
            return self._json(500, {"error": "internal error"})

    def _after(self):
        delay = self.service.faults["delay_after"]
        if delay:
            time.sleep(delay)

    # --- /api -----------------------------------------------------------------------------------
    def _api(self, method, parts, query):
        svc = self.service
        if method == "POST" and parts in (["messages"], ["cases"]):
            status, answer = svc.receive_message(idempotency_key=self.headers.get("Idempotency-Key", ""), body=self._json_body())
            self._after()
            return self._json(status, answer)
        if method == "GET" and parts == ["events"]:
            after = int(query.get("after", ["0"])[0])
            limit = max(1, min(1000, int(query.get("limit", ["500"])[0])))
            events = svc.store.events_after(after, limit)
            self._after()
            return self._json(200, {"events": events, "last_seq": svc.store.max_seq()})
        if method == "GET" and len(parts) == 2 and parts[0] == "cases":
            case = svc.store.case(parts[1])
            if case is None:
                return self._json(404, {"error": "unknown case"})
            return self._json(200, {**_case_json(case), "events": svc.store.events_of(parts[1])})
        return self._json(404, {"error": "no such endpoint"})

    # --- /admin (test switches; bearer token) -------------------------------------------------
    def _admin(self, method, parts):
        svc = self.service
        if parts == ["faults"]:
            if method == "POST":
                return self._json(200, svc.set_faults(self._json_body()))
            return self._json(200, {**svc.faults, "calls": svc.calls})
        if parts == ["actions"] and method == "POST":
            body = self._json_body()
            case_id = body.get("case_id")
            if not case_id:
                case = svc.store.case_by_external(str(body["case_kind"]), str(body["external_id"]))
                if case is None:
                    return self._json(404, {"error": "unknown case"})
                case_id = case["case_id"]
            return self._json(200, svc.do_action(case_id, str(body["action"]), body))
        if parts == ["emit"] and method == "POST":
            items = self._json_body()["events"]
            return self._json(200, {"seqs": svc.emit_raw(items)})
        if parts == ["autopilot"] and method == "POST":
            body = self._json_body()
            svc.autopilot = bool(body.get("enabled", svc.autopilot))
            svc.pace = float(body.get("pace", svc.pace))
            return self._json(200, {"enabled": svc.autopilot, "pace": svc.pace})
        if parts == ["reset"] and method == "POST":
            svc.store.reset()
            svc.faults = dict(DEFAULT_FAULTS)
            svc.calls = 0
            return self._json(200, {"reset": True})
        if parts == ["stats"]:
            return self._json(200, {**svc.store.stats(), "calls": svc.calls, "webhooks": svc.webhook_stats})
        return self._json(404, {"error": "no such endpoint"})

    # --- public: health, OpenAPI, operator pages ------------------------------------------------
    def _public(self, method, parts, query):
        svc = self.service
        if parts in (["healthz"], ["health"]):
            return self._json(200, {"service": "bpms-simbase-mock", "status": "ok"})
        if parts == ["api", "openapi.json"]:
            return self._json(200, OPENAPI)
        if method == "GET" and not parts:
            return self._html(200, self._case_list())
        if len(parts) >= 2 and parts[0] == "cases":
            case = svc.store.case(parts[1])
            if case is None:
                return self._html(404, page("Дело не найдено", "<p>Нет такого дела.</p>"))
            if method == "GET" and len(parts) == 2:
                return self._html(200, self._case_page(case, error=query.get("error", [""])[0]))
            if method == "POST" and parts[2:] == ["action"]:
                form = {k: v[0] for k, v in parse_qs(self._body().decode("utf-8", "replace")).items()}
                try:
                    svc.do_action(case["case_id"], form.get("action", ""), form)
                except ActionError as exc:
                    return self._redirect(f"/cases/{case['case_id']}?error={quote(str(exc))}")
                return self._redirect(f"/cases/{case['case_id']}")
            if method == "GET" and len(parts) == 6 and parts[2] in ("events", "messages") and parts[4] == "documents":
                return self._document(case, parts[2], parts[3], parts[5])
            if method == "POST" and parts[2:] == ["autopilot"]:
                svc.store.update_case(case["case_id"], autopilot=0 if case["autopilot"] else 1, last_change=time.time())
                return self._redirect(f"/cases/{case['case_id']}")
        return self._html(404, page("Не найдено", "<p>Нет такой страницы.</p>"))

    def _document(self, case: dict, source: str, ident: str, index: str):
        """Download a document of an event (issued by BPMS) or of a portal message (e.g. the
        signed ДС the portal sent back)."""
        import base64

        if source == "events":
            item = next((e for e in self.service.store.events_of(case["case_id"]) if str(e["seq"]) == ident), None)
            docs = item["documents"] if item else []
        else:
            item = next((m for m in self.service.store.messages_of(case["case_id"]) if str(m["id"]) == ident), None)
            docs = (json.loads(item["payload"]).get("documents") or []) if item else []
        if not index.isdigit() or int(index) >= len(docs) or not isinstance(docs[int(index)], dict):
            return self._html(404, page("Документ не найден", "<p>Нет такого документа.</p>"))
        doc = docs[int(index)]
        try:
            data = base64.b64decode(doc.get("data_b64") or "", validate=True)
        except ValueError:
            return self._html(404, page("Документ не найден", "<p>Документ повреждён.</p>"))
        name = quote(str(doc.get("name") or "document.pdf"))
        content_type = str(doc.get("content_type") or "application/octet-stream")
        if content_type not in ("application/pdf", "application/octet-stream", "application/pkcs7-signature", "text/plain"):
            content_type = "application/octet-stream"
        return self._send(200, data, content_type, {"Content-Disposition": f"attachment; filename*=UTF-8''{name}",
                                                    "X-Content-Type-Options": "nosniff"})

    def _case_list(self) -> bytes:
        svc = self.service
        rows = "".join(
            f"<tr><td><a href='/cases/{html.escape(c['case_id'])}'>{html.escape(c['case_id'])}</a></td>"
            f"<td>{html.escape(c['case_kind'])}</td><td>{html.escape(c['external_id'])}</td>"
            f"<td>{html.escape(label(c['status']))}</td><td>{html.escape(c['registration_number'])}</td>"
            f"<td>{html.escape(c['deadline'][:16].replace('T', ' '))}</td><td>{html.escape(c['executor'])}</td>"
            f"<td>{'да' if c['autopilot'] else 'нет'}</td></tr>"
            for c in svc.store.cases()
        )
        stats = svc.store.stats()
        body = (
            f"<p>Автопилот: <strong>{'включён' if svc.autopilot else 'выключен'}</strong>, шаг {svc.pace:g} с. "
            f"Дел: {stats['cases']}, событий: {stats['events']} (последний seq {stats['last_seq']}). "
            "<a href='/api/openapi.json'>OpenAPI</a></p>"
            "<table><thead><tr><th>Дело</th><th>Вид</th><th>ID в портале</th><th>Статус</th><th>Рег. №</th>"
            "<th>Срок</th><th>Исполнитель</th><th>Автопилот</th></tr></thead>"
            f"<tbody>{rows or '<tr><td colspan=8>Дел пока нет.</td></tr>'}</tbody></table>"
        )
        return page("Дела", body)

    def _case_page(self, case: dict, *, error: str = "") -> bytes:
        svc = self.service
        cid = html.escape(case["case_id"])
        allowed = routes.allowed_actions(case["case_kind"], case["status"])
        spec = routes.route(case["case_kind"])["actions"]
        buttons = "".join(
            f"<form class='inline' method='post' action='/cases/{cid}/action'>"
            f"<input type='hidden' name='action' value='{html.escape(a)}'>"
            + ("<label>Исполнитель<input type='text' name='executor'></label>" if a == "assign" else "")
            + ("<label>Замечания / причина<textarea name='notes'></textarea></label>" if a in ("revision", "reject") else "")
            + f"<button type='submit'>{html.escape(spec[a]['label'])}</button></form>"
            for a in allowed
        ) or "<p>Нет доступных действий (ожидание портала или дело завершено).</p>"
        events = "".join(
            f"<tr><td>{e['seq']}</td><td>{e['case_seq']}</td><td>{html.escape(e['occurred_at'][:19].replace('T', ' '))}</td>"
            f"<td>{html.escape(label(e['status']))}</td><td><code>{html.escape(json.dumps(e['payload'], ensure_ascii=False))}</code></td>"
            f"<td>{_doc_links(cid, 'events', e['seq'], e['documents'])}</td></tr>"
            for e in svc.store.events_of(case["case_id"])
        )
        messages = "".join(
            f"<tr><td>{m['id']}</td><td>{html.escape(m['kind'])}</td><td>{html.escape(m['received_at'][:19].replace('T', ' '))}</td>"
            f"<td><code>{html.escape(m['idempotency_key'])}</code></td>"
            f"<td>{_doc_links(cid, 'messages', m['id'], json.loads(m['payload']).get('documents') or [])}</td></tr>"
            for m in svc.store.messages_of(case["case_id"])
        )
        body = (
            (f"<p role='alert' style='color:#b00020'>{html.escape(error)}</p>" if error else "")
            + f"<div class='card'><p>Вид: {html.escape(case['case_kind'])} · ID в портале: {html.escape(case['external_id'])}</p>"
            f"<p>Статус: <strong data-status='{html.escape(case['status'])}'>{html.escape(label(case['status']))}</strong></p>"
            f"<p>Рег. №: {html.escape(case['registration_number'] or '—')} · зарегистрировано: {html.escape(case['registered_at'][:16].replace('T', ' ') or '—')}"
            f" · срок: {html.escape(case['deadline'][:16].replace('T', ' ') or '—')}</p>"
            f"<p>Исполнитель: {html.escape(case['executor'] or '—')} {html.escape(case['executor_number'])}</p>"
            f"<form class='inline' method='post' action='/cases/{cid}/autopilot'><button type='submit'>"
            f"{'Выключить автопилот' if case['autopilot'] else 'Включить автопилот'}</button></form></div>"
            f"<div class='card'><h2>Действия</h2>{buttons}</div>"
            "<div class='card'><h2>События</h2><table><thead><tr><th>seq</th><th>№ по делу</th><th>Время</th><th>Статус</th>"
            f"<th>Данные</th><th>Документы</th></tr></thead><tbody>{events}</tbody></table></div>"
            "<div class='card'><h2>Сообщения портала</h2><table><thead><tr><th>#</th><th>Вид</th><th>Получено</th>"
            f"<th>Ключ идемпотентности</th><th>Документы</th></tr></thead><tbody>{messages}</tbody></table></div>"
        )
        return page(f"Дело {case['case_id']}", body)


def _doc_links(case_id: str, source: str, ident, docs) -> str:
    return ", ".join(
        f"<a href='/cases/{case_id}/{source}/{ident}/documents/{i}'>{html.escape(str(d.get('name') or 'document'))}</a>"
        for i, d in enumerate(docs) if isinstance(d, dict)
    )


def _case_json(case: dict) -> dict:
    keys = ("case_id", "case_kind", "external_id", "status", "received_at", "registration_number", "registered_at",
            "deadline", "executor", "executor_number", "case_seq")
    return {k: case[k] for k in keys} | {"finished": bool(case["finished"]), "autopilot": bool(case["autopilot"])}


class MockHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def make_server(service: MockService, host: str, port: int) -> MockHTTPServer:
    handler = type("BoundHandler", (Handler,), {"service": service})
    return MockHTTPServer((host, port), handler)
