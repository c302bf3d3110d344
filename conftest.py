"""Fixtures shared by every test: factories, a signed-in client, and headless Chromium."""

import os

import pytest

CHROMIUM_PATH = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic",
    "--no-first-run", "--disable-component-update", "--disable-sync",
]


@pytest.fixture(scope="session", autouse=True)
def _test_pki():
    """The test national PKI (signing.pki) under the test var dir: generated once, reused across runs."""
    from signing.pki import ensure_pki

    return ensure_pki()


@pytest.fixture(scope="session", autouse=True)
def nca_services(_test_pki):
    """The NCA stand-in (TSA, OCSP, CRLs: the `nca_services` process) on a free port for the whole
    run; the portal's trust settings point at it. Yields its base URL."""
    from django.conf import settings as dj_settings

    from nca_services.launch import running

    with running(_test_pki) as url:
        dj_settings.SIGNING_TSA_URL = url + "/tsp"
        dj_settings.SIGNING_OCSP_URL = url + "/ocsp"
        dj_settings.SIGNING_CRL_BASE_URL = url + "/crl"
        yield url


def _point_ncalayer_at(dj_settings, url: str) -> None:
    from homeportal.settings import content_security_policy

    dj_settings.NCALAYER_URL = url
    dj_settings.CONTENT_SECURITY_POLICY = content_security_policy(url)


@pytest.fixture(scope="session", autouse=True)
def _no_ncalayer():
    """By default the pages find no NCALayer: NCALAYER_URL points at a port held closed for the run
    (bound, never listening: connection refused), whatever runs on 13579 on this machine."""
    import socket

    from django.conf import settings as dj_settings

    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    _point_ncalayer_at(dj_settings, f"ws://127.0.0.1:{closed.getsockname()[1]}/")
    yield dj_settings.NCALAYER_URL
    closed.close()


@pytest.fixture(scope="session")
def ncalayer_emulator(_test_pki):
    """The NCALayer emulator (`python -m ncalayer_emulator`, wss:// with the test PKI's server
    certificate, which the test browser trusts) on free ports for the run, asking its page; tests
    set its mode through `ncalayer`."""
    from ncalayer_emulator.launch import running

    with running(_test_pki) as emu:
        yield emu


@pytest.fixture
def ncalayer(settings, ncalayer_emulator):
    """The portal's pages talk to the emulator (NCALAYER_URL and the CSP); yields the emulator
    (`.mode(mode="auto", key=..., password=...)`, `.state()`, `.answer(...)`), manual again after."""
    _point_ncalayer_at(settings, ncalayer_emulator.url)
    ncalayer_emulator.mode(mode="manual", clear=True)
    yield ncalayer_emulator
    ncalayer_emulator.mode(mode="manual")


@pytest.fixture(autouse=True)
def _isolated_media(settings, tmp_path):
    """Every test writes files under its own tmp dir, so none are left in var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path / "media"}},
    }


@pytest.fixture(scope="session")
def s3_server():
    """A real S3-compatible server (moto in server mode, its own process on a free port) for the
    whole run, started on first use. Yields its endpoint URL. See tests/s3server.py."""
    from tests.s3server import running

    with running() as endpoint:
        yield endpoint


@pytest.fixture
def s3_storage(settings, s3_server):
    """The default storage switched to S3 (django-storages, as S3_BUCKET & co. configure it) on a
    fresh bucket of the moto server. Yields a namespace: endpoint, bucket, client."""
    import types
    import uuid

    from tests.s3server import s3_client, storage_settings

    bucket = f"test-{uuid.uuid4().hex[:20]}"
    client = s3_client(s3_server)
    client.create_bucket(Bucket=bucket)
    settings.STORAGES = {**settings.STORAGES, "default": storage_settings(s3_server, bucket)}
    yield types.SimpleNamespace(endpoint=s3_server, bucket=bucket, client=client)


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """Every test starts with no counted tries (homeportal.ratelimits): the suite logs in from
    127.0.0.1 far more often than any limit allows."""
    from homeportal import ratelimits

    ratelimits.reset()
    yield


@pytest.fixture(autouse=True)
def _clear_sms_outbox():
    from cabinets.messaging import LocmemSmsBackend

    LocmemSmsBackend.outbox.clear()
    yield


@pytest.fixture
def organization(db):
    from tests.factories import OrganizationFactory

    return OrganizationFactory()


@pytest.fixture
def cabinet_user(db, organization):
    from tests.factories import UserFactory

    return UserFactory(organization=organization)


@pytest.fixture
def cabinet_client(client, cabinet_user):
    client.force_login(cabinet_user)
    return client


@pytest.fixture(scope="session")
def playwright_instance():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(playwright_instance, _test_pki):
    from ncalayer_emulator.tls import ensure_server_cert, spki_sha256_b64

    # the NCALayer emulator's wss:// certificate (test PKI) is trusted by its key, like a user's
    # browser trusts the certificate NCALayer installs
    spki = spki_sha256_b64(ensure_server_cert(_test_pki)[0])
    browser = playwright_instance.chromium.launch(
        executable_path=CHROMIUM_PATH, args=[*CHROMIUM_ARGS, f"--ignore-certificate-errors-spki-list={spki}"],
        headless=True)
    yield browser
    browser.close()


@pytest.fixture
def page(browser, live_server):
    """A fresh browser context per test, pointed at the live server, Russian by default."""
    context = browser.new_context(base_url=live_server.url, locale="ru-RU", accept_downloads=True)
    context.set_default_timeout(15_000)
    # Assertions wait as long as actions do: signing in the page and the PDF steps take seconds
    # when the machine is busy (Playwright's expect() waits 5 s by default).
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def login_browser(live_server):
    """Signs a user in to a Playwright page by planting a session cookie (for journeys whose
    subject is not the login itself)."""
    from django.conf import settings as dj_settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    def _login(page, user):
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.save()
        host = live_server.url.split("//", 1)[1].split(":")[0]
        page.context.add_cookies([{"name": dj_settings.SESSION_COOKIE_NAME, "value": session.session_key, "domain": host, "path": "/"}])
        return page

    return _login


@pytest.fixture(autouse=True)
def _empty_celery_queue_for_real_workers(request):
    """Tests with a real worker start from an empty queue: tasks other tests queued in Redis
    (their rows long rolled back) must not be consumed in the middle of this one."""
    if request.node.get_closest_marker("celery_worker") is None:
        yield
        return
    from homeportal.celery import app

    app.control.purge()
    yield
