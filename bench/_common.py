"""What the bench scripts share: a free port, a fresh PostgreSQL database, /proc readings and
gunicorn started/stopped in its own process group. Not a bench itself (`make bench` skips `_*.py`)."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def recreate_database(pg: str, name: str) -> None:
    """DROP (forcing out leftover sessions) and CREATE `name` on the server at `pg`."""
    import psycopg

    with psycopg.connect(f"{pg}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def proc_status(pid: int, key: str = "VmRSS") -> int:
    """A /proc/<pid>/status value in bytes (VmRSS, VmHWM); 0 when the process is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    return 0


def start_gunicorn(root: Path, port: int, *, workers: int, timeout: int, stderr=None, env=None,
                   app: str = "homeportal.wsgi:application") -> subprocess.Popen:
    """gunicorn serving `app` (homeportal.wsgi) on 127.0.0.1:`port` (sync workers, as the Dockerfile
    runs it), returned once it accepts connections. `env`: the process environment (default: ours)."""
    server = subprocess.Popen(
        [str(root / ".venv/bin/gunicorn"), app, "--workers", str(workers),
         "--bind", f"127.0.0.1:{port}", "--timeout", str(timeout), "--log-level", "warning"],
        cwd=root, start_new_session=True, stderr=stderr, env=env,
    )
    for _ in range(300):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return server
        except OSError:
            time.sleep(0.1)
    stop(server)
    raise RuntimeError("gunicorn did not start")


def server_pids(server: subprocess.Popen) -> list[int]:
    """The master's pid, then its workers'."""
    children = Path(f"/proc/{server.pid}/task/{server.pid}/children").read_text().split()
    return [server.pid, *map(int, children)]


def stop(server: subprocess.Popen) -> None:
    os.killpg(server.pid, signal.SIGTERM)
    server.wait(timeout=30)


def run_as_pytest(script: str, *, database: str, env: dict[str, str]) -> int:
    """Runs a bench written as a pytest module (browser or Django fixtures) on its own test database."""
    root = Path(script).resolve().parent.parent
    env = {**os.environ, **env}
    env.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/homeportal")
    env.setdefault("TEST_DATABASE_NAME", database)
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/13")
    env.setdefault("TEST_REDIS_URL", env["REDIS_URL"])
    env.update({"HOMEPORTAL_TESTING": "1", "DEBUG": "True", "DJANGO_ALLOW_ASYNC_UNSAFE": "true"})
    return subprocess.call([sys.executable, "-m", "pytest", script, "-q", "-s", "-p", "no:cacheprovider",  # noqa: S603
                            "--timeout=1800", "-o", f"python_files={Path(script).name}", "--no-header",
                            "-W", "ignore::DeprecationWarning"], cwd=root, env=env)


PDF_SIZE = 2 * 1024 * 1024


def big_pdf(pdf: bytes, size: int = PDF_SIZE) -> bytes:
    """The portal's demo PDF grown to `size` with an incompressible stream the catalog refers to."""
    import io

    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    ref = writer.add_object(generic.StreamObject(stream_data=os.urandom(max(0, size - len(pdf) - 2048))))
    writer.root["/HomeportalBenchPayload"] = ref
    writer.update_root()
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def render_big_pdfs(monkeypatch, services) -> dict:
    """signing.services renders every document as one 2 MB PDF (made once), as a large upload would
    be. Returns the holder: {"pdf": the bytes} once the first document was rendered."""
    original_render = services.pdf_render
    holder = {}

    def render_big(**kw):
        if "pdf" not in holder:
            holder["pdf"] = big_pdf(original_render(**kw))
        return holder["pdf"]

    monkeypatch.setattr(services, "pdf_render", render_big)
    return holder
