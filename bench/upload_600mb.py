"""bench/upload_600mb.py — one 600 MB file to an application's document slot, three ways (#16).

Starts the portal under gunicorn as the Dockerfile runs it (sync workers, `--timeout 900`,
DEBUG off, behind a TLS proxy: X-Forwarded-Proto https) — one worker, so its memory is the one
measured — on its own PostgreSQL database, and signs a user of an authorised company in (a
session row). Then, each path on its own:

- `plain`: the form upload (`@upload_limit`), one multipart POST streamed with http.client in
  1 MiB pieces (the client never holds the file);
- `tus`: resumable upload (uploads/) to file storage: create, then PATCH requests of
  TUS_CHUNK_SIZE (what static/js/uploads.js sends; `--chunk-mb` overrides); half-way one PATCH is
  cut after half its bytes, the offset asked with HEAD and the upload resumed from it;
- `s3`: the same tus upload with the portal on S3 (the local S3-compatible server of the tests,
  tests/s3server.py: moto in server mode), i.e. an S3 multipart upload of TUS_S3_PART_SIZE parts.

Measured per path: throughput as a ratio to a plain disk write of the same bytes on the same file
system (1 MiB writes, then fsync: on disk, as each upload path ends with an fsync or S3's
CompleteMultipartUpload), written right before and right after the path — the faster of the two
is the floor, so the ratio is never flattered by a slow moment; beside it the ratio to the
page-cache part of that write alone (before its fsync: a memory copy, 0.4-5 GB/s on this VM); peak RSS growth of the web
worker (VmHWM after − VmRSS before, the peak reset through /proc/<pid>/clear_refs and also sampled
every 20 ms; goal ≤ 64 MB); for tus, the bytes sent again after the cut (goal ≤ one chunk) and the
recorded sha256 against the file's. For S3 also the server's own floor: the same bytes as a raw
boto3 multipart upload (sequential upload_part calls of the same part size) to the same server.
Stored files are deleted after each path.

    .venv/bin/python bench/upload_600mb.py [--mb 600] [--paths plain,tus,s3] [--chunk-mb 16]
"""

import argparse
import base64
import contextlib
import hashlib
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
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench._common import free_port, proc_status, recreate_database, server_pids, start_gunicorn, stop  # noqa: E402

DB_NAME = os.environ.get("BENCH_DB_NAME", "hp_bench_applications")
PG = os.environ.get("BENCH_PG", "postgres://postgres@127.0.0.1:5432")
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/12")
WORK = Path(tempfile.mkdtemp(prefix="hp-bench-upload-"))
CHUNK = 1024 * 1024
MiB = 1024 * 1024

os.environ.update({
    "DATABASE_URL": f"{PG}/{DB_NAME}", "REDIS_URL": REDIS, "HOMEPORTAL_TESTING": "1", "DEBUG": "0",
    "STAGING_ALLOW_DEV_BACKENDS": "1", "SECRET_KEY": "bench-upload-" + "k" * 50,
    "DJANGO_SETTINGS_MODULE": "homeportal.settings", "PYTHONPATH": str(ROOT),
    "HOMEPORTAL_VAR_DIR": str(WORK / "var"), "FILE_UPLOAD_TEMP_DIR": str(WORK / "tmp"),
})

# The file: a PDF header, then "0"s. content(offset, n) hands out views, never copies.
PDF_HEAD = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"
ZEROS = b"0" * (64 * MiB)


def content(offset: int, n: int):
    if offset >= len(PDF_HEAD):
        return memoryview(ZEROS)[:n]
    return memoryview((PDF_HEAD + ZEROS[: n])[offset: offset + n])


def file_pieces(size: int, offset: int = 0, piece: int = CHUNK):
    while offset < size:
        n = min(piece, size - offset)
        yield content(offset, n)
        offset += n


def file_sha256(size: int) -> str:
    digest = hashlib.sha256()
    for piece in file_pieces(size, piece=16 * MiB):
        digest.update(piece)
    return digest.hexdigest()


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
            "tus_url": f"/uploads/tus/application/{app.public_id}/{dt.pk}/",
            "tus_chunk": settings.TUS_CHUNK_SIZE, "part_size": settings.TUS_S3_PART_SIZE}


