"""Thin views of «Мои обращения в АО «КЖК»». Reads go through selectors (scoped to the user's
organization: anything else is 404), writes through services."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import pgettext
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from bpms_bridge.selectors import case_terms
from homeportal.page_cache import cached_page
from homeportal.pagination import HISTORY_PAGE_SIZE, paginate
from homeportal.uploads import (
    ALLOWED_TYPES_HELP,
    private_file_response,
    sniff_kind,
    upload_limit,
    upload_total_was_too_large,
    upload_was_too_large,
)

from . import selectors, services, transitions
from .forms import AppealFilterForm, AppealForm, AppealStartForm, ConsentForm, UploadForm, kind_or_default
from .models import AppealKind, AppealStatus

MAX_FILE_BYTES = services.MAX_FILE_BYTES


def _organization(request):
    organization = getattr(request.user, "organization", None)
    if organization is None:
        raise Http404
    return organization


def _signing_modal_response(request, signing_request):
    from signing.views import signing_modal_response

    return signing_modal_response(request, signing_request)


def _redirect(request, url):
    """A plain redirect, or for htmx a client-side one (the whole page changes, not the swap target)."""
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


@login_required
@cached_page
def appeal_list(request):
    organization = _organization(request)
    form = AppealFilterForm(request.GET or None)
    status = query = ""
    if form.is_valid():
        status, query = form.cleaned_data["status"], form.cleaned_data["q"]
    qs = selectors.appeal_list(organization=organization, status=status, query=query)
    page, query_string = paginate(request, qs)
    rows = []
    for number, appeal in enumerate(page.object_list, start=page.start_index()):
        own = appeal.organization_id == organization.pk
        rows.append({"n": number, "appeal": appeal, "own": own, "ds": appeal.status in transitions.DEVELOPER_VISIBLE,
                     "actions": transitions.USER_ACTIONS.get(appeal.status, frozenset()) if own else {"developer"}})
    return render(request, "appeals/list.html", {
        "form": form, "page": page, "rows": rows, "query_string": query_string,
    })


@login_required
def appeal_new_type(request):
    """«Выберите тип обращения»: Гарантирование / Субсидирование with the type's text → «Далее»."""
    _organization(request)
    kind = kind_or_default(request.GET.get("kind", ""))
    context = {"kind": kind, "kinds": AppealKind.choices}
    template = "appeals/new_type.html#modal" if request.htmx else "appeals/new_type.html"
    return render(request, template, context)


@login_required
def appeal_new_contract(request):
    """«1. Выберите договор…», «2. Выберите категорию обращения» → «Создать обращение»."""
    organization = _organization(request)
    kind = kind_or_default(request.POST.get("kind") or request.GET.get("kind", ""))
    contracts = selectors.contracts_for_appeal(organization=organization, kind=kind)
    categories = selectors.categories_for(kind=kind)
    form = AppealStartForm(request.POST or None, contracts=contracts, categories=categories)
    if request.method == "POST" and form.is_valid():
        try:
            appeal = services.appeal_create(
                organization=organization, user=request.user, contract=form.cleaned_data["contract"],
                category=form.cleaned_data["category"],
            )
        except services.AppealError as exc:
            form.add_error(exc.field, exc.message)
        else:
            return _redirect(request, reverse("appeals:edit", args=[appeal.public_id]))
    context = {"kind": kind, "form": form, "kind_label": AppealKind(kind).label}
    template = "appeals/new_contract.html#modal" if request.htmx else "appeals/new_contract.html"
    # htmx swaps only 2xx answers: the modal with its errors comes back as 200 there.
    return render(request, template, context, status=400 if form.errors and not request.htmx else 200)


