"""Start the emulator as its own process on free ports (tests, benches):

    with running(pki_dir, "--key", "company_head_sign", "--password", "Qwerty12") as emu:
        emu.url        # wss://127.0.0.1:<port>/  (ws:// with "--ws")
        emu.page_url   # http://127.0.0.1:<port>/
        emu.mode(mode="cancel")   # POST /api/mode
        emu.state()               # GET /api/state
"""

import contextlib
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Running:
    url: str
    page_url: str
    port: int
    page_port: int
    process: subprocess.Popen

    def mode(self, **body) -> dict:
        answer = httpx.post(self.page_url + "api/mode", json=body, timeout=10)
        answer.raise_for_status()
        return answer.json()

    def state(self) -> dict:
        return httpx.get(self.page_url + "api/state", timeout=10).json()

    def answer(self, **body) -> dict:
        return httpx.post(self.page_url + "api/answer", json=body, timeout=30).json()


@contextlib.contextmanager
def running(pki_dir: Path, *args: str, cwd: Path | None = None):
    port, page_port = free_port(), free_port()
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "ncalayer_emulator", "--port", str(port), "--page-port", str(page_port),
         "--pki-dir", str(pki_dir), *args], cwd=cwd or Path(__file__).resolve().parents[1])
    scheme = "ws" if "--ws" in args else "wss"
    emu = Running(url=f"{scheme}://127.0.0.1:{port}/", page_url=f"http://127.0.0.1:{page_port}/", port=port,
                  page_port=page_port, process=proc)
    try:
        for _ in range(300):
            if proc.poll() is not None:
                raise RuntimeError(f"ncalayer_emulator exited with {proc.returncode}")
            try:
                if httpx.get(emu.page_url + "healthz", timeout=0.5).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("ncalayer_emulator did not start")
        yield emu
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
