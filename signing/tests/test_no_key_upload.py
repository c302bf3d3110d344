"""Issue #11: no view, form or upload handler of the portal accepts a PKCS#12 key file or a key
password — the key stays in the user's browser or NCALayer. Walks every form class, every upload
handler and every URL of the resolver."""

import importlib
import re
import uuid

import pytest
from django import forms
from django.apps import apps
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.urls import URLPattern, URLResolver, get_resolver

KEY_FIELD_NAMES = {"key_file", "key_password", "p12", "pfx", "pkcs12", "keystore", "key_store"}


def _project_apps():
    base = str(settings.BASE_DIR)
    return [a for a in apps.get_app_configs() if str(a.path).startswith(base) and ".venv" not in str(a.path)]


def _import_all(submodule):
    for app in _project_apps():
        try:
            importlib.import_module(f"{app.name}.{submodule}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app.name}.{submodule}":
                raise


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _ours(cls) -> bool:
    names = {a.name for a in _project_apps()}
    module = cls.__module__
    return module.split(".")[0] in names and ".tests" not in module


def test_no_form_class_has_a_key_file_or_key_password_field():
    _import_all("forms")
    _import_all("views")
    checked = 0
    for cls in set(_subclasses(forms.BaseForm)):
        if not _ours(cls) or not hasattr(cls, "base_fields"):
            continue
        checked += 1
        for name, field in cls.base_fields.items():
            where = f"{cls.__module__}.{cls.__name__}.{name}"
            assert name.lower() not in KEY_FIELD_NAMES, where
            if isinstance(field, forms.FileField):
                accept = str(field.widget.attrs.get("accept", "")).lower()
                assert ".p12" not in accept and ".pfx" not in accept, where
            if isinstance(field.widget, forms.PasswordInput):
                # account passwords only (login, new password, re-authentication), never a key's
                assert cls.__module__.startswith("cabinets."), where
                assert "key" not in str(field.label).lower() and "ключ" not in str(field.label).lower(), where
    assert checked > 20


def test_no_upload_handler_is_made_for_key_files():
    _import_all("forms")
    _import_all("views")
    ours = [cls for cls in set(_subclasses(FileUploadHandler)) if _ours(cls)]
    assert all("key" not in cls.__name__.lower() for cls in ours), ours


def _patterns(resolver=None, prefix=""):
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _patterns(entry, route)
        elif isinstance(entry, URLPattern):
            yield route, entry


def _fill(route: str, public_id) -> str | None:
    """A concrete path for a route: converters filled; regex routes only when they have no groups."""
    route = route.lstrip("^").rstrip("$").replace("\\.", ".")
    if "(" in route or "[" in route:
        return None
    values = {"uuid": str(public_id), "int": "1", "slug": "x", "str": "x", "path": "x"}
    return "/" + re.sub(r"<(?:(\w+):)?(\w+)>", lambda m: values.get(m.group(1) or "str", "x"), route)


@pytest.mark.django_db
def test_no_url_of_the_portal_opens_a_posted_key_file(client, monkeypatch, company_user, make_request):
    """Every URL gets a multipart POST with a real demo key file and its password (anonymous and
    signed in, plain and htmx): no request ever opens a PKCS#12."""
    from cryptography.hazmat.primitives.serialization import pkcs12

    from signing import certs, pki

    opened = []

    def spying(real):
        def spy(data, password, *args, **kwargs):
            opened.append(len(data))
            return real(data, password, *args, **kwargs)
        return spy

    for name in ("load_pkcs12", "load_key_and_certificates"):  # what signing.certs.pkcs12_open calls
        monkeypatch.setattr(pkcs12, name, spying(getattr(pkcs12, name)))
    assert certs.pkcs12 is pkcs12
    certs.pkcs12_open(data=pki.demo_key("company_head_sign")[0], password=pki.DEMO_PASSWORD)
    assert opened, "the spy sees pkcs12_open"
    opened.clear()
    sr = make_request()
    p12, password = pki.demo_key("company_head_sign")
    client.raise_request_exception = False
    paths = set()
    for route, _entry in _patterns():
        if route.startswith(("admin/", "^admin/")):
            continue
        path = _fill(route, sr.public_id if "<uuid:" in route else uuid.uuid4())
        if path:
            paths.add(path)
    assert f"/signing/r/{sr.public_id}/ecp/" in paths and "/login/" in paths and "/register/" in paths
    for logged_in in (False, True):
        if logged_in:
            client.force_login(company_user)
        for path in sorted(paths):
            for extra in ({}, {"HTTP_HX_REQUEST": "true"}):
                client.post(path, {"key_file": SimpleUploadedFile("RSA256_x.p12", p12, "application/x-pkcs12"),
                                   "key_password": password, "password": password, "tab": "eds", "action": "eds"},
                            **extra)
    assert opened == [], "a view opened a posted PKCS#12"
    sr.refresh_from_db()
    assert sr.status == "pending"
