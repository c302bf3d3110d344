"""The HTTP face of the NCA stand-in (Starlette)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import ocsp, tsa
from .authority import CA_NAMES, Authority

logger = logging.getLogger("nca_services")
MAX_BODY = 64 * 1024  # OCSP and TSA requests are a few hundred bytes


async def _body(request: Request) -> bytes | None:
    length = request.headers.get("content-length")
    if length and (not length.isdigit() or int(length) > MAX_BODY):
        return None
    data = b""
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_BODY:
            return None
    return data


def create_app(pki_dir: Path, *, crl_interval: float = 3600.0) -> Starlette:
    authority = Authority(pki_dir)

    async def tsp_endpoint(request: Request) -> Response:
        body = await _body(request)
        if body is None:
            return Response(status_code=413)
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/timestamp-query":
            return Response("expected application/timestamp-query", status_code=415)
        return Response(tsa.respond(authority, body), media_type="application/timestamp-reply")

    async def ocsp_post(request: Request) -> Response:
        body = await _body(request)
        if body is None:
            return Response(status_code=413)
        return Response(ocsp.respond(authority, body), media_type="application/ocsp-response")

    async def ocsp_get(request: Request) -> Response:  # RFC 6960 A.1: base64 of the DER, URL-encoded
        try:
            body = base64.b64decode(request.path_params["encoded"], validate=False)
        except ValueError:
            body = b""
        return Response(ocsp.respond(authority, body), media_type="application/ocsp-response")

    async def crl(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in CA_NAMES:
            return Response(status_code=404)
        authority.refresh_crls()
        return Response(authority.crl_path(name).read_bytes(), media_type="application/pkix-crl")

    async def cert(request: Request) -> Response:
        name = request.path_params["name"]
        if name not in (*CA_NAMES, "tsa", "ocsp"):
            return Response(status_code=404)
        return Response((authority.base / f"{name}.pem").read_bytes(), media_type="application/x-pem-file")

    async def healthz(request: Request) -> Response:
        authority.material()
        return JSONResponse({"status": "ok"})

    async def refresher():
        while True:
            with contextlib.suppress(Exception):
                renewed = await asyncio.to_thread(authority.refresh_crls)
                if renewed:
                    logger.info("CRLs re-issued: %s", ", ".join(renewed))
            await asyncio.sleep(crl_interval)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        task = asyncio.create_task(refresher())
        try:
            yield
        finally:
            task.cancel()

    return Starlette(routes=[
        Route("/tsp", tsp_endpoint, methods=["POST"]),
        Route("/ocsp", ocsp_post, methods=["POST"]),
        Route("/ocsp/{encoded:path}", ocsp_get, methods=["GET"]),
        Route("/crl/{name}.crl", crl, methods=["GET"]),
        Route("/certs/{name}.pem", cert, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
    ], lifespan=lifespan)
