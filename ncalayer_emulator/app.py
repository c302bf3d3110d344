"""The two listeners: NCALayer's WebSocket (wss://127.0.0.1:13579/, ws:// with --ws) and the
emulator's page (http://127.0.0.1:13580/), where the person answers what NCALayer's dialog would
ask, plus a small JSON control API for tests (`GET /api/state`, `POST /api/mode`)."""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import logging
import signal

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, PlainTextResponse, RedirectResponse
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from .protocol import Emulator

log = logging.getLogger("ncalayer_emulator")
MAX_MESSAGE = 64 * 1024 * 1024  # a document sent whole (not digested) in base64


def ws_app(emulator: Emulator) -> Starlette:
    async def endpoint(ws: WebSocket) -> None:
        await ws.accept()
        origin = ws.headers.get("origin", "")
        await ws.send_text(emulator.greeting())
        queue: asyncio.Queue[str] = asyncio.Queue()

        async def worker() -> None:  # one request at a time, answered in order, like NCALayer
            while True:
                answer = await emulator.handle(await queue.get(), origin=origin)
                if answer is not None:
                    await ws.send_text(answer)

        task = asyncio.create_task(worker())
        try:
            while True:
                msg = await ws.receive()
                if msg["type"] == "websocket.disconnect":
                    break
                await queue.put(msg.get("text") or (msg.get("bytes") or b"").decode("utf-8", "replace"))
        except WebSocketDisconnect:
            pass
        finally:  # a closed page ends its pending request
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task

    async def plain(request: Request):
        return PlainTextResponse("NCALayer emulator: WebSocket only.\n")

    return Starlette(routes=[WebSocketRoute("/", endpoint), Route("/", plain)])


T = {
    "ru": {
        "title": "Эмулятор NCALayer", "waiting": "Запросы на подпись", "none": "Нет запросов. Страница обновляется сама.",
        "origin": "Запрашивает", "what": "Что подписать", "key": "Ключ", "password": "Пароль",
        "sign": "Подписать", "cancel": "Отмена", "wrong_password": "Неверный пароль.",
        "key_refused": "Этот ключ не подходит под запрос.", "gone": "Запрос уже завершён.",
        "unknown_key": "Нет такого ключа.", "filter": "Фильтр ключей", "mode": "Режим",
        "manual": "спрашивать здесь", "auto": "отвечать самому ключом", "cancel_mode": "отменять всё",
        "apply": "Применить", "recent": "Последние запросы", "unfit": "не подходит",
    },
    "kk": {
        "title": "NCALayer эмуляторы", "waiting": "Қол қою сұраулары", "none": "Сұрау жоқ. Бет өзі жаңарады.",
        "origin": "Сұраушы", "what": "Неге қол қою", "key": "Кілт", "password": "Құпиясөз",
        "sign": "Қол қою", "cancel": "Болдырмау", "wrong_password": "Құпиясөз қате.",
        "key_refused": "Бұл кілт сұрауға сәйкес емес.", "gone": "Сұрау аяқталған.",
        "unknown_key": "Мұндай кілт жоқ.", "filter": "Кілт сүзгісі", "mode": "Режим",
        "manual": "осында сұрау", "auto": "кілтпен өзі жауап беру", "cancel_mode": "бәрін болдырмау",
        "apply": "Қолдану", "recent": "Соңғы сұраулар", "unfit": "сәйкес емес",
    },
}
T["en"] = T["ru"]

PAGE_CSS = """body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:1.5rem auto;padding:0 1rem;color:#1d2733}
h1{font-size:1.4rem}section{border:1px solid #c6d0db;border-radius:6px;padding:1rem;margin:1rem 0}
label{display:block;margin:.5rem 0 .2rem;font-weight:600}select,input{font:inherit;padding:.3rem;min-width:22rem}
button{font:inherit;padding:.4rem 1rem;margin:.6rem .5rem 0 0}.err{color:#a30000;font-weight:600}
code{background:#eef2f6;padding:0 .2rem}small{color:#555}table{border-collapse:collapse}td,th{padding:.2rem .5rem;
border-bottom:1px solid #e0e6ec;text-align:left;font-size:13px}"""


