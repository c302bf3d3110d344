"""bench/upload_600mb.py — one 600 MB file through the application upload view.

Starts the portal under gunicorn (1 sync worker) on its own PostgreSQL database, signs a user of
an authorised company in (a session row), and streams a 600 MB multipart body to
/applications/<id>/documents/<type>/upload/ with http.client in 1 MiB chunks (the
client never holds the file either). Measured:

- the worker's peak memory growth while it receives, content-checks and stores the file
  (VmHWM after the upload − VmRSS before it; the peak is reset through /proc/<pid>/clear_refs
  and also sampled every 20 ms) — must stay below 64 MB;
- the upload's throughput as a ratio to a plain disk write of the same 600 MB in 1 MiB chunks
  on the same file system (the server writes twice: the temporary file, then storage).

    .venv/bin/python bench/upload_600mb.py [--mb 600]
"""

import argparse
import contextlib
import http.client
import os
import secrets
import shutil
import socket
import string
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench._common import free_port, proc_status, recreate_database, server_pids, start_gunicorn, stop  # noqa: E402

DB_NAME = os.environ.get("BENCH_DB_NAME", "hp_bench_applications")
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
WORK = Path(tempfile.mkdtemp(prefix="hp-bench-upload-"))
CHUNK = 1024 * 1024

os.environ.update({
    "DATABASE_URL": f"{PG}/{DB_NAME}", "REDIS_URL": REDIS, "HOMEPORTAL_TESTING": "1", "DEBUG": "1",
    "DJANGO_SETTINGS_MODULE": "homeportal.settings", "PYTHONPATH": str(ROOT),
    "HOMEPORTAL_VAR_DIR": str(WORK / "var"), "FILE_UPLOAD_TEMP_DIR": str(WORK / "tmp"),
})








def prepare() -> dict:
    """Migrate, then an organization, a user with a session, an application and a document type."""
    subprocess.run([sys.executable, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, check=True)
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from applications.models import Application, DocumentType
    from cabinets.models import Organization, User

    org = Organization.objects.create(bin="160340003066", name_ru="ТОО «Бенч»")
    user = User.objects.create_user("bench-user", None, organization=org, iin="850101300015")
    app = Application.objects.create(organization=org, project_name="Бенч 600 МБ")
    dt = DocumentType.objects.create(stage=3, name_ru="ПСД", name_kk="ЖСҚ")
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return {"session": session.session_key, "cookie_name": settings.SESSION_COOKIE_NAME,
            "url": f"/applications/{app.public_id}/documents/{dt.pk}/upload/", "app": app,
            "tus_url": f"/uploads/tus/application/{app.public_id}/{dt.pk}/"}




def body_parts(size: int, boundary: str) -> tuple[bytes, bytes]:
    head = (
        f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"psd-600mb.pdf\"\r\n"
        "Content-Type: application/pdf\r\n\r\n"
    ).encode()
    return head, f"\r\n--{boundary}--\r\n".encode()


def file_chunks(size: int):
    first = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
    block = first + b"0" * (CHUNK - len(first))
    sent = 0
    while sent < size:
        n = min(CHUNK, size - sent)
        yield block[:n] if sent == 0 else memoryview(ZEROS)[:n]
        sent += n


ZEROS = b"0" * CHUNK


def upload(port: int, ctx: dict, size: int) -> tuple[int, float]:
    boundary = secrets.token_hex(16)
    head, tail = body_parts(size, boundary)
    csrf = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=900)
    conn.putrequest("POST", ctx["url"])
    conn.putheader("Content-Type", f"multipart/form-data; boundary={boundary}")
    conn.putheader("Content-Length", str(len(head) + size + len(tail)))
    conn.putheader("Cookie", f"{ctx['cookie_name']}={ctx['session']}; csrftoken={csrf}")
    conn.putheader("X-CSRFToken", csrf)
    conn.putheader("X-Requested-With", "XMLHttpRequest")
    conn.endheaders()
    start = time.perf_counter()
    conn.send(head)
    for chunk in file_chunks(size):
        conn.send(chunk)
    conn.send(tail)
    response = conn.getresponse()
    response.read()
    elapsed = time.perf_counter() - start
    conn.close()
    return response.status, elapsed


TUS_CHUNK = 8 * CHUNK  # per PATCH, as static/js/uploads.js sends


def _tus_headers(port: int, ctx: dict, csrf: str) -> dict:
    return {"Tus-Resumable": "1.0.0", "Cookie": f"{ctx['cookie_name']}={ctx['session']}; csrftoken={csrf}",
            "X-CSRFToken": csrf, "Referer": f"http://127.0.0.1:{port}/"}


