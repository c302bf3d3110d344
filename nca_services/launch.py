"""Start the stand-in as its own process on a free port (tests, benches): `with running(pki_dir) as url:`."""

import contextlib
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx


@contextlib.contextmanager
def running(pki_dir: Path, *, cwd: Path | None = None):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "nca_services", "--port", str(port), "--pki-dir", str(pki_dir)],  # noqa: S603
                            cwd=cwd)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                if httpx.get(url + "/healthz", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