def _edit_context(request, appeal, *, form=None, tab="info", slot_errors=None, consent_form=None):
    files = selectors.appeal_files_by_slot(appeal)
    slots = []
    for slot in selectors.document_slots(appeal):
        slots.append({**slot, "files": files.get(slot["key"], []), "error": (slot_errors or {}).get(slot["key"])})
    return {
        "appeal": appeal, "contract": appeal.contract, "form": form or AppealForm(
            initial={n: getattr(appeal, n) for n in services.EDITABLE_FIELDS}, category=appeal.category),
        "tab": "docs" if tab == "docs" else "info", "slots": slots, "consent_form": consent_form,
        "can_edit": transitions.user_can(appeal.status, transitions.EDIT), "max_mb": MAX_FILE_BYTES // (1024 * 1024),
        "max_bytes": MAX_FILE_BYTES,
        "allowed_types": ALLOWED_TYPES_HELP, "docs_error": any(s["error"] for s in slots),
    }


@login_required
@cached_page
def appeal_edit(request, public_id):
    """The appeal form: tabs «Информация о договоре» and «Подтверждающие документы»;
    «Сохранить черновик» / «Подписать заявку»."""
    organization = _organization(request)
    appeal = selectors.appeal_get(organization=organization, public_id=public_id)
    if not transitions.user_can(appeal.status, transitions.EDIT):
        return redirect("appeals:history", public_id=appeal.public_id)
    if request.method != "POST":
        return render(request, "appeals/edit.html", _edit_context(request, appeal, tab=request.GET.get("tab", "info")))
    signing = request.POST.get("action") == "sign"
    form = AppealForm(request.POST, category=appeal.category, draft=not signing)
    if not form.is_valid():
        return render(request, "appeals/edit.html", _edit_context(request, appeal, form=form), status=400)
    try:
        appeal = services.appeal_update(appeal=appeal, user=request.user, data=form.cleaned_data)
    except services.AppealError as exc:
        messages.error(request, exc.message)
        return redirect("appeals:list")
    if not signing:
        messages.success(request, pgettext("appeals", "The draft is saved."))
        return redirect("appeals:edit", public_id=appeal.public_id)
    errors = selectors.appeal_readiness_errors(appeal)
    if errors:
        for name, message in errors.items():
            if name in form.fields:
                form.add_error(name, message)
        slot_errors = {k: v for k, v in errors.items() if k not in form.fields}
        tab = "docs" if slot_errors and not form.errors else "info"
        return render(request, "appeals/edit.html",
                      _edit_context(request, appeal, form=form, tab=tab, slot_errors=slot_errors), status=400)
    return render(request, "appeals/edit.html", _edit_context(request, appeal, form=form, consent_form=ConsentForm()))


@login_required
@require_POST
def appeal_sign(request, public_id):
    """The consent modal's submit: the check-box is required, then the signing modal (ЭЦП / QR)."""
    organization = _organization(request)
    appeal = selectors.appeal_get(organization=organization, public_id=public_id)
    consent_form = ConsentForm(request.POST)
    if not consent_form.is_valid():
        if request.htmx:
            return render(request, "appeals/edit.html#consent_modal",
                          {"appeal": appeal, "consent_form": consent_form})
        return render(request, "appeals/edit.html", _edit_context(request, appeal, consent_form=consent_form),
                      status=400)
    try:
        signing_request = services.appeal_sign_start(appeal=appeal, user=request.user, consent=True)
    except services.AppealError as exc:
        if exc.code == "incomplete":
            messages.error(request, exc.message)
            return _redirect(request, reverse("appeals:edit", args=[appeal.public_id]))
        if exc.field == "consent":
            consent_form.add_error("consent", exc.message)
            return render(request, "appeals/edit.html", _edit_context(request, appeal, consent_form=consent_form),
                          status=400)
        messages.error(request, exc.message)
        return _redirect(request, reverse("appeals:list"))
    return _signing_modal_response(request, signing_request)


@login_required
@require_POST
def appeal_delete(request, public_id):
    organization = _organization(request)
    appeal = selectors.appeal_get(organization=organization, public_id=public_id)
    try:
        services.appeal_delete(appeal=appeal)
    except services.AppealError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, pgettext("appeals", "The draft is deleted."))
    return _redirect(request, reverse("appeals:list"))


