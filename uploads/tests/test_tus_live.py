"""Over a real socket (live server): a client that stops after N bytes of a PATCH, then resumes
from the offset the server reports; the finished file's sha256 matches. File system and S3."""

import base64
import hashlib
import http.client
import socket
from urllib.parse import urlsplit

import pytest
from django.conf import settings as dj_settings
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.sessions.backends.db import SessionStore

from applications.models import ApplicationFile
from tests.factories import UserFactory

from .conftest import pdf_bytes

pytestmark = pytest.mark.django_db(transaction=True)
MiB = 1024 * 1024
CSRF = "c" * 32


def _cookie(user) -> str:
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.save()
    return f"{dj_settings.SESSION_COOKIE_NAME}={session.session_key}; csrftoken={CSRF}"


def _request(base, method, path, headers, body=b""):
    conn = http.client.HTTPConnection(base.hostname, base.port, timeout=60)
    conn.request(method, path, body=body, headers=headers)
    response = conn.getresponse()
    response.read()
    conn.close()
    return response


def _cut_patch(base, path, headers, offset, data, stop_after):
    """Announce the whole rest in Content-Length, send `stop_after` bytes, then drop the connection."""
    sock = socket.create_connection((base.hostname, base.port), timeout=60)
    head = [f"PATCH {path} HTTP/1.1", f"Host: {base.netloc}", f"Content-Length: {len(data)}",
            f"Upload-Offset: {offset}", "Content-Type: application/offset+octet-stream"]
    head += [f"{k}: {v}" for k, v in headers.items()]
    sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode())
    sock.sendall(data[:stop_after])
    sock.shutdown(socket.SHUT_RDWR)
    sock.close()


def _offset(base, path, headers, expected_at_least, tries=100):
    import time

    for _ in range(tries):  # the server notices the dropped connection, stores what came, unlocks
        response = _request(base, "HEAD", path, headers)
        offset = int(response.getheader("Upload-Offset"))
        if offset >= expected_at_least:
            return offset
        time.sleep(0.05)
    return offset


def test_a_client_that_stops_mid_patch_resumes_and_the_sha256_matches(backend, live_server, application,
                                                                      document_type, organization):
    user = UserFactory(organization=organization)
    base = urlsplit(live_server.url)
    headers = {"Tus-Resumable": "1.0.0", "Cookie": _cookie(user), "X-CSRFToken": CSRF, "Referer": live_server.url + "/"}
    data = pdf_bytes(12 * MiB + 333)
    created = _request(base, "POST", f"/uploads/tus/application/{application.public_id}/{document_type.pk}/",
                       {**headers, "Upload-Length": str(len(data)),
                        "Upload-Metadata": "filename " + base64.b64encode(b"cut.pdf").decode()})
    assert created.status == 201
    path = urlsplit(created.getheader("Location")).path

    stop = 7 * MiB + 4321  # past one 5 MiB part: a part in S3 plus a tail
    _cut_patch(base, path, headers, 0, data, stop)
    offset = _offset(base, path, headers, stop)
    assert offset == stop  # everything that arrived was kept: nothing to send twice

    resumed = _request(base, "PATCH", path, {**headers, "Upload-Offset": str(offset),
                                             "Content-Type": "application/offset+octet-stream"}, data[offset:])
    assert resumed.status == 204 and resumed.getheader("Upload-Offset") == str(len(data))
    record = ApplicationFile.objects.get(application=application)
    assert record.sha256 == hashlib.sha256(data).hexdigest()


@pytest.fixture(params=["sync", "gthread"])
def gunicorn_url(request, tmp_path, settings):
    """The portal under gunicorn on the test database, file storage in its own var dir: the PATCH
    body is read from gunicorn's socket (uploads/body.py), as in production."""
    import os
    import sys

    from django.db import connection

    from tests.cluster import free_port, start, stop_all, wait_http

    if connection.vendor != "postgresql":
        pytest.skip("gunicorn shares the test database: PostgreSQL only")
    db = connection.settings_dict
    env = {**os.environ, "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
           "REDIS_URL": settings.REDIS_URL, "HOMEPORTAL_TESTING": "1", "DEBUG": "True"}
    env.pop("TEST_DATABASE_NAME", None)
    port = free_port()
    threads = ["--threads", "4"] if request.param == "gthread" else []
    proc = start(f"web-{request.param}", [sys.executable, "-m", "gunicorn", "homeportal.wsgi", "--bind",
                                          f"127.0.0.1:{port}", "--workers", "1", *threads, "--timeout", "120",
                                          "--log-level", "warning"], env=env, base=tmp_path)
    try:
        wait_http(f"http://127.0.0.1:{port}/livez", proc)
        yield f"http://127.0.0.1:{port}", proc.var_dir / "media"
    finally:
        stop_all([proc])


def test_under_gunicorn_a_cut_patch_resumes_and_the_file_is_whole(gunicorn_url, application, document_type,
                                                                  organization):
    url, media = gunicorn_url
    user = UserFactory(organization=organization)
    base = urlsplit(url)
    headers = {"Tus-Resumable": "1.0.0", "Cookie": _cookie(user), "X-CSRFToken": CSRF, "Referer": url + "/"}
    data = pdf_bytes(6 * MiB + 777)
    created = _request(base, "POST", f"/uploads/tus/application/{application.public_id}/{document_type.pk}/",
                       {**headers, "Upload-Length": str(len(data)),
                        "Upload-Metadata": "filename " + base64.b64encode(b"cut.pdf").decode()})
    assert created.status == 201
    path = urlsplit(created.getheader("Location")).path
    first = _request(base, "PATCH", path, {**headers, "Upload-Offset": "0",
                                           "Content-Type": "application/offset+octet-stream"}, data[:MiB])
    assert first.status == 204 and first.getheader("Upload-Offset") == str(MiB)
    stop = 4 * MiB + 4321
    _cut_patch(base, path, headers, MiB, data[MiB:], stop - MiB)
    offset = _offset(base, path, headers, stop)
    assert offset == stop  # everything that arrived was kept
    checksum = "sha256 " + base64.b64encode(hashlib.sha256(data[offset:]).digest()).decode()
    resumed = _request(base, "PATCH", path, {**headers, "Upload-Offset": str(offset), "Upload-Checksum": checksum,
                                             "Content-Type": "application/offset+octet-stream"}, data[offset:])
    assert resumed.status == 204 and resumed.getheader("Upload-Offset") == str(len(data))
    record = ApplicationFile.objects.get(application=application)
    assert record.sha256 == hashlib.sha256(data).hexdigest()
    assert hashlib.sha256((media / record.file.name).read_bytes()).hexdigest() == record.sha256
