"""Two gunicorn instances, two Celery workers and one beat as real processes on one PostgreSQL,
Redis and S3-compatible server, for tests/test_scale_out.py (issue #18, «Scale-out»).

Each process gets its own HOMEPORTAL_VAR_DIR (so its own MEDIA_ROOT) and its own
FILE_UPLOAD_TEMP_DIR: a file one instance left on its local disk is not there for the other.
`Balancer` is a round-robin TCP proxy in front of both web instances (a new backend per
connection): it is PORTAL_BASE_URL, so the QR links the eGov phone follows and BPMS's webhook
reach both instances as behind a production load balancer. `Browser` sends each request to the
other instance in turn, with one cookie jar.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate, *, timeout: float = 60.0, interval: float = 0.2, message: str = "condition",
             logs=None):
    """Polls `predicate` until it returns something truthy (returned) or the deadline passes;
    `logs` (a callable) adds the processes' log tails to the failure."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {message}" + (f"\n{logs()}" if logs else ""))
        time.sleep(interval)


# --- processes ------------------------------------------------------------------------------------


@dataclass
class Proc:
    name: str
    popen: subprocess.Popen
    log: Path
    var_dir: Path

    def alive(self) -> bool:
        return self.popen.poll() is None

    def log_text(self) -> str:
        try:
            return self.log.read_text(errors="replace")
        except OSError:
            return ""

    def stop(self) -> None:
        if self.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signal.SIGTERM)
            try:
                self.popen.wait(30)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.popen.pid, signal.SIGKILL)
                self.popen.wait(10)


def log_tails(procs: list[Proc], chars: int = 4000) -> str:
    """The end of each process's log, for a failure message."""
    return "\n".join(f"--- {p.name} ({'running' if p.alive() else 'exited'}) ---\n{p.log_text()[-chars:]}" for p in procs)


def stop_all(procs: list[Proc]) -> None:
    """SIGTERM to every process group at once, then wait (SIGKILL after 30 s)."""
    for proc in procs:
        if proc.alive():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.popen.pid, signal.SIGTERM)
    for proc in procs:
        proc.stop()


def start(name: str, args: list[str], *, env: dict, base: Path) -> Proc:
    var_dir = base / name
    (var_dir / "tmp").mkdir(parents=True, exist_ok=True)
    log = base / f"{name}.log"
    own = {**env, "HOMEPORTAL_VAR_DIR": str(var_dir), "FILE_UPLOAD_TEMP_DIR": str(var_dir / "tmp"),
           "TMPDIR": str(var_dir / "tmp")}
    with open(log, "wb") as out:
        popen = subprocess.Popen(args, cwd=ROOT, env=own, stdout=out, stderr=subprocess.STDOUT,  # noqa: S603
                                 start_new_session=True)
    return Proc(name, popen, log, var_dir)


def gunicorn(name: str, port: int, *, env: dict, base: Path) -> Proc:
    return start(name, [sys.executable, "-m", "gunicorn", "homeportal.wsgi", "--bind", f"127.0.0.1:{port}",
                        # --keep-alive 0: every answer closes its connection, so the round-robin TCP
                        # balancer in front (the mock's webhook keeps one client) picks an instance
                        # per request, not once per kept connection (a fast run sent every webhook
                        # down one connection to one instance).
                        "--workers", "1", "--threads", "4", "--keep-alive", "0", "--timeout", "120", "--graceful-timeout", "5",
                        "--access-logfile", "-", "--log-level", "warning"], env=env, base=base)


def celery_worker(name: str, *, env: dict, base: Path) -> Proc:
    return start(name, [sys.executable, "-m", "celery", "-A", "homeportal", "worker", "--pool=solo",
                        "-n", f"{name}@%h", "--without-gossip", "--without-mingle", "--without-heartbeat",
                        "--loglevel=INFO"], env=env, base=base)


def celery_beat(name: str, *, env: dict, base: Path) -> Proc:
    return start(name, [sys.executable, "-m", "celery", "-A", "homeportal", "beat", "--loglevel=INFO",
                        "-s", str(base / name / "celerybeat-schedule")], env=env, base=base)


def wait_http(url: str, proc: Proc, *, timeout: float = 180.0) -> None:
    def up():
        if not proc.alive():
            raise AssertionError(f"{proc.name} exited:\n{proc.log_text()[-3000:]}")
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(up, timeout=timeout, message=f"{proc.name} to answer {url}")