def _slot_response(request, appeal, slot_key, *, error=None, status=200):
    """The slot's file list (htmx / XHR) or the whole form on the documents tab."""
    if request.htmx:
        slot = next((s for s in _edit_context(request, appeal)["slots"] if s["key"] == slot_key), None)
        if slot is None:
            raise Http404
        slot["error"] = error
        # htmx (and appeals.js) swap only 2xx answers: the slot with its error comes back as 200.
        return render(request, "appeals/edit.html#slot", {
            "appeal": appeal, "slot": slot, "can_edit": transitions.user_can(appeal.status, transitions.EDIT),
            "max_mb": MAX_FILE_BYTES // (1024 * 1024), "max_bytes": MAX_FILE_BYTES})
    if error:
        return render(request, "appeals/edit.html",
                      _edit_context(request, appeal, tab="docs", slot_errors={slot_key: error}), status=status)
    return redirect(reverse("appeals:edit", args=[appeal.public_id]) + "?tab=docs")


@upload_limit(MAX_FILE_BYTES)
@login_required
@require_POST
def appeal_file_upload(request, public_id):
    """One file for one document slot, streamed to a temporary file (at most 700 MB)."""
    organization = _organization(request)
    appeal = selectors.appeal_get(organization=organization, public_id=public_id)
    form = UploadForm(request.POST, request.FILES)
    slot_key = request.POST.get("slot", "")
    if slot_key not in {s["key"] for s in selectors.document_slots(appeal)}:
        raise Http404
    if not transitions.user_can(appeal.status, transitions.EDIT):
        return _slot_response(request, appeal, slot_key, error=pgettext("appeals",
            "This cannot be done in the current status of the application."), status=400)
    if upload_total_was_too_large(request):  # a crafted request with several files, each within the limit
        return _slot_response(request, appeal, slot_key, error=pgettext("appeals",
            "The files chosen together are larger than %(mb)s MB, the limit of one upload.")
            % {"mb": MAX_FILE_BYTES // (1024 * 1024)}, status=400)
    if upload_was_too_large(request):
        return _slot_response(request, appeal, slot_key, error=pgettext("appeals",
            "The file is larger than %(mb)s MB.") % {"mb": MAX_FILE_BYTES // (1024 * 1024)}, status=400)
    if not form.is_valid():
        error = form.errors.get("file", [pgettext("appeals", "Choose a file.")])[0]
        return _slot_response(request, appeal, slot_key, error=error, status=400)
    uploaded = form.cleaned_data["file"]
    kind = sniff_kind(uploaded)
    if kind is None:
        return _slot_response(request, appeal, slot_key, error=pgettext("appeals",
            "This file type is not accepted. Allowed: %(types)s.") % {"types": ALLOWED_TYPES_HELP}, status=400)
    try:
        services.appeal_file_add(appeal=appeal, slot=slot_key, uploaded_file=uploaded, content_type=kind.mime)
    except services.AppealError as exc:
        return _slot_response(request, appeal, slot_key, error=exc.message, status=400)
    return _slot_response(request, appeal, slot_key)


@login_required
def appeal_file_download(request, public_id, file_id):
    organization = _organization(request)
    appeal = selectors.appeal_get(organization=organization, public_id=public_id)
    appeal_file = selectors.appeal_file_get(appeal=appeal, file_id=file_id)
    return private_file_response(appeal_file.file, appeal_file.original_name, appeal_file.content_type)


@login_required
@require_POST
def appeal_file_delete(request, public_id, file_id):
    organization = _organization(request)
    appeal = selectors.appeal_get(organization=organization, public_id=public_id)
    appeal_file = selectors.appeal_file_get(appeal=appeal, file_id=file_id)
    slot_key = appeal_file.slot
    try:
        services.appeal_file_delete(appeal_file=appeal_file)
    except services.AppealError as exc:
        return _slot_response(request, appeal, slot_key, error=exc.message, status=400)
    return _slot_response(request, appeal, slot_key)


@login_required
@cached_page
def appeal_history(request, public_id):
    """«История заявки»: forming, signing, each status with its date, actor and data; «Скачать»."""
    organization = _organization(request)
    appeal = selectors.appeal_get(organization=organization, public_id=public_id)
    page, query_string = paginate(request, selectors.appeal_history(appeal=appeal), per_page=HISTORY_PAGE_SIZE)
    terms = case_terms(case_kind="appeal", case_id=str(appeal.public_id), category=appeal.category.code,
                       now=timezone.now())
    return render(request, "appeals/history.html", {
        "appeal": appeal, "steps": page.object_list, "page": page, "query_string": query_string, "terms": terms, "fields": selectors.appeal_field_rows(appeal),
        "files": appeal.files.select_related("document"), "signatures": selectors.ds_signature_rows(appeal=appeal),
        "actions": transitions.USER_ACTIONS.get(appeal.status, frozenset()),
    })


@login_required
def appeal_history_export(request, public_id):
    """«Выгрузить историю»: every step with its hash and the chain's latest time-stamp, a PDF signed by KZhK."""
    from audit.views import history_export_response

    appeal = selectors.appeal_get(organization=_organization(request), public_id=public_id)
    entries = list(appeal.history.select_related("signature").order_by("chain_seq", "pk"))
    for entry in entries:
        entry.appeal = appeal
    number = appeal.registration_number or str(appeal.public_id)[:8]
    return history_export_response(request, obj=appeal, entries=entries, title=f"{appeal.contract.number} · {number}",
                                   filename=f"history-{appeal.public_id}",
                                   back_url=reverse("appeals:history", args=[appeal.public_id]))


@login_required
def history_download(request, public_id, step_id):
    organization = _organization(request)
    appeal = selectors.appeal_get(organization=organization, public_id=public_id)
    step = selectors.history_step_get(appeal=appeal, step_id=step_id)
    return private_file_response(step.document, step.document_name or None)


@login_required
def appeal_ds(request, public_id):
    """The ДС: what is signed, «Сведения о подписи» (applicant, developer, KZhK), «Подписать ДС»."""
    organization = _organization(request)
    appeal = selectors.appeal_get_visible(organization=organization, public_id=public_id)
    if appeal.status not in transitions.DEVELOPER_VISIBLE:
        raise Http404
    party = selectors.ds_party_of(appeal, organization)
    signatures = selectors.ds_signature_rows(appeal=appeal)
    can_sign = (appeal.status == AppealStatus.DS_APPLICANT_SIGNING and party is not None
                and not any(s.party == party for s in signatures))
    return render(request, "appeals/ds.html", {
        "appeal": appeal, "signatures": signatures, "can_sign": can_sign,
        "signature_rows": selectors.ds_signature_table(appeal=appeal),
        "is_developer": appeal.organization_id != organization.pk,
    })


@login_required
@require_POST
def appeal_ds_sign(request, public_id):
    organization = _organization(request)
    appeal = selectors.appeal_get_visible(organization=organization, public_id=public_id)
    try:
        signing_request = services.appeal_ds_sign_start(appeal=appeal, organization=organization, user=request.user)
    except services.AppealError as exc:
        messages.error(request, exc.message)
        return _redirect(request, reverse("appeals:ds", args=[appeal.public_id]))
    return _signing_modal_response(request, signing_request)


@login_required
def appeal_ds_download(request, public_id):
    """The signed ДС, only once every party has signed."""
    organization = _organization(request)
    appeal = selectors.appeal_get_visible(organization=organization, public_id=public_id)
    if appeal.status != AppealStatus.DS_SIGNED or not appeal.ds_signed_file:
        raise Http404
    return private_file_response(appeal.ds_signed_file, f"ДС-{appeal.ds_number}.pdf")


@login_required
def appeal_ds_project(request, public_id):
    """The ДС as BPMS sent it, for the parties to read before they sign (not the signed one)."""
    organization = _organization(request)
    appeal = selectors.appeal_get_visible(organization=organization, public_id=public_id)
    if appeal.status not in transitions.DEVELOPER_VISIBLE or not appeal.ds_file:
        raise Http404
    return private_file_response(appeal.ds_file, f"ДС-проект-{appeal.contract.number}.pdf".replace("/", "-"))