def page_app(emulator: Emulator) -> Starlette:
    def render(error: dict | None = None) -> HTMLResponse:
        e = html.escape
        pending = list(emulator.pending.values())
        lang = pending[0].locale if pending else "ru"
        t = T.get(lang, T["ru"])
        parts = [f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'><title>{t['title']}</title>",
                 "" if pending else "<meta http-equiv='refresh' content='2'>",
                 f"<style>{PAGE_CSS}</style></head><body><h1>{t['title']} <small>{e(emulator.version)}</small></h1>"]
        parts.append(f"<h2>{t['waiting']}</h2>")
        if not pending:
            parts.append(f"<p>{t['none']}</p>")
        for p in pending:
            tp = T.get(p.locale, T["ru"])
            options = []
            for k in emulator.store.keys:
                why = k.refusal(p.signer_params, p.key_type)
                label = f"{k.slug} — {k.person} · IIN {k.iin}{' · BIN ' + k.bin if k.bin else ''} · {k.purpose}"
                options.append(f"<option value='{e(k.slug)}'{' disabled' if why else ''}>{e(label)}"
                               f"{' (' + tp['unfit'] + ': ' + e(why) + ')' if why else ''}</option>")
            err = error.get(p.id) if error else None
            parts.append(
                f"<section aria-labelledby='req-{p.id}'><h3 id='req-{p.id}'>#{p.id} {e(p.module)}.{e(p.method)}</h3>"
                f"<p>{tp['origin']}: <code>{e(p.origin or '—')}</code></p>"
                f"<p>{tp['what']}: <code>{e(json.dumps(p.summary, ensure_ascii=False))}</code></p>"
                f"<p>{tp['filter']}: <code>{e(json.dumps(p.signer_params, ensure_ascii=False))}</code>"
                f"{' keyType <code>' + e(p.key_type) + '</code>' if p.key_type else ''}</p>"
                f"<form method='post' action='/requests/{p.id}/sign'>"
                f"<label for='key-{p.id}'>{tp['key']}</label><select id='key-{p.id}' name='key'>{''.join(options)}</select>"
                f"<label for='password-{p.id}'>{tp['password']}</label>"
                f"<input type='password' id='password-{p.id}' name='password' autocomplete='off'>"
                + (f"<p class='err' role='alert'>{tp[err]}</p>" if err else "")
                + f"<div><button type='submit'>{tp['sign']}</button>"
                f"<button type='submit' formaction='/requests/{p.id}/cancel'>{tp['cancel']}</button></div></form></section>")
        modes = "".join(
            f"<option value='{m}'{' selected' if emulator.mode == m else ''}>{t[label]}</option>"
            for m, label in (("manual", "manual"), ("auto", "auto"), ("cancel", "cancel_mode")))
        keys = "".join(f"<option value='{e(k.slug)}'{' selected' if emulator.key == k.slug else ''}>{e(k.slug)}</option>"
                       for k in emulator.store.keys)
        parts.append(
            f"<section><h2>{t['mode']}</h2><form method='post' action='/mode'>"
            f"<label for='mode'>{t['mode']}</label><select id='mode' name='mode'>{modes}</select>"
            f"<label for='mode-key'>{t['key']}</label><select id='mode-key' name='key'>{keys}</select>"
            f"<label for='mode-password'>{t['password']}</label><input type='password' id='mode-password' name='password'>"
            f"<div><button type='submit'>{t['apply']}</button></div></form></section>")
        rows = "".join(f"<tr><td>{e(r['at'][11:19])}</td><td>{e(str(r['origin']))}</td><td>{e(str(r['module']))}."
                       f"{e(str(r['method']))}</td><td>{e(str(r.get('answer', '…')))}</td></tr>"
                       for r in reversed(emulator.recent))
        parts.append(f"<section><h2>{t['recent']}</h2><table>{rows}</table></section></body></html>")
        return HTMLResponse("".join(parts), status_code=400 if error else 200)

    async def index(request: Request):
        return render()

    async def sign(request: Request):
        form = await request.form()
        pid = request.path_params["pid"]
        problem = await emulator.choose(pid, str(form.get("key", "")), str(form.get("password", "")))
        if problem and problem != "gone":
            return render({pid: problem})
        return RedirectResponse("/", status_code=303)

    async def cancel(request: Request):
        emulator.cancel(request.path_params["pid"])
        return RedirectResponse("/", status_code=303)

    async def mode(request: Request):
        form = await request.form()
        try:
            emulator.configure(mode=str(form.get("mode", "manual")), key=str(form.get("key") or "") or None,
                               password=str(form.get("password", "")))
        except (ValueError, KeyError) as exc:
            return PlainTextResponse(str(exc), status_code=400)
        return RedirectResponse("/", status_code=303)

    async def api_state(request: Request):
        return JSONResponse(emulator.state())

    async def api_mode(request: Request):
        try:
            body = await request.json()
            emulator.configure(mode=body.get("mode", "manual"), key=body.get("key"), password=body.get("password"),
                               delay=body.get("delay", 0), version=body.get("version"), legacy=body.get("legacy"))
        except (ValueError, KeyError, AttributeError) as exc:
            return JSONResponse({"ok": False, "error": str(exc)}, status_code=400)
        if body.get("clear"):
            emulator.recent.clear()
        return JSONResponse({"ok": True, **emulator.state()})

    async def api_answer(request: Request):
        """Tests: answer the oldest pending request as the person would ({"key", "password"} or {"cancel": true})."""
        body = await request.json()
        if not emulator.pending:
            return JSONResponse({"ok": False, "error": "nothing pending"}, status_code=409)
        pid = next(iter(emulator.pending))
        if body.get("cancel"):
            emulator.cancel(pid)
            return JSONResponse({"ok": True})
        problem = await emulator.choose(pid, body.get("key", ""), body.get("password", ""))
        return JSONResponse({"ok": not problem, "error": problem}, status_code=400 if problem else 200)

    async def healthz(request: Request):
        return PlainTextResponse("ok")

    return Starlette(routes=[
        Route("/", index), Route("/requests/{pid}/sign", sign, methods=["POST"]),
        Route("/requests/{pid}/cancel", cancel, methods=["POST"]), Route("/mode", mode, methods=["POST"]),
        Route("/api/state", api_state), Route("/api/mode", api_mode, methods=["POST"]),
        Route("/api/answer", api_answer, methods=["POST"]), Route("/healthz", healthz),
    ])


class _Server(uvicorn.Server):
    """Two servers in one loop: the signals are handled once, below, for both."""

    @contextlib.contextmanager
    def capture_signals(self):
        yield


async def serve(emulator: Emulator, *, host: str, port: int, page_host: str, page_port: int,
                certfile: str | None, keyfile: str | None) -> None:
    ws_config = uvicorn.Config(ws_app(emulator), host=host, port=port, ws="websockets-sansio", ws_max_size=MAX_MESSAGE,
                               lifespan="off", log_level="warning", ssl_certfile=certfile, ssl_keyfile=keyfile)
    page_config = uvicorn.Config(page_app(emulator), host=page_host, port=page_port, lifespan="off", log_level="warning")
    servers = [_Server(ws_config), _Server(page_config)]
    loop = asyncio.get_running_loop()

    def stop() -> None:
        for s in servers:
            s.should_exit = True

    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop)
    scheme = "wss" if certfile else "ws"
    log.warning("NCALayer emulator on %s://%s:%s/ (page http://%s:%s/), mode %s", scheme, host, port, page_host,
                page_port, emulator.mode)
    await asyncio.gather(*(s.serve() for s in servers))