def _headers(port: int, ctx: dict, csrf: str) -> dict:
    """What the TLS proxy in front of the portal passes on (DEBUG off: Secure cookies, CSRF Referer)."""
    return {"Cookie": f"{ctx['cookie_name']}={ctx['session']}; csrftoken={csrf}", "X-CSRFToken": csrf,
            "X-Forwarded-Proto": "https", "Referer": f"https://127.0.0.1:{port}/"}


def _csrf() -> str:
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(32))


# --- the paths -------------------------------------------------------------------------------------


def plain_upload(port: int, ctx: dict, size: int) -> dict:
    boundary = secrets.token_hex(16)
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"psd-600mb.pdf\"\r\n"
            "Content-Type: application/pdf\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=900)
    conn.putrequest("POST", ctx["url"])
    for k, v in {**_headers(port, ctx, _csrf()), "X-Requested-With": "XMLHttpRequest",
                 "Content-Type": f"multipart/form-data; boundary={boundary}",
                 "Content-Length": str(len(head) + size + len(tail))}.items():
        conn.putheader(k, v)
    conn.endheaders()
    start = time.perf_counter()
    conn.send(head)
    for piece in file_pieces(size):
        conn.send(piece)
    conn.send(tail)
    response = conn.getresponse()
    response.read()
    elapsed = time.perf_counter() - start
    conn.close()
    return {"ok": response.status == 200, "status": response.status, "seconds": elapsed}