def wait_worker_ready(proc: Proc, *, timeout: float = 180.0) -> None:
    def ready():
        if not proc.alive():
            raise AssertionError(f"{proc.name} exited:\n{proc.log_text()[-3000:]}")
        return " ready." in proc.log_text()

    wait_for(ready, timeout=timeout, message=f"{proc.name} to be ready")


TASK_RECEIVED = re.compile(r"Task (\S+)\[([0-9a-f-]{36})\] received")
TASK_SUCCEEDED = re.compile(r"Task (\S+)\[([0-9a-f-]{36})\] succeeded")
TASK_FAILED = re.compile(r"Task (\S+)\[([0-9a-f-]{36})\] (?:raised|retry)")


def tasks_in_logs(workers: list[Proc]) -> dict[str, dict[str, list[str]]]:
    """From the workers' INFO logs: {"received"|"succeeded"|"failed": {task id: [worker, …]},
    "names": {task id: [task name]}}."""
    seen: dict[str, dict[str, list[str]]] = {"received": {}, "succeeded": {}, "failed": {}, "names": {}}
    for w in workers:
        text = w.log_text()
        for kind, pattern in (("received", TASK_RECEIVED), ("succeeded", TASK_SUCCEEDED), ("failed", TASK_FAILED)):
            for task_name, task_id in pattern.findall(text):
                seen[kind].setdefault(task_id, []).append(w.name)
                seen["names"][task_id] = [task_name]
    return seen


# --- the load balancer ----------------------------------------------------------------------------


class Balancer:
    """Round-robin TCP proxy: every new connection goes to the next backend."""

    def __init__(self, backends: list[tuple[str, int]]):
        self.backends = backends
        self.port = free_port()
        self.connections = [0] * len(backends)
        self._next = itertools.count()
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", self.port))
        self._sock.listen(64)
        self._stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _addr = self._sock.accept()
            except OSError:
                return
            i = next(self._next) % len(self.backends)
            self.connections[i] += 1
            threading.Thread(target=self._serve, args=(client, self.backends[i]), daemon=True).start()

    def _serve(self, client: socket.socket, backend: tuple[str, int]) -> None:
        try:
            upstream = socket.create_connection(backend, timeout=120)
        except OSError:
            client.close()
            return

        def pump(src, dst):
            try:
                while chunk := src.recv(65536):
                    dst.sendall(chunk)
            except OSError:
                pass
            finally:
                with contextlib.suppress(OSError):
                    dst.shutdown(socket.SHUT_WR)

        t = threading.Thread(target=pump, args=(upstream, client), daemon=True)
        t.start()
        pump(client, upstream)
        t.join(130)
        client.close()
        upstream.close()

    def close(self) -> None:
        self._stopped = True
        self._sock.close()


# --- the browser ----------------------------------------------------------------------------------


@dataclass
class Browser:
    """One user's browser: one cookie jar, each request to the next instance in turn; redirects
    are followed by hand, so every hop goes to the other instance too."""

    bases: list[str]
    logs: object = None  # a callable giving the servers' log tails, shown when an answer is a 5xx
    cookies: httpx.Cookies = field(default_factory=httpx.Cookies)
    served: list[tuple[str, str, str, int]] = field(default_factory=list)  # (base, method, path, status)
    _turn: itertools.count = field(default_factory=itertools.count)

    def __post_init__(self):
        self.client = httpx.Client(cookies=self.cookies, timeout=120, follow_redirects=False)

    def next_base(self) -> str:
        return self.bases[next(self._turn) % len(self.bases)]

    def request(self, method: str, path: str, *, htmx: bool = False, follow: bool = True, headers=None,
                **kw) -> httpx.Response:
        headers = dict(headers or {})
        if method not in ("GET", "HEAD", "OPTIONS") and "csrftoken" in self.client.cookies:
            headers.setdefault("X-CSRFToken", self.client.cookies["csrftoken"])
        if htmx:
            headers["HX-Request"] = "true"
        base = self.next_base()
        response = self.client.request(method, base + path, headers=headers, **kw)
        self.served.append((base, method, path, response.status_code))
        if response.status_code >= 500:
            raise AssertionError(f"{method} {base}{path} answered {response.status_code}\n"
                                 f"{self.logs() if self.logs else response.text[:2000]}")
        if follow and response.status_code in (301, 302, 303) and "location" in response.headers:
            location = response.headers["location"]
            target = "/" + location.split("//", 1)[-1].split("/", 1)[1] if "://" in location else location
            return self.request("GET", target)
        return response

    def get(self, path: str, **kw) -> httpx.Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, **kw) -> httpx.Response:
        return self.request("POST", path, **kw)

    def close(self) -> None:
        self.client.close()
