"""Run the BPMS Simbase mock: `python -m bpms_mock --port 8090 [--host 0.0.0.0]`;
`python -m bpms_mock --openapi` prints the OpenAPI document (docs/bpms-openapi.json).

Options default from the environment (BPMS_API_TOKEN, BPMS_WEBHOOK_SECRET, BPMS_WEBHOOK_URL,
BPMS_MOCK_DB, BPMS_MOCK_AUTOPILOT, BPMS_MOCK_PACE, HOMEPORTAL_VAR_DIR, WEB_PORT): a stand-in
process, so it reads them here, at its entry point. See docs/bpms-api.md.
"""

import argparse
import json
import logging
import os
import sys
from pathlib import Path


def default_db() -> str:
    var = os.environ.get("HOMEPORTAL_VAR_DIR") or str(Path(__file__).resolve().parents[1] / "var")
    return os.environ.get("BPMS_MOCK_DB") or str(Path(var) / "bpms-mock" / "mock.sqlite3")


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    return default if raw is None else raw.strip().lower() in {"1", "true", "yes", "on"}


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bpms_mock", description="BPMS Simbase mock")
    parser.add_argument("--host", default=os.environ.get("BPMS_MOCK_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("BPMS_PORT", "8090")))
    parser.add_argument("--db", default=default_db(), help="SQLite file of the mock (':memory:' for none)")
    parser.add_argument("--autopilot", action=argparse.BooleanOptionalAction, default=env_bool("BPMS_MOCK_AUTOPILOT", True),
                        help="advance cases along the scripted route by themselves (default: on)")
    parser.add_argument("--pace", type=float, default=float(os.environ.get("BPMS_MOCK_PACE", "25")),
                        help="seconds between autopilot steps of one case (default 25)")
    web_port = os.environ.get("WEB_PORT", "8000")
    parser.add_argument("--webhook-url", default=os.environ.get("BPMS_WEBHOOK_URL", f"http://127.0.0.1:{web_port}/bpms/webhook/"),
                        help="portal webhook ('' to disable; the portal also pulls the feed)")
    parser.add_argument("--webhook-secret", default=os.environ.get("BPMS_WEBHOOK_SECRET", "dev-bpms-webhook-secret"))
    parser.add_argument("--token", default=os.environ.get("BPMS_API_TOKEN", "dev-bpms-token"))
    parser.add_argument("--fast-pdf", action="store_true", help="minimal PDFs instead of WeasyPrint (tests)")
    parser.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "INFO"))
    parser.add_argument("--openapi", action="store_true", help="print the OpenAPI document and exit")
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    from .app import create_app, openapi_document, with_faults

    if args.openapi:
        print(json.dumps(openapi_document(), ensure_ascii=False, indent=2))
        return 0
    import uvicorn

    from .service import MockService
    from .store import Store

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    service = MockService(
        Store(args.db), token=args.token, webhook_url=args.webhook_url, webhook_secret=args.webhook_secret,
        autopilot=args.autopilot, pace=args.pace, fast_pdf=args.fast_pdf,
    )
    service.start_background()
    logging.getLogger("bpms_mock").info(
        "BPMS Simbase mock on http://%s:%s/ (db %s, autopilot %s, pace %ss, webhook %s)",
        args.host, args.port, args.db, "on" if args.autopilot else "off", args.pace, args.webhook_url or "off",
    )
    try:
        uvicorn.run(with_faults(create_app(service), service), host=args.host, port=args.port,
                    log_level=args.log_level.lower(), access_log=False, proxy_headers=False, http="h11",
                    timeout_graceful_shutdown=2)
    finally:
        service.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
