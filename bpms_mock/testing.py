# ruff: noqa: S107, S310 — talks to the local mock over http://127.0.0.1 only
"""Start the BPMS mock as a real process on a free port (the portal's tests, the mock's own and the bench)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOKEN = "dev-bpms-token"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MockProcess:
    def __init__(self, db_path: Path, *, port: int | None = None, autopilot: bool = False, pace: float = 0.3,
                 webhook_url: str = "", webhook_secret: str = "dev-bpms-webhook-secret"):
        self.db_path = Path(db_path)
        self.port = port or free_port()
        self.autopilot = autopilot
        self.pace = pace
        self.webhook_url = webhook_url
        self.webhook_secret = webhook_secret
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> MockProcess:
        args = [sys.executable, "-m", "bpms_mock", "--port", str(self.port), "--db", str(self.db_path),
                "--pace", str(self.pace), "--webhook-url", self.webhook_url, "--webhook-secret", self.webhook_secret,
                "--token", TOKEN, "--fast-pdf", "--log-level", "WARNING",
                "--autopilot" if self.autopilot else "--no-autopilot"]
        self.proc = subprocess.Popen(args, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)})
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=1) as r:
                    if r.status == 200:
                        return self
            except (urllib.error.URLError, OSError):
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("the BPMS mock did not start")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def call(self, method: str, path: str, body: dict | None = None, *, headers: dict | None = None, token: str = TOKEN,
             timeout: float = 10) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(self.url + path, data=data, method=method)
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        req.add_header("Content-Type", "application/json")
        for k, v in (headers or {}).items():
            req.add_header(k, v)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, json.loads(r.read() or b"{}")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    def faults(self, **switches) -> dict:
        return self.call("POST", "/admin/faults", switches)[1]

    def action(self, action: str, *, case_kind: str, external_id: str, **extra) -> tuple[int, dict]:
        return self.call("POST", "/admin/actions", {"action": action, "case_kind": case_kind, "external_id": external_id, **extra})

    def events(self, after: int = 0, limit: int = 1000) -> list[dict]:
        return self.call("GET", f"/api/events?after={after}&limit={limit}")[1]["events"]

    def stats(self) -> dict:
        return self.call("GET", "/admin/stats")[1]
