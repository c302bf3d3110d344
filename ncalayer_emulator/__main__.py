"""python -m ncalayer_emulator [--ws] [--port 13579] [--page-port 13580] [--pki-dir var/pki]
                               [--key company_head_sign --password Qwerty12 | --cancel]

Without --key/--cancel every sign request waits for the person on the page (http://127.0.0.1:13580/).
Options default from the environment (NCALAYER_PORT, NCALAYER_PAGE_PORT, PKI_DIR, HOMEPORTAL_VAR_DIR).
"""

import argparse
import asyncio
import logging
import os
from pathlib import Path

from .app import serve
from .keys import KeyStore
from .protocol import Emulator
from .tls import ensure_server_cert, spki_sha256_b64


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m ncalayer_emulator", description="NCALayer emulator (dev/test)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("NCALAYER_PORT", "13579")))
    parser.add_argument("--page-host", default=None, help="the page's address (default: --host)")
    parser.add_argument("--page-port", type=int, default=int(os.environ.get("NCALAYER_PAGE_PORT", "13580")))
    parser.add_argument("--pki-dir", default=os.environ.get("PKI_DIR") or str(
        Path(os.environ.get("HOMEPORTAL_VAR_DIR", "var")) / "pki"))
    parser.add_argument("--ws", action="store_true", help="plain ws:// instead of wss:// (development)")
    parser.add_argument("--key", help="answer every request by itself with this demo key (slug, e.g. company_head_sign)")
    parser.add_argument("--password", default="", help="the password typed for --key (a wrong one fails like NCALayer)")
    parser.add_argument("--cancel", action="store_true", help="answer every request as if the user pressed «Отмена»")
    parser.add_argument("--delay", type=float, default=0.0, help="seconds before an automatic answer")
    parser.add_argument("--version", dest="nca_version", default="1.4", help="the version NCALayer reports on connect")
    parser.add_argument("--legacy", action="store_true",
                        help="an NCALayer without the kz.gov.pki.knca.basics module (only commonUtils answers)")
    parser.add_argument("--print-spki", action="store_true", help="print the TLS key's SPKI hash (for Chromium) and exit")
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    pki_dir = Path(args.pki_dir)
    certfile = keyfile = None
    if not args.ws or args.print_spki:
        cert, key = ensure_server_cert(pki_dir)
        certfile, keyfile = str(cert), str(key)
        if args.print_spki:
            print(spki_sha256_b64(cert))
            return
    mode = "cancel" if args.cancel else "auto" if args.key else "manual"
    emulator = Emulator(KeyStore(pki_dir), mode=mode, key=args.key, password=args.password,
                        version=args.nca_version, legacy=args.legacy, delay=args.delay)
    asyncio.run(serve(emulator, host=args.host, port=args.port, page_host=args.page_host or args.host,
                      page_port=args.page_port, certfile=certfile, keyfile=keyfile))


if __name__ == "__main__":
    main()