def _tus_request(port, method, path, headers, body=None, length=None):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=900)
    conn.putrequest(method, path)
    for k, v in headers.items():
        conn.putheader(k, v)
    conn.putheader("Content-Length", str(length or 0))
    conn.endheaders()
    for piece in body or ():
        conn.send(piece)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def tus_upload(port: int, ctx: dict, size: int) -> tuple[int, float, int]:
    """tus 1.0: create, PATCH in 8 MiB requests; half-way one PATCH is cut after half its bytes,
    the offset asked with HEAD and the rest resumed from there. Returns (final status, seconds,
    bytes that had to be sent again after the cut)."""
    import base64
    from urllib.parse import urlsplit

    csrf = "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))
    headers = _tus_headers(port, ctx, csrf)
    start = time.perf_counter()
    created = _tus_request(port, "POST", ctx["tus_url"], {
        **headers, "Upload-Length": str(size), "Upload-Metadata": "filename " + base64.b64encode(b"psd-tus.pdf").decode()})
    assert created.status == 201, created.status
    path = urlsplit(created.getheader("Location")).path
    data = file_chunks(size)
    pending = bytearray()
    offset, resent, cut_done, status = 0, 0, False, 0
    while offset < size:
        n = min(TUS_CHUNK, size - offset)
        while len(pending) < n:
            pending += next(data)
        body = bytes(pending[:n])
        del pending[:n]
        patch = {**headers, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"}
        if not cut_done and offset >= size // 2:
            cut_done = True
            sock = socket.create_connection(("127.0.0.1", port), timeout=60)
            head = [f"PATCH {path} HTTP/1.1", "Host: 127.0.0.1", f"Content-Length: {n}"]
            head += [f"{k}: {v}" for k, v in patch.items()]
            sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
            sent = n // 2
            sock.sendall(body[:sent])
            sock.shutdown(socket.SHUT_RDWR)
            sock.close()
            for _ in range(200):
                now_at = int(_tus_request(port, "HEAD", path, headers).getheader("Upload-Offset"))
                if now_at >= offset + sent:
                    break
                time.sleep(0.05)
            resent = offset + sent - now_at
            pending[:0] = body[now_at - offset:]
            offset = now_at
            continue
        response = _tus_request(port, "PATCH", path, patch, [body], n)
        status = response.status
        assert status == 204, status
        offset = int(response.getheader("Upload-Offset"))
    return status, time.perf_counter() - start, resent


def disk_write(size: int) -> float:
    path = WORK / "plain-write.bin"
    start = time.perf_counter()
    with open(path, "wb") as fh:
        for chunk in file_chunks(size):
            fh.write(chunk)
    elapsed = time.perf_counter() - start
    path.unlink()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=600)
    args = parser.parse_args()
    size = args.mb * 1024 * 1024
    (WORK / "tmp").mkdir(parents=True)
    server = None
    try:
        recreate_database(PG, DB_NAME)
        ctx = prepare()
        port = free_port()
        server = start_gunicorn(ROOT, port, workers=1, timeout=900)
        worker = server_pids(server)[1]
        # Warm the worker up (imports, templates, DB connection) before measuring.
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        conn.request("GET", "/applications/guarantee/", headers={"Cookie": f"{ctx['cookie_name']}={ctx['session']}"})
        conn.getresponse().read()
        conn.close()
        rss_before = proc_status(worker, "VmRSS")
        with contextlib.suppress(OSError):
            Path(f"/proc/{worker}/clear_refs").write_text("5")  # reset VmHWM to the current RSS
        peak_sampled = rss_before
        done = threading.Event()

        def sample():
            nonlocal peak_sampled
            while not done.is_set():
                peak_sampled = max(peak_sampled, proc_status(worker, "VmRSS"))
                time.sleep(0.02)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        status, upload_s = upload(port, ctx, size)
        done.set()
        sampler.join()
        hwm = proc_status(worker, "VmHWM")
        peak = max(hwm, peak_sampled)
        growth = peak - rss_before

        from applications.models import ApplicationFile

        stored = ApplicationFile.objects.filter(application=ctx["app"]).first()
        leftovers = list((WORK / "tmp").iterdir())
        disk_s = disk_write(size)
        mb = size / (1024 * 1024)
        print(f"upload status: {status}; stored: {stored.size if stored else 0} bytes "
              f"({'ok' if stored and stored.size == size else 'MISSING'}); temp files left: {len(leftovers)}")
        print(f"worker RSS before: {rss_before / 2**20:.1f} MB; peak: {peak / 2**20:.1f} MB; "
              f"growth: {growth / 2**20:.1f} MB (limit 64 MB)")
        print(f"upload: {mb:.0f} MB in {upload_s:.2f} s = {mb / upload_s:.0f} MB/s")
        print(f"plain disk write: {mb:.0f} MB in {disk_s:.2f} s = {mb / disk_s:.0f} MB/s")
        print(f"throughput ratio (upload / plain write): {disk_s / upload_s:.2f}")
        ok = status == 200 and stored is not None and stored.size == size and growth < 64 * 2**20 and not leftovers

        # The resumable path (tus, uploads/): the same file to the same slot, file storage.
        rss_before = proc_status(worker, "VmRSS")
        with contextlib.suppress(OSError):
            Path(f"/proc/{worker}/clear_refs").write_text("5")
        done.clear()
        peak_sampled = rss_before
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        tus_status, tus_s, resent = tus_upload(port, ctx, size)
        done.set()
        sampler.join()
        tus_growth = max(proc_status(worker, "VmHWM"), peak_sampled) - rss_before
        tus_stored = ApplicationFile.objects.filter(application=ctx["app"]).count() == 2
        print(f"tus upload (8 MiB PATCHes, one cut half-way and resumed): {mb:.0f} MB in {tus_s:.2f} s = "
              f"{mb / tus_s:.0f} MB/s; ratio to plain write {disk_s / tus_s:.2f} (goal ≥ 0.7); worker RSS growth "
              f"{tus_growth / 2**20:.1f} MB (limit 64 MB); bytes sent again after the cut: {resent} "
              f"(≤ one chunk {TUS_CHUNK}); stored: {'ok' if tus_stored else 'MISSING'}")
        ok = ok and tus_status == 204 and tus_stored and tus_growth < 64 * 2**20 and resent <= TUS_CHUNK
        print(f"load average: {os.getloadavg()[0]:.1f} (2 cores shared by several agents)")
        print("RESULT:", "PASS" if ok else "FAIL")
        return 0 if ok else 1
    finally:
        if server is not None:
            stop(server)
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