def _request(port, method, path, headers, pieces=(), length=0):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=900)
    conn.putrequest(method, path)
    for k, v in {**headers, "Content-Length": str(length)}.items():
        conn.putheader(k, v)
    conn.endheaders()
    for piece in pieces:
        conn.send(piece)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def tus_upload(port: int, ctx: dict, size: int, chunk: int) -> dict:
    """tus 1.0: create, PATCH in `chunk`-byte requests; half-way one PATCH is cut after half its
    bytes, the offset asked with HEAD and the rest resumed from there."""
    headers = {**_headers(port, ctx, _csrf()), "Tus-Resumable": "1.0.0"}
    start = time.perf_counter()
    created = _request(port, "POST", ctx["tus_url"], {
        **headers, "Upload-Length": str(size), "Upload-Metadata": "filename " + base64.b64encode(b"psd-tus.pdf").decode()})
    assert created.status == 201, created.status
    path = urlsplit(created.getheader("Location")).path
    offset, resent, cut_done, status = 0, 0, False, 0
    steps = {"create": time.perf_counter() - start, "patches": []}
    while offset < size:
        n = min(chunk, size - offset)
        step_start = time.perf_counter()
        patch = {**headers, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"}
        if not cut_done and offset >= size // 2:
            cut_done = True
            sock = socket.create_connection(("127.0.0.1", port), timeout=60)
            head = [f"PATCH {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", f"Content-Length: {n}"]
            head += [f"{k}: {v}" for k, v in patch.items()]
            sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
            sent = n // 2
            try:
                for piece in file_pieces(offset + sent, offset):
                    sock.sendall(piece)
            except OSError:
                raise RuntimeError(f"the server stopped reading the cut PATCH: {sock.recv(2000)!r}") from None
            sock.shutdown(socket.SHUT_RDWR)
            sock.close()
            for _ in range(400):  # the server notices the cut, records what arrived, unlocks
                now_at = int(_request(port, "HEAD", path, headers).getheader("Upload-Offset"))
                if now_at >= offset + sent:
                    break
                time.sleep(0.05)
            resent = offset + sent - now_at
            offset = now_at
            steps["cut"] = time.perf_counter() - step_start
            continue
        response = _request(port, "PATCH", path, patch, file_pieces(offset + n, offset), n)
        status = response.status
        assert status == 204, status
        offset = int(response.getheader("Upload-Offset"))
        steps["patches"].append(time.perf_counter() - step_start)
    return {"ok": status == 204, "status": status, "seconds": time.perf_counter() - start, "resent": resent,
            "steps": steps}


def steps_line(result: dict) -> str:
    """Where a tus upload's time went, as the client saw it."""
    steps = result["steps"]
    patches = sorted(steps["patches"][:-1])
    middle = patches[len(patches) // 2] * 1000 if patches else 0
    return (f"time: create {steps['create'] * 1000:.0f} ms, {len(steps['patches'])} PATCHes (median {middle:.0f} ms, "
            f"the last one with the fsync and the claim {steps['patches'][-1] * 1000:.0f} ms), the cut + HEAD "
            f"{steps.get('cut', 0) * 1000:.0f} ms")


def disk_write(size: int) -> tuple[float, float, float]:
    """The floor: the file written in 1 MiB writes and made durable with fsync, as every upload
    path ends (then deleted). Returns (seconds to durable, seconds until the last write returned,
    i.e. into the page cache only, CPU seconds). The page-cache time alone is what a memory copy
    costs on this VM (0.4-5 GB/s from one run to the next), not what the disk takes."""
    path = WORK / "plain-write.bin"
    start, cpu = time.perf_counter(), time.thread_time()
    with open(path, "wb") as fh:
        for piece in file_pieces(size):
            fh.write(piece)
        fh.flush()
        cached = time.perf_counter() - start
        os.fsync(fh.fileno())
    elapsed, cpu = time.perf_counter() - start, time.thread_time() - cpu
    path.unlink()
    return elapsed, cached, cpu


def cpu_seconds(pid: int) -> float:
    """User + system CPU of process `pid`, all its threads."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def boto3_multipart(endpoint: str, bucket: str, size: int, part_size: int) -> float:
    """The S3 server's floor: the same bytes as a raw multipart upload, parts one after another."""
    from tests.s3server import s3_client

    client = s3_client(endpoint)
    key = "floor/raw-multipart.bin"
    start = time.perf_counter()
    upload_id = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    parts, offset, number = [], 0, 1
    buffer = bytearray(part_size)
    while offset < size:
        n = min(part_size, size - offset)
        at = 0
        for piece in file_pieces(offset + n, offset):
            buffer[at: at + len(piece)] = piece
            at += len(piece)
        etag = client.upload_part(Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number,
                                  Body=bytes(memoryview(buffer)[:n]))["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
        offset, number = offset + n, number + 1
    client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts})
    elapsed = time.perf_counter() - start
    client.delete_object(Bucket=bucket, Key=key)
    return elapsed


# --- measuring -----------------------------------------------------------------------------------


def with_memory(pid: int, fn):
    """Run fn(); returns (its result, the peak RSS growth of process `pid` meanwhile, in bytes).
    Also puts the CPU seconds of `pid` and of this thread (the client) into the result."""
    rss_before = proc_status(pid, "VmRSS")
    cpu_before, client_before = cpu_seconds(pid), time.thread_time()
    with contextlib.suppress(OSError):
        Path(f"/proc/{pid}/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    peak = rss_before
    done = threading.Event()

    def sample():
        nonlocal peak
        while not done.is_set():
            peak = max(peak, proc_status(pid, "VmRSS"))
            time.sleep(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        result = fn()
    finally:
        done.set()
        sampler.join()
    result.update(server_cpu=cpu_seconds(pid) - cpu_before, client_cpu=time.thread_time() - client_before)
    return result, max(peak, proc_status(pid, "VmHWM")) - rss_before


def with_floor(size: int, fn, check):
    """fn() between two plain disk writes of `size` bytes; check(result) verifies what fn stored
    and deletes it before the second write, so that both writes and the upload find the page
    cache alike (on this VM a write into pages freed a moment ago runs at ~1.5 GB/s, into fresh
    ones at ~0.1-0.4 GB/s). Returns (result, check's answer, floor seconds, both writes)."""
    before = disk_write(size)
    result = fn()
    verdict = check(result)
    after = disk_write(size)
    result[0]["floor_cpu"] = min(before[2], after[2])
    result[0]["cached_floor"] = min(before[1], after[1])
    return result, verdict, min(before[0], after[0]), (before[0], after[0])


def sha256_pass(size: int) -> float:
    """The SHA-256 of the file alone (uploads/sha256.py, 1 MiB updates): the least CPU time any
    upload that records the sha256 needs, whatever the storage."""
    from uploads.sha256 import ResumableSha256

    digest = ResumableSha256()
    start = time.perf_counter()
    for piece in file_pieces(size):
        digest.update(piece)
    return time.perf_counter() - start


def start_portal(port: int, ctx: dict, env=None):
    """gunicorn, warmed up before anything is measured: a small file through each path (the first
    request of a kind imports its views, opens the DB connection, builds the S3 client)."""
    server = start_gunicorn(ROOT, port, workers=1, timeout=900, env=env)
    assert plain_upload(port, ctx, 64 * 1024)["ok"]
    assert tus_upload(port, ctx, 256 * 1024, 64 * 1024)["ok"]
    return server, server_pids(server)[1]


def cpu_line(result: dict) -> str:
    return (f"CPU: worker {result['server_cpu']:.2f} s + client {result['client_cpu']:.2f} s "
            f"(plain write {result['floor_cpu']:.2f} s)")


def cached_line(result: dict, mb: float) -> str:
    """The same comparison against the page-cache part of the plain write (no fsync)."""
    return (f"ratio to the page-cache write alone {result['cached_floor'] / result['seconds']:.2f} "
            f"({mb / result['cached_floor']:.0f} MB/s)")


def load() -> str:
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=600)
    parser.add_argument("--paths", default="plain,tus,s3", help="comma-separated: plain, tus, s3")
    parser.add_argument("--chunk-mb", type=int, default=0, help="tus PATCH size (default: TUS_CHUNK_SIZE)")
    args = parser.parse_args()
    paths = [p for p in args.paths.split(",") if p]
    size = args.mb * MiB
    mb = size / MiB
    (WORK / "tmp").mkdir(parents=True)
    servers = []
    ok = True
    try:
        recreate_database(PG, DB_NAME)
        ctx = prepare()
        chunk = args.chunk_mb * MiB or ctx["tus_chunk"]
        expected = file_sha256(size)
        hash_s = sha256_pass(size)
        from applications.models import ApplicationFile

        def newest():
            return ApplicationFile.objects.filter(application=ctx["app"]).order_by("-pk").first()

        print(f"{mb:.0f} MB; tus PATCH {chunk // MiB} MiB, S3 part {ctx['part_size'] // MiB} MiB; gunicorn: 1 sync "
              f"worker, DEBUG off; load average at the start {load()} (2 cores shared by several agents); the "
              f"SHA-256 of the file alone: {hash_s:.2f} s = {mb / hash_s:.0f} MB/s")
        if "plain" in paths or "tus" in paths:
            port = free_port()
            server, worker = start_portal(port, ctx)
            servers.append(server)
            media = WORK / "var" / "media"
            if "plain" in paths:
                def check_plain(_result):
                    stored = newest()
                    good = stored is not None and stored.size == size and not list((WORK / "tmp").iterdir())
                    shutil.rmtree(media, ignore_errors=True)
                    return good

                (result, growth), good, floor, both = with_floor(size, lambda: with_memory(
                    worker, lambda: plain_upload(port, ctx, size)), check_plain)
                good = good and result["ok"]
                print(f"plain form upload: {mb / result['seconds']:.0f} MB/s ({result['seconds']:.2f} s); ratio to "
                      f"durable plain write {floor / result['seconds']:.2f} (floor {mb / floor:.0f} MB/s, writes before/after "
                      f"{mb / both[0]:.0f}/{mb / both[1]:.0f} MB/s); worker RSS growth {growth / MiB:.1f} MB; "
                      f"stored {'ok' if good else 'MISSING'}; {cached_line(result, mb)}; {cpu_line(result)}; load {load()}")
                ok = ok and good and growth < 64 * MiB
            if "tus" in paths:
                def check_tus(_result):
                    stored = newest()
                    on_disk = None
                    if stored is not None:
                        with (media / stored.file.name).open("rb") as fh:
                            on_disk = hashlib.file_digest(fh, "sha256").hexdigest()
                    shutil.rmtree(media, ignore_errors=True)
                    return stored is not None and stored.sha256 == expected == on_disk

                (result, growth), good, floor, both = with_floor(size, lambda: with_memory(
                    worker, lambda: tus_upload(port, ctx, size, chunk)), check_tus)
                good = good and result["ok"]
                print(f"tus, file storage: {mb / result['seconds']:.0f} MB/s ({result['seconds']:.2f} s); ratio to "
                      f"durable plain write {floor / result['seconds']:.2f} (goal ≥ 0.7; floor {mb / floor:.0f} MB/s, writes "
                      f"before/after {mb / both[0]:.0f}/{mb / both[1]:.0f} MB/s); worker RSS growth "
                      f"{growth / MiB:.1f} MB (≤ 64); re-sent after the cut {result['resent']} B (≤ {chunk}); "
                      f"sha256 {'ok' if good else 'WRONG'}; {cached_line(result, mb)}; {steps_line(result)}; {cpu_line(result)}; load {load()}")
                ok = ok and good and growth < 64 * MiB and result["resent"] <= chunk
        if "s3" in paths:
            from tests.s3server import ACCESS_KEY, REGION, SECRET_KEY, running, s3_client

            with running() as endpoint:
                bucket = "bench-" + secrets.token_hex(4)
                client = s3_client(endpoint)
                client.create_bucket(Bucket=bucket)
                port = free_port()
                env = {**os.environ, "S3_BUCKET": bucket, "S3_ENDPOINT_URL": endpoint, "S3_ACCESS_KEY": ACCESS_KEY,
                       "S3_SECRET_KEY": SECRET_KEY, "S3_REGION": REGION, "S3_ADDRESSING_STYLE": "path"}
                server, worker = start_portal(port, ctx, env)
                servers.append(server)
                s3_floor = boto3_multipart(endpoint, bucket, size, ctx["part_size"])
                def check_s3(_result):
                    stored = newest()
                    size_in_bucket = stored and client.head_object(Bucket=bucket, Key=stored.file.name)["ContentLength"]
                    files = {f.file.name for f in ApplicationFile.objects.filter(application=ctx["app"])}
                    leftovers = [o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", [])
                                 if o["Key"] not in files]  # tails, the floor's objects
                    good = (stored is not None and stored.sha256 == expected and size_in_bucket == size
                            and not leftovers and not client.list_multipart_uploads(Bucket=bucket).get("Uploads"))
                    with contextlib.suppress(Exception):
                        client.delete_object(Bucket=bucket, Key=stored.file.name)
                    return good

                (result, growth), good, floor, both = with_floor(size, lambda: with_memory(
                    worker, lambda: tus_upload(port, ctx, size, chunk)), check_s3)
                good = good and result["ok"]
                s3_floor = min(s3_floor, boto3_multipart(endpoint, bucket, size, ctx["part_size"]))
                print(f"tus, S3 (moto server, multipart): {mb / result['seconds']:.0f} MB/s ({result['seconds']:.2f} s); "
                      f"ratio to durable plain write {floor / result['seconds']:.2f} (goal ≥ 0.7; floor {mb / floor:.0f} MB/s, "
                      f"writes before/after {mb / both[0]:.0f}/{mb / both[1]:.0f} MB/s); ratio to raw boto3 multipart "
                      f"upload to the same server {s3_floor / result['seconds']:.2f} (that floor {mb / s3_floor:.0f} "
                      f"MB/s); worker RSS growth {growth / MiB:.1f} MB (≤ 64); re-sent after the cut "
                      f"{result['resent']} B (≤ {chunk}); object {'ok' if good else 'WRONG'}; {cached_line(result, mb)}; {steps_line(result)}; {cpu_line(result)}; load {load()}")
                ok = ok and good and growth < 64 * MiB and result["resent"] <= chunk
        print(f"load average at the end: {load()}")
        print("RESULT:", "PASS" if ok else "FAIL")
        return 0 if ok else 1
    finally:
        for server in servers:
            stop(server)
        shutil.rmtree(WORK, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
