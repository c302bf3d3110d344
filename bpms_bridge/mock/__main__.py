"""Run the BPMS Simbase mock: `python -m bpms_bridge.mock --port 8090 [--host 0.0.0.0]`.

Options default from the environment (BPMS_API_TOKEN, BPMS_WEBHOOK_SECRET, BPMS_WEBHOOK_URL,
BPMS_MOCK_DB, BPMS_MOCK_AUTOPILOT, BPMS_MOCK_PACE, HOMEPORTAL_VAR_DIR, WEB_PORT). See docs/bpms-api.md.
"""

import argparse
import logging
import os
import signal
import sys
from pathlib import Path

from .server import make_server
from .service import MockService
from .store import Store


def default_db() -> str:
    var = os.environ.get("HOMEPORTAL_VAR_DIR") or str(Path(__file__).resolve().parents[2] / "var")
    return os.environ.get("BPMS_MOCK_DB") or str(Path(var) / "bpms-mock" / "mock.sqlite3")


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    return default if raw is None else raw.strip().lower() in {"1", "true", "yes", "on"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bpms_bridge.mock", description="BPMS Simbase mock")
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
    args = parser.parse_args(argv)

    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s")
    service = MockService(
        Store(args.db), token=args.token, webhook_url=args.webhook_url, webhook_secret=args.webhook_secret,
        autopilot=args.autopilot, pace=args.pace, fast_pdf=args.fast_pdf,
    )
    server = make_server(service, args.host, args.port)
    service.start_background()
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    logging.getLogger("bpms_mock").info(
        "BPMS Simbase mock on http://%s:%s/ (db %s, autopilot %s, pace %ss, webhook %s)",
        args.host, server.server_address[1], args.db, "on" if args.autopilot else "off", args.pace, args.webhook_url or "off",
    )
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        service.stop()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
