"""Thin views: the signing modal (ЭЦП / eGov QR), the eGov QR APIs, the PKI files, the verifier,
the eGov mobile simulator and the demo signing page."""

from __future__ import annotations

import base64
import io
import json
from urllib.parse import quote, urlsplit

import qrcode
import qrcode.image.svg
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from . import pki, selectors, services
from .certs import SigningError
from .forms import CappedUploadHandler, MethodForm, SimulatorForm, VerifyForm
from .models import QrSession, SigningRequest
from .verification import MAX_VERIFY_SIZE, verify_upload

PASSWORD_FIELD_CODES = {"wrong_password"}


def _is_htmx(request) -> bool:
    return bool(request.htmx)  # django-htmx's HtmxMiddleware


def _safe_return_url(request, url: str) -> str:
    if url and url_has_allowed_host_and_scheme(url, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return url
    return reverse("home")


def _done(request, sr: SigningRequest) -> HttpResponse:
    url = _safe_return_url(request, sr.return_url)
    if _is_htmx(request):
        return HttpResponseClientRedirect(url)
    return redirect(url)


def _panel(request, sr: SigningRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    """A modal body for htmx, or the same body as a full page."""
    ctx = {"sr": sr, "as_page": not _is_htmx(request), "title": sr.title_ru if request.LANGUAGE_CODE == "ru" else sr.title_kk, **context}
    if not ctx["as_page"]:
        status = 200  # htmx swaps only 2xx: a refusal is a re-rendered modal with the message at the field
    if ctx["as_page"]:
        ctx["panel_template"] = template
        return render(request, "signing/page.html", ctx, status=status)
    return render(request, template, ctx, status=status)


def signing_modal_response(request, signing_request: SigningRequest, method: str | None = None) -> HttpResponse:
    """«Подпись документа — Выберите способ подписания: через ЭЦП / через QR — Продолжить»; with
    method="ecp" straight to the ЭЦП panel, with method="qr" straight to a new QR (the login's «Войти
    через eGov QR» asked again with ЭЦП ticked)."""
    if method == "ecp":
        return _panel(request, signing_request, "signing/_ecp.html", _ecp_context(request, signing_request))
    if method == "qr":
        return _qr_new(request, signing_request)
    return _panel(request, signing_request, "signing/_choose.html", {"form": MethodForm()})


@never_cache
@require_http_methods(["GET", "POST"])
def request_page(request, public_id):
    sr = selectors.signing_request_for(public_id=public_id, user=request.user, session=request.session)
    if sr.status == SigningRequest.Status.COMPLETED:
        return _done(request, sr)
    if request.method == "POST":
        form = MethodForm(request.POST)
        if form.is_valid():
            if form.cleaned_data["method"] == "qr":
                return _qr_new(request, sr)
            return _panel(request, sr, "signing/_ecp.html", _ecp_context(request, sr))
        return _panel(request, sr, "signing/_choose.html", {"form": form}, status=400)
    return signing_modal_response(request, sr)


MAX_CMS_B64 = 256 * 1024  # a detached CMS with its chain is a few kilobytes


def _ecp_context(request, sr: SigningRequest) -> dict:
    """The ЭЦП panel: the browser signs (NCALayer, else the key file opened in the page); the
    page gets where to fetch what to sign, where to send the CMS, and its messages in ru/kk."""
    from django.contrib.staticfiles import finders

    from .certs import ERROR_MESSAGES

    signer = sr.signer_user
    messages = {code: str(ERROR_MESSAGES[code]) for code in ("not_pkcs12", "wrong_password", "not_rsa")}
    messages.update({
        "choose_file": _("Choose the key file (.p12)."), "password": _("Enter the password of the key."),
        "failed": _("The document could not be signed in the browser. Try again or use eGov QR."),
        "network": _("The portal does not answer. Check the connection and try again."),
        "ncalayer_probe": _("Looking for NCALayer on this computer…"),
        "ncalayer_ready": _("NCALayer is running: the key and its password stay in NCALayer."),
        "ncalayer_absent": _("NCALayer is not running: sign with the key file below, or start NCALayer and reload the page."),
        "ncalayer_cancelled": _("Signing was cancelled in NCALayer."),
        "ncalayer_unavailable": _("NCALayer does not answer: start NCALayer and try again, or sign with the key file below."),
        "signing": _("Signing…"),
    })
    return {
        "to_sign_url": reverse("signing:to_sign", args=[sr.public_id]),
        "submit_url": reverse("signing:ecp", args=[sr.public_id]),
        "ncalayer_url": getattr(settings, "NCALAYER_URL", "wss://127.0.0.1:13579/"),
        "has_ncalayer_js": bool(finders.find("js/ncalayer.js")),
        "signer_iin": getattr(signer, "iin", "") or "",
        "messages_json": json.dumps(messages, ensure_ascii=False),
    }


def _refusal(err: SigningError) -> JsonResponse:
    field = "password" if err.code in PASSWORD_FIELD_CODES else "key_file"
    return JsonResponse({"ok": False, "code": err.code, "message": str(err.message), "field": field}, status=400,
                        json_dumps_params={"ensure_ascii": False})


@never_cache
@require_POST
def request_to_sign(request, public_id):
    """POST -> JSON: what the browser signs for this request (signing.services.signing_request_to_sign)."""
    sr = selectors.signing_request_for(public_id=public_id, user=request.user, session=request.session)
    try:
        contract = services.signing_request_to_sign(signing_request=sr)
    except SigningError as err:
        return _refusal(err)
    return JsonResponse({"ok": True, **contract, "locale": request.LANGUAGE_CODE})


@never_cache
@require_http_methods(["GET", "POST"])
def request_ecp(request, public_id):
    """GET: the ЭЦП panel. POST (from the page's script): `cms` (base64 DER) and, for PAdES, the
    `preparation` id -> JSON {"ok", "redirect"} or the refusal {"ok": false, "code", "message",
    "field"}. Takes no key file and no password: the key stays in the browser or NCALayer."""
    sr = selectors.signing_request_for(public_id=public_id, user=request.user, session=request.session)
    if request.method != "POST":
        if sr.status == SigningRequest.Status.COMPLETED:
            return _done(request, sr)
        return _panel(request, sr, "signing/_ecp.html", _ecp_context(request, sr))
    if sr.status == SigningRequest.Status.COMPLETED:
        return JsonResponse({"ok": True, "redirect": _safe_return_url(request, sr.return_url)})
    raw = request.POST.get("cms", "")
    try:
        if not raw or len(raw) > MAX_CMS_B64:
            raise ValueError
        cms_bytes = base64.b64decode(raw, validate=True)
    except ValueError:
        return _refusal(SigningError("not_cms"))
    try:
        services.signing_request_submit(signing_request=sr, cms_bytes=cms_bytes,
                                        preparation_id=request.POST.get("preparation") or None, request=request)
    except SigningError as err:
        return _refusal(err)
    return JsonResponse({"ok": True, "redirect": _safe_return_url(request, sr.return_url)})


def _api1_url(request, session: QrSession) -> str:
    return request.build_absolute_uri(reverse("signing:egov_api1", args=[session.api1_token]))


# eGov cross-signing on the same phone (a user cannot scan their own screen): the app's dynamic
# links take the API №1 address, percent-encoded, instead of the QR (docs/signing.md, docs/accessibility.md).
EGOV_MOBILE_LINK = "https://mgovsign.page.link/?link={api1}&isi=1476128386&ibi=kz.egov.mobile&apn=kz.mobile.mgov"
EGOV_BUSINESS_LINK = ("https://egovbusiness.page.link/?link={api1}&isi=1597880144&ibi=kz.mobile.mgov.business"
                      "&apn=kz.mobile.mgov.business")


def _egov_links(api1_url: str) -> dict:
    api1 = quote(api1_url, safe="")
    return {"egov_mobile_link": EGOV_MOBILE_LINK.format(api1=api1),
            "egov_business_link": EGOV_BUSINESS_LINK.format(api1=api1)}


def _qr_context(request, sr, session: QrSession) -> dict:
    now = timezone.now()
    left = max(0, int((session.expires_at - now).total_seconds()))
    api1_url = _api1_url(request, session)
    return {
        **_egov_links(api1_url),
        "session": session,
        "expired": left == 0,
        "countdown": f"{left // 60:02d}:{left % 60:02d}",
        "qr_text": "mobileSign:" + api1_url,
        "seconds_left": max(0, int((session.expires_at - now).total_seconds())),
        "expires_ms": int(session.expires_at.timestamp() * 1000),
    }


def _qr_new(request, sr):
    try:
        session = services.qr_session_create(signing_request=sr)
    except SigningError as err:
        return _panel(request, sr, "signing/_choose.html", {"form": MethodForm(), "error": err.message}, status=400)
    return _panel(request, sr, "signing/_qr.html", _qr_context(request, sr, session))


@never_cache
@require_http_methods(["GET", "POST"])
def request_qr(request, public_id):
    """A new QR (the first one, or «Получить новый QR-код»)."""
    sr = selectors.signing_request_for(public_id=public_id, user=request.user, session=request.session)
    if sr.status == SigningRequest.Status.COMPLETED:
        return _done(request, sr)
    if request.method == "GET":
        latest = sr.qr_sessions.order_by("-pk").first()
        if latest is not None and latest.expires_at > timezone.now():
            return _panel(request, sr, "signing/_qr.html", _qr_context(request, sr, latest))
    return _qr_new(request, sr)


@never_cache
def qr_image(request, public_id, session_id):
    sr = selectors.signing_request_for(public_id=public_id, user=request.user, session=request.session)
    session = selectors.qr_session_for(signing_request=sr, pk=session_id)
    img = qrcode.make("mobileSign:" + _api1_url(request, session), image_factory=qrcode.image.svg.SvgPathImage,
                      box_size=12, border=2)
    buf = io.BytesIO()
    img.save(buf)
    return HttpResponse(buf.getvalue(), content_type="image/svg+xml")


@never_cache
def qr_status(request, public_id, session_id):
    sr = selectors.signing_request_for(public_id=public_id, user=request.user, session=request.session)
    session = selectors.qr_session_for(signing_request=sr, pk=session_id)
    return render(request, "signing/_qr_status.html", {"sr": sr, "session": session, "expired": session.expires_at <= timezone.now()})


@never_cache
@require_POST
def qr_complete(request, public_id, session_id):
    sr = selectors.signing_request_for(public_id=public_id, user=request.user, session=request.session)
    if sr.status == SigningRequest.Status.COMPLETED:
        return _done(request, sr)
    session = selectors.qr_session_for(signing_request=sr, pk=session_id)
    try:
        services.qr_session_complete(qr_session=session, request=request)
    except SigningError as err:
        ctx = _qr_context(request, sr, session)
        ctx["error"] = err.message
        return _panel(request, sr, "signing/_qr.html", ctx, status=400)
    return _done(request, sr)


# --- eGov mobile APIs (called by the phone, not the browser) --------------------------------------

def _api_error(err: SigningError, status: int = 403) -> JsonResponse:
    return JsonResponse({"message": str(err.message)}, status=status, json_dumps_params={"ensure_ascii": False})


MAX_PUT_SIZE = 80 * 1024 * 1024


def _bearer(request) -> str:
    header = request.headers.get("Authorization", "")
    return header[7:].strip() if header.lower().startswith("bearer ") else ""


@csrf_exempt
@never_cache
@require_http_methods(["GET"])
def egov_api1(request, token):
    try:
        data = services.qr_api1(token=token, document_url=request.build_absolute_uri(reverse("signing:egov_api2", args=[token])))
    except SigningError as err:
        return _api_error(err)
    return JsonResponse(data, json_dumps_params={"ensure_ascii": False})


@csrf_exempt
@never_cache
@require_http_methods(["GET", "PUT"])
def egov_api2(request, token):
    try:
        if request.method == "GET":
            return JsonResponse(services.qr_api2_get(token=token, auth_token=_bearer(request)),
                                json_dumps_params={"ensure_ascii": False})
        # not request.body: DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB) is too small for a signed PDF in base64
        raw = request.read(MAX_PUT_SIZE + 1)
        if len(raw) > MAX_PUT_SIZE:
            return JsonResponse({"message": _("The file is too large.")}, status=413)
        try:
            payload = json.loads(raw or b"{}")
        except ValueError:
            payload = {}
        services.qr_api2_put(token=token, auth_token=_bearer(request), payload=payload)
    except SigningError as err:
        return _api_error(err)
    return HttpResponse("success", content_type="text/plain; charset=utf-8")


# --- PKI files (certificates and CRLs only; private keys are never served) -------------------------

PUBLIC_PKI_FILES = {
    "nca_rsa.crl": ("crl/nca_rsa.crl", "application/pkix-crl"),
    "root.crl": ("crl/root.crl", "application/pkix-crl"),
    "root.pem": ("root.pem", "application/x-pem-file"),
    "nca_rsa.pem": ("nca_rsa.pem", "application/x-pem-file"),
}


def pki_file(request, name):
    if name not in PUBLIC_PKI_FILES:
        raise Http404
    rel, ctype = PUBLIC_PKI_FILES[name]
    path = pki.pki_dir() / rel
    if not path.exists():
        raise Http404
    return HttpResponse(path.read_bytes(), content_type=ctype)


def pki_status(request, serial):
    """An OCSP-like answer from the published CRLs: {"serial", "status": good|revoked|unknown, "revoked_at"}."""
    try:
        number = int(serial, 16)
    except ValueError as exc:
        raise Http404 from exc
    status, revoked_at = "unknown", None
    for crl in pki.crls():
        entry = crl.get_revoked_certificate_by_serial_number(number)
        if entry is not None:
            status, revoked_at = "revoked", entry.revocation_date_utc.isoformat()
            break
    else:
        status = "good" if pki.crls() else "unknown"
    return JsonResponse({"serial": serial.lower(), "status": status, "revoked_at": revoked_at})


# --- downloads -----------------------------------------------------------------------------------

@login_required
def signature_cms(request, public_id):
    sig = selectors.signature_for(public_id=public_id, user=request.user)
    response = HttpResponse(bytes(sig.cms), content_type="application/pkcs7-signature")
    response["Content-Disposition"] = f'attachment; filename="signature-{sig.public_id}.cms"'
    return response


@login_required
def signature_pdf(request, public_id):
    """A party's PAdES signature as the user can check it: the PDF with the parties' signatures so far
    (its CMS alone covers the PDF's /ByteRange, not the document). Offered by selectors.signature_download."""
    sig = selectors.signature_for(public_id=public_id, user=request.user)
    doc = sig.signed_document
    if doc is None or not sig.in_pades_pdf or not doc.pades_pdf:
        raise Http404
    stem = doc.filename[:-4] if doc.filename.lower().endswith(".pdf") else doc.filename
    return FileResponse(io.BytesIO(bytes(doc.pades_pdf)), as_attachment=True, filename=f"{stem}-signed.pdf",
                        content_type="application/pdf")


@login_required
def document_download(request, public_id):
    doc = selectors.signed_document_for(public_id=public_id, user=request.user)
    if not doc.is_fully_signed:
        return render(request, "signing/not_yet.html", {"doc": doc, "rows": selectors.signature_table(doc)}, status=409)
    if doc.mime_type == "application/pdf":
        data = services.signed_document_issue_pdf(document=doc)
        name = doc.filename if doc.filename.lower().endswith(".pdf") else doc.filename + ".pdf"
    else:
        data, name = bytes(doc.document), doc.filename
    return FileResponse(io.BytesIO(data), as_attachment=True, filename=name, content_type=doc.mime_type)


# --- verifier ------------------------------------------------------------------------------------

MULTIPART_OVERHEAD = 64 * 1024  # boundaries, headers and a small detached document's field names


def _declared_too_large(request) -> bool:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0) > MAX_VERIFY_SIZE + MULTIPART_OVERHEAD
    except ValueError:
        return True


def _verify_upload_handlers(request) -> None:
    request.upload_too_large = False
    request.upload_handlers = [CappedUploadHandler(request, cap=MAX_VERIFY_SIZE)]


def _too_large_message() -> str:
    return _("The file is too large: the limit is %(mb)s MB.") % {"mb": MAX_VERIFY_SIZE // (1024 * 1024)}


def _form_with_file_error(message: str) -> VerifyForm:
    form = VerifyForm(data={}, files={})
    form.is_valid()
    form.errors.clear()
    form.errors["file"] = form.error_class([message])
    return form


def _read_verify_files(request, file_field, data_field) -> tuple[bytes, bytes | None]:
    return file_field.read(MAX_VERIFY_SIZE + 1), data_field.read(MAX_VERIFY_SIZE + 1) if data_field else None


@never_cache
@csrf_exempt
@require_http_methods(["GET", "POST"])
def verify_page(request):
    # Refused by Content-Length before a byte of the body is read; otherwise streamed to a temp
    # file and stopped at the cap (the handlers must be in place before CSRF reads the form).
    if request.method == "POST" and _declared_too_large(request):
        return render(request, "signing/verify.html", {"form": _form_with_file_error(_too_large_message()),
                                                       "report": None}, status=413)
    if request.method == "POST" and (limited := _verify_limited(request)):
        return render(request, "signing/verify.html", {"form": _form_with_file_error(limited.message), "report": None},
                      status=429)
    _verify_upload_handlers(request)
    return _verify_page(request)


def _verify_limited(request):
    """Per client IP and per signed-in user (homeportal.ratelimits, RATE_LIMITS["verify-*"]);
    checked before a byte of the body is read. Returns the refusal or None."""
    from homeportal import ratelimits

    try:
        ratelimits.ip_attempt(request, "verify-ip")
        if request.user.is_authenticated:
            ratelimits.attempt("verify-account", str(request.user.pk))
    except ratelimits.Limited as exc:
        return exc
    return None


@csrf_protect
def _verify_page(request):
    report = record = None
    status = 200
    if request.method == "POST":
        form = VerifyForm(request.POST, request.FILES)
        if request.upload_too_large:
            form = _form_with_file_error(_too_large_message())
            status = 413
        elif form.is_valid():
            body, data = _read_verify_files(request, form.cleaned_data["file"], form.cleaned_data.get("data"))
            report = verify_upload(body, data)
            if report.error:
                form.add_error("file", report.error)
                report = None
            else:
                record = services.verification_report_record(report=report, file_name=form.cleaned_data["file"].name,
                                                             file_size=len(body))
        status = 400 if form.errors and status == 200 else status
    else:
        form = VerifyForm()
    return render(request, "signing/verify.html", {"form": form, "report": report, "record": record}, status=status)


@csrf_exempt
@require_POST
def verify_api(request):
    """POST multipart: file (PDF or CMS) [+ data for a detached CMS] -> JSON report."""
    if _declared_too_large(request):
        return JsonResponse({"error": _too_large_message()}, status=413, json_dumps_params={"ensure_ascii": False})
    if limited := _verify_limited(request):
        return JsonResponse({"error": limited.message, "retry_after": limited.retry_after}, status=429,
                            json_dumps_params={"ensure_ascii": False})
    _verify_upload_handlers(request)
    upload = request.FILES.get("file")
    if request.upload_too_large:
        return JsonResponse({"error": _too_large_message()}, status=413, json_dumps_params={"ensure_ascii": False})
    if upload is None:
        return JsonResponse({"error": _("Choose a file.")}, status=400)
    body, data = _read_verify_files(request, upload, request.FILES.get("data"))
    report = verify_upload(body, data)
    payload = report.as_dict()
    if not report.error:
        record = services.verification_report_record(report=report, file_name=upload.name, file_size=len(body))
        payload["report"] = {"number": record.number, "pdf": request.build_absolute_uri(
            reverse("signing:verify_report", args=[record.public_id]))}
    return JsonResponse(payload, status=400 if report.error else 200, json_dumps_params={"ensure_ascii": False})


@never_cache
def verify_report_pdf(request, public_id):
    """The validation report as a PDF signed by KZhK (B-LTA); whoever holds the link (a UUID)."""
    record = selectors.verification_report_for(public_id=public_id)
    try:
        pdf = services.verification_report_pdf(record=record)
    except SigningError as err:
        return render(request, "signing/verify.html", {"form": VerifyForm(), "report": None,
                                                       "service_error": err.message}, status=503)
    return FileResponse(io.BytesIO(pdf), as_attachment=True, filename=f"{record.number}.pdf",
                        content_type="application/pdf")


# --- eGov mobile simulator (dev/demo tool, outside the user menu) -----------------------------------

def _simulator_enabled() -> bool:
    return getattr(settings, "SIGNING_SIMULATOR_ENABLED", settings.DEV_OUTBOX_ENABLED)


def _points_to_this_portal(request, qr_text: str) -> bool:
    """The simulator is no open proxy: only this portal's port, on one of its own host names."""
    try:
        target = urlsplit(qr_text.strip().removeprefix("mobileSign:"))
        here = urlsplit("//" + request.get_host())
        return target.scheme in ("http", "https") and target.port == here.port and (
            target.hostname == here.hostname or target.hostname in settings.ALLOWED_HOSTS)
    except ValueError:
        return False


@never_cache
def egov_simulator(request):
    """Plays the eGov mobile app with one of the demo keys (they live on this server for the demo
    and the tests). It takes no key file and no password from the browser."""
    from .egov_client import egov_mobile_sign

    if not _simulator_enabled():
        raise Http404
    keys = pki.demo_manifest()["keys"]
    result = None
    if request.method == "POST":
        form = SimulatorForm(request.POST, demo_keys=keys)
        if form.is_valid():
            cd = form.cleaned_data
            if not cd.get("demo_key"):
                form.add_error("demo_key", _("Choose a demo key."))
            elif not _points_to_this_portal(request, cd["qr_text"]):
                form.add_error("qr_text", _("The simulator only talks to this portal: the QR must point to %(host)s.")
                               % {"host": request.get_host()})
            else:
                p12, password = pki.demo_key(cd["demo_key"])
                try:
                    result = egov_mobile_sign(qr_text=cd["qr_text"], p12=p12, password=password,
                                              accept_language=request.LANGUAGE_CODE)
                except SigningError as err:
                    form.add_error("demo_key", str(err.message))
                except (ValueError, KeyError, OSError) as exc:
                    form.add_error("qr_text", _("The QR text is not a working eGov QR link: %(error)s") % {"error": exc.__class__.__name__})
    else:
        form = SimulatorForm(demo_keys=keys, initial={"qr_text": request.GET.get("qr", "")})
    return render(request, "signing/simulator.html", {"form": form, "result": result})


# --- demo: sign a test document -------------------------------------------------------------------

@login_required
@require_http_methods(["GET", "POST"])
def demo_page(request):
    from . import demo

    org = getattr(request.user, "organization", None)
    if org is None:
        raise Http404
    if request.method == "POST":
        sr = demo.demo_document_start(organization=org, user=request.user, return_url=reverse("signing:demo"))
        return signing_modal_response(request, sr) if _is_htmx(request) else redirect("signing:request", sr.public_id)
    docs = demo.demo_documents(organization=org)
    return render(request, "signing/demo.html", {"docs": docs})
