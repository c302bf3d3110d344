"""python -m nca_services --host 127.0.0.1 --port 8092 --pki-dir var/pki"""

import argparse
import os
from pathlib import Path

import uvicorn

from .app import create_app


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="nca_services", description="Test NCA: RFC 3161 TSA, RFC 6960 OCSP, CRLs")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=int(os.environ.get("NCA_PORT", "8092")))
    parser.add_argument("--pki-dir", default=os.environ.get("PKI_DIR") or str(
        Path(os.environ.get("HOMEPORTAL_VAR_DIR", "var")) / "pki"))
    parser.add_argument("--crl-interval", type=float, default=3600.0, help="seconds between CRL freshness checks")
    args = parser.parse_args(argv)
    uvicorn.run(create_app(Path(args.pki_dir), crl_interval=args.crl_interval), host=args.host, port=args.port,
                log_level="warning")


if __name__ == "__main__":
    main()
