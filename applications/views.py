"""Thin views of «Мои заявки», one set for every service («Гарантирование», «Субсидирование»).
Every object is fetched through a selector scoped to the user's organization (another
organization's object is a 404)."""

import io
from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect, push_url

from bpms_bridge.selectors import case_terms
from cabinets.selectors import contracts_of, legal_entity_lookup
from homeportal import page_cache
from homeportal.forms import NUL_REMOVED, strip_nul
from homeportal.page_cache import cached_page
from homeportal.pagination import HISTORY_PAGE_SIZE, paginate
from homeportal.uploads import (
    private_file_response,
    upload_limit,
    upload_total_was_too_large,
    upload_was_too_large,
)

from . import selectors, services, wizard
from .definitions import service_of
from .forms import AvrReturnForm, CreateApplicationForm
from .models import (
    Application,
    ConsentDocument,
    ConsentType,
    DecisionDocument,
    DocumentType,
    Provider,
    Status,
)
from .services import MAX_FILE_BYTES, ApplicationError


def _organization(request):
    org = request.user.organization
    if org is None:
        raise Http404
    return org


def _get(request, public_id):
    return selectors.application_get(organization=_organization(request), public_id=public_id)


def legacy_redirect(request, public_id, rest: str):
    """An address of the old shape `/applications/guarantee/<uuid>/…` → `/applications/<uuid>/…`:
    permanent, with the query string; a POST keeps its method and body (308)."""
    from django.http import HttpResponsePermanentRedirect

    url = reverse("applications:history", args=[public_id]).removesuffix("history/") + rest
    if request.META.get("QUERY_STRING"):
        url += "?" + request.META["QUERY_STRING"]
    response = HttpResponsePermanentRedirect(url)
    if request.method not in ("GET", "HEAD"):
        response.status_code = 308
    return response


def _redirect(request, url: str):
    """A plain redirect, or for htmx a client-side one (the whole page changes, not the swap target)."""
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


# --- signing, behind one function ------------------------------------------------------------


SIGNING_ROLES = {"head", "may_sign"}


def _signing_response(request, *, subject, document: bytes, filename: str, title_ru: str, title_kk: str,
                      on_complete: str, return_url: str, purpose: str = "sign", organization=None,
                      required_bin: str | None = None, signer_user=None, signed_document=None,
                      allowed_roles=SIGNING_ROLES):
    """The signing modal (ЭЦП / eGov QR) for one document; signing calls `on_complete` when done."""
    from signing.services import signing_request_create
    from signing.views import signing_modal_response

    signing_request = signing_request_create(
        subject=subject, document=document, filename=filename, title_ru=title_ru, title_kk=title_kk, purpose=purpose,
        organization=organization, required_bin=required_bin, allowed_roles=allowed_roles, on_complete=on_complete,
        return_url=return_url, signer_user=signer_user, signed_document=signed_document,
    )
    return signing_modal_response(request, signing_request)


# --- list, create, delete, history ------------------------------------------------------------


@login_required
@cached_page
def application_list(request, service: str = "guarantee"):
    """«Мои заявки» of one service (`service` comes from the URL pattern)."""
    definition = service_of(service)
    organization = request.user.organization
    qs = selectors.application_list(organization=organization, service=service) if organization \
        else Application.objects.none()
    page, query_string = paginate(request, qs)
    return render(request, "applications/list.html", {
        "applications": page.object_list, "page": page, "query_string": query_string, "service": definition,
    })


@login_required
def application_create(request, service: str = "guarantee"):
    """«Создание заявки на гарантирование / субсидирование»: the modal (htmx) or the page;
    `step=choose` only re-renders with what was chosen (the no-JS way to make «Создать» appear)."""
    definition = service_of(service)
    organization = _organization(request)
    contracts = contracts_of(organization=organization, kind=definition.contract_kind)
    form = CreateApplicationForm(request.POST or None, contracts=contracts, service=definition)
    choosing = request.POST.get("step") == "choose"
    if request.method == "POST" and not choosing and form.is_valid():
        application = services.application_create(
            organization=organization, actor=request.user, service=service,
            contract=_chosen_contract(form, organization, contracts, definition),
        )
        return _redirect(request, reverse("applications:stage", args=[application.public_id, 1]))
    template = "applications/create.html#modal" if request.htmx else "applications/create.html"
    return render(request, template, {"form": form, "contracts": form.contracts, "service": definition,
                                      "show_errors": form.is_bound and not choosing})


def _chosen_contract(form, organization, contracts, definition):
    if form.cleaned_data["under_contract"] != "yes":
        return None
    if form.cleaned_data.get("other_contract") == "yes":
        return services.contract_register_outside_portal(
            organization=organization, number=form.cleaned_data["contract_number"], kind=definition.contract_kind,
            signed_on=form.cleaned_data["contract_date"], project_name=form.cleaned_data["contract_project"],
        )
    return contracts.get(pk=form.cleaned_data["contract"])


@login_required
@require_POST
def application_delete(request, public_id):
    application = _get(request, public_id)
    if application.organization_id != request.user.organization_id:
        raise Http404
    try:
        services.application_delete(application=application, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The application has been deleted."))
    return redirect(application.definition.list_url)


@login_required
@cached_page
def application_history(request, public_id):
    application = _get(request, public_id)
    terms = case_terms(case_kind=application.definition.bpms_case_kind, case_id=str(application.public_id),
                       now=timezone.now())
    page, query_string = paginate(request, selectors.history_of(application), per_page=HISTORY_PAGE_SIZE)
    return render(request, "applications/history.html", {
        "application": application, "entries": page.object_list, "page": page, "query_string": query_string,
        "Status": Status, "terms": terms,
    })


@login_required
def application_history_export(request, public_id):
    """«Выгрузить историю»: every stage with its hash and the chain's latest time-stamp, a PDF signed by KZhK."""
    from audit.views import history_export_response

    application = _get(request, public_id)
    entries = list(application.history.select_related("signature").order_by("chain_seq", "pk"))
    for entry in entries:
        entry.application = application
    return history_export_response(
        request, obj=application, entries=entries, title=application.project_name or str(application.public_id),
        filename=f"history-{application.public_id}", back_url=reverse("applications:history", args=[application.public_id]))


@login_required
def history_file(request, public_id, entry_id):
    """«Скачать» of a history stage: its document, else the decision document it is about (the
    signed PDF once every party signed), else the document the recorded signature signed."""
    application = _get(request, public_id)
    entry = selectors.history_entry_get(application=application, entry_id=entry_id)
    if entry.document:
        return private_file_response(entry.document, entry.document_name or f"{entry.event}-{entry.pk}.pdf")
    if entry.decision_document_id:
        url = reverse("applications:decision_download", args=[public_id, entry.decision_document_id])
        return redirect(url if entry.decision_document.state == DecisionDocument.State.SIGNED else f"{url}?review=1")
    signed = entry.signature.signing_request
    if signed is None or not signed.document:
        raise Http404
    return FileResponse(io.BytesIO(bytes(signed.document)), as_attachment=True, filename=signed.filename,
                        content_type=signed.mime_type)


# --- the wizard (stages and tabs from the service's definition) --------------------------------


@dataclass
class _Stage:
    """One request on one stage of one application: who asks and which tab it is on."""

    application: object
    stage: int
    tab: str | None
    role: str | None

    @property
    def definition(self):
        return self.application.definition

    @property
    def stage_def(self):
        return self.definition.stage(self.stage)

    @property
    def current_tab(self) -> str | None:
        """The tab whose fields this stage's form carries (the open tab of a strip, or the one block)."""
        return self.tab

    @property
    def tab_def(self):
        return self.definition.tabs[self.tab] if self.tab else None

    @property
    def company_edits(self) -> bool:
        return self.role == Provider.COMPANY and self.application.is_editable

    def url(self, stage: int | None = None, query: str = "") -> str:
        return reverse("applications:stage", args=[self.application.public_id, stage or self.stage]) + query

    def tab_url(self, code: str, query: str = "") -> str:
        """The address of a tab of a strip (any stage)."""
        return self.url(self.definition.tab_stage(code), f"?tab={code}{query}")


def _stage_of(request, public_id, stage: int) -> _Stage:
    application = _get(request, public_id)
    stage_def = application.definition.stage(stage)
    if stage_def is None:
        raise Http404
    role = selectors.role_of(application=application, organization=request.user.organization)
    codes = [t.code for t in stage_def.tabs]
    tab = request.GET.get("tab") or request.POST.get("tab") or ""
    return _Stage(application, stage, tab if tab in codes else (codes[0] if codes else None), role)


def _stage_context(request, page: _Stage, *, bound=None, **extra) -> dict:
    application, stage, role = page.application, page.stage, page.role
    readiness = selectors.application_readiness(application)
    editable = application.is_editable
    service = page.definition
    ctx = {
        "application": application, "stage": stage, "role": role, "service": service,
        "stages": [(s.number, s.title) for s in service.stages], "stage_def": page.stage_def, "tab_def": page.tab_def,
        "is_company": role == Provider.COMPANY, "editable": editable, "readiness": readiness,
        "can_send": role == Provider.COMPANY and readiness.complete and application.status in (Status.DRAFT, Status.REVISION),
        "can_sign": role == Provider.COMPANY and application.status in (Status.DRAFT, Status.REVISION, Status.TO_SIGN)
        and (readiness.complete or application.status == Status.TO_SIGN),
        "max_file_mb": MAX_FILE_BYTES // (1024 * 1024), "Status": Status, "tab": page.tab,
        "tab_editable": editable and role == Provider.COMPANY, **extra,
    }
    if page.stage_def.tab_strip:
        ctx["tabs"] = [(t.code, t.title, readiness.tabs.get(t.code)) for t in page.stage_def.tabs]
    if page.tab == "developer":
        ctx["invitations"] = application.invitations.order_by("-created_at")[:3]
        first_expiry = application.invitations.filter(used_at__isnull=True, expires_at__gt=timezone.now()) \
            .order_by("expires_at").values_list("expires_at", flat=True).first()
        ctx["live_invitation"] = first_expiry is not None
        page_cache.expires_by(first_expiry)  # a cached tab shows the link as live until then only
    if page.stage_def.documents is not None:
        ctx["document_fields"] = readiness.document_fields[stage]
    if page.current_tab:
        # The tab's form over the stored values (the one the readiness validated); the template
        # shows errors only after a submit.
        form = bound if bound is not None else readiness.forms.get(page.current_tab)
        ctx["form"] = form if form is not None else selectors.tab_form(application, page.current_tab)
    if page.stage_def.consents:
        ctx["consents"] = readiness.consents if readiness.consents is not None else selectors.consent_rows(application)
        ctx["decision_documents"] = selectors.decision_documents(application)
        ctx["reviews"] = application.reviews.all()[:5]
    return ctx


def _stage_render(request, page: _Stage, **ctx):
    """The stage page, or for htmx its partial `body` (stage.html#body)."""
    template = "applications/stage.html#body" if request.htmx else "applications/stage.html"
    return render(request, template, _stage_context(request, page, **ctx))


@login_required
@cached_page
def application_stage(request, public_id, stage: int):
    """One stage of the 4-stage form. A POST first keeps what was typed in the open tab, then
    runs the pressed button's action (`STAGE_ACTIONS`)."""
    page = _stage_of(request, public_id, stage)
    if request.method != "POST":
        response = _stage_render(request, page, show_errors=request.GET.get("check") == "1")
        if request.htmx:
            push_url(response, request.get_full_path())  # the tab is part of the address
        return response
    bound = None
    if page.current_tab and page.company_edits:
        stored = _store_typed_tab(request, page)
        if isinstance(stored, HttpResponseBase):
            return stored
        bound, blocks_changed, damaged = stored
        if blocks_changed or damaged:  # «+ Добавить» / 🗑: the blocks again, nothing else
            return _stage_render(request, page, bound=bound, show_errors=damaged)
    action = "goto_tab" if "goto_tab" in request.POST else request.POST.get("action", "save")
    try:
        return STAGE_ACTIONS.get(action, _stage_show)(request, page, bound)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return _stage_render(request, page, bound=bound, show_errors=True)


def _store_typed_tab(request, page: _Stage):
    """Keeps the open tab's values as typed: (bound form over them, blocks added/removed, counters
    damaged), or a redirect when the service refuses."""
    tab, tab_def = page.current_tab, page.tab_def
    changed = damaged = False
    if tab_def.repeatable is not None:
        posted = tab_def.bind(request.POST)
        stored, changed, damaged = posted.typed_rows(), posted.rows_changed(), posted.counters_damaged()
    else:
        stored = wizard.posted_values(tab_def, request.POST)
        if tab == "developer" and request.POST.get("action") == "search":
            record = legal_entity_lookup(bin=(stored.get("developer-bin") or "").strip())
            stored["developer-name"] = record.name_ru if record else ""
            if record is None:
                messages.error(request, _("No legal entity with this BIN was found in the registry."))
    if strip_nul(stored) != stored:  # the service drops NUL bytes (PostgreSQL refuses them)
        messages.warning(request, NUL_REMOVED)
    try:
        page.application = services.application_save_tab(
            application=page.application, tab=tab, values=stored, actor=request.user
        )
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect(page.url())
    bound = selectors.tab_form(page.application, tab)
    if damaged:
        bound.mark_damaged()
    return bound, changed, damaged


# --- the stage form's buttons: each takes (request, page, bound form of the open tab or None) ---


def _stage_show(request, page, bound):
    """The stage again with the messages at the fields (an unknown button does just this)."""
    return _stage_render(request, page, bound=bound, show_errors=True)


def _stage_save(request, page, bound):
    """«Сохранить черновик»."""
    if not page.application.is_editable:
        raise ApplicationError(_("The application has been sent and can no longer be changed."))
    services.application_draft_saved(application=page.application, actor=request.user)
    messages.success(request, _("The draft has been saved."))
    if request.htmx:
        return _stage_show(request, page, bound)
    return redirect(page.url(query=f"?tab={page.tab}&check=1" if page.stage_def.tab_strip else "?check=1"))


def _stage_next(request, page, bound):
    """«Далее»: only over a valid stage; on a tab strip to the first tab that is not."""
    application, stage, stage_def = page.application, page.stage, page.stage_def
    numbers = page.definition.numbers
    if stage_def.tab_strip:
        first_bad = next((t.code for t in stage_def.tabs if not selectors.tab_is_valid(application, t.code)), None)
        if first_bad is not None:
            messages.error(request, _("Fill in the required fields of every tab correctly to go on."))
            if first_bad != page.tab:
                return redirect(page.url(stage, f"?tab={first_bad}&check=1"))
            return _stage_show(request, page, bound)
    elif page.role == Provider.COMPANY and stage != page.definition.last and \
            not selectors.application_readiness(application).parts[Provider.COMPANY][stage]:
        messages.error(request, _("Fill in the required fields of every tab correctly to go on."))
        return _stage_show(request, page, bound)
    later = [n for n in numbers if n > stage]
    return redirect(page.url(later[0] if later else stage))


def _stage_back(request, page, bound):
    earlier = [n for n in page.definition.numbers if n < page.stage]
    return redirect(page.url(earlier[-1] if earlier else page.stage))


def _stage_goto_tab(request, page, bound):
    """A tab of the strip (the typed values of the open one were kept)."""
    target = request.POST.get("goto_tab", "")
    codes = [t.code for t in page.stage_def.tabs] if page.stage_def.tab_strip else []
    return redirect(page.url(page.stage, f"?tab={target}")) if target in codes else _stage_show(request, page, bound)


def _company_only(page):
    if page.role != Provider.COMPANY:
        raise Http404  # the УК's buttons (#10 item 7)


def _stage_generate_link(request, page, bound):
    """«Сгенерировать ссылку»: the application's invitation link, shown on the page (never stored)."""
    _company_only(page)
    _invitation, token = services.invitation_create(application=page.application, actor=request.user)
    return _stage_render(request, page, bound=bound, show_errors=True, generated_link=services.invitation_url(token))


def _stage_send_invitation(request, page, bound):
    """«Отправить электронное уведомление»: the same link by e-mail."""
    _company_only(page)
    services.invitation_send(application=page.application, actor=request.user)
    messages.success(request, _("The invitation has been sent to the developer's e-mail."))
    return _stage_show(request, page, bound)


def _stage_withdraw_invitation(request, page, bound):
    """«Отозвать приглашение»: the unused links stop working."""
    _company_only(page)
    services.invitation_withdraw(application=page.application, actor=request.user)
    messages.success(request, _("The invitation has been withdrawn: its link no longer works."))
    return _stage_show(request, page, bound)


STAGE_ACTIONS = {
    "withdraw_invitation": _stage_withdraw_invitation,
    "save": _stage_save, "next": _stage_next, "back": _stage_back, "goto_tab": _stage_goto_tab,
    "generate_link": _stage_generate_link, "send_invitation": _stage_send_invitation, "search": _stage_show,
}


@login_required
def developer_lookup(request, public_id):
    """htmx: «Поиск» fills the organization name from the legal-entity registry."""
    _get(request, public_id)
    bin_ = (request.GET.get("developer-bin") or request.POST.get("developer-bin") or "").strip()
    record = legal_entity_lookup(bin=bin_) if len(bin_) == 12 else None
    return render(request, "applications/stage.html#developer_name", {"record": record, "searched": True, "bin": bin_})


# --- files ------------------------------------------------------------------------------------


@upload_limit(MAX_FILE_BYTES)  # applied by middleware before CSRF reads the body
@login_required
def file_upload(request, public_id, document_type_id):
    if request.method != "POST":
        raise Http404
    application = _get(request, public_id)
    document_type = get_object_or_404(DocumentType, pk=document_type_id, is_active=True, service=application.service)
    role = selectors.role_of(application=application, organization=request.user.organization)
    if document_type.provider != role:  # the other party's slot (#10 item 7)
        raise Http404
    errors = []
    try:
        uploaded = request.FILES.getlist("files")
    except Exception:  # noqa: BLE001 - a broken multipart body is the user's input, never a 500
        uploaded = []
    if upload_total_was_too_large(request):  # each file within the limit, together over it (#10 item 9)
        errors.append(_("The files chosen together are larger than %(mb)s MB, the limit of one upload, and were "
                        "not uploaded. Upload them in several goes.") % {"mb": MAX_FILE_BYTES // (1024 * 1024)})
        uploaded = []
    elif upload_was_too_large(request):
        errors.append(_("The file is larger than 600 MB and was not uploaded."))
        uploaded = []
    elif not uploaded:
        errors.append(_("Choose a file to upload."))
    for f in uploaded:
        try:
            services.file_upload(application=application, document_type=document_type, uploaded_file=f,
                                 actor=request.user, provider=role)
        except ApplicationError as exc:
            errors.append(exc.message)
    if request.htmx or request.headers.get("X-Requested-With") == "XMLHttpRequest":  # applications.js's XHR
        field = next(f for f in selectors.document_fields(application, document_type.stage)
                     if f.document_type.pk == document_type.pk)
        status = 400 if errors else 200
        return render(request, "applications/stage.html#document_field", {
            "df": field, "application": application, "errors": errors, "role": role,
            "editable": application.is_editable}, status=status)
    for e in errors:
        messages.error(request, e)
    if not errors:
        messages.success(request, _("The file has been uploaded."))
    return redirect("applications:stage", public_id, document_type.stage)


@login_required
def file_download(request, file_id):
    f = selectors.application_file_get(organization=_organization(request), file_id=file_id)
    return private_file_response(f.file, f.original_name, f.content_type)


@login_required
@require_POST
def file_delete(request, file_id):
    f = selectors.application_file_get(organization=_organization(request), file_id=file_id)
    role = selectors.role_of(application=f.application, organization=request.user.organization)
    if f.document_type.provider != role:  # the other party's file (#10 item 7)
        raise Http404
    stage = f.document_type.stage
    try:
        services.file_delete(file=f, actor=request.user, provider=role)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("applications:stage", f.application.public_id, stage)


# --- consents, signing, sending -------------------------------------------------------------


@login_required
@require_POST
def consent_form(request, public_id, consent_type_id):
    application = _get(request, public_id)
    consent_type = get_object_or_404(ConsentType, pk=consent_type_id, is_active=True, service=application.service)
    role = selectors.role_of(application=application, organization=request.user.organization)
    if role == Provider.DEVELOPER and consent_type.provider != Provider.DEVELOPER:
        raise Http404  # the УК's consent (#10 item 7); the УК forms the developer's too, to send its link
    try:
        services.consent_form(application=application, consent_type=consent_type, actor=request.user)
        messages.success(request, _("The consent has been formed."))
    except ApplicationError as exc:
        messages.error(request, exc.message)
    return redirect("applications:stage", public_id, 4)


@login_required
def consent_view(request, public_id, consent_type_id):
    application = _get(request, public_id)
    consent = get_object_or_404(ConsentDocument, application=application, consent_type_id=consent_type_id)
    return private_file_response(consent.pdf, f"consent-{consent_type_id}.pdf")


@login_required
@require_POST
def consent_sign(request, public_id, consent_type_id):
    application = _get(request, public_id)
    consent = get_object_or_404(ConsentDocument.objects.select_related("consent_type"), application=application,
                                consent_type_id=consent_type_id)
    role = selectors.role_of(application=application, organization=request.user.organization)
    if consent.consent_type.provider != role or not application.is_editable:
        raise Http404
    with consent.pdf.open("rb") as fh:
        document = fh.read()
    return _signing_response(
        request, subject=consent, document=document, filename=f"consent-{consent_type_id}.pdf",
        title_ru=consent.consent_type.name_ru, title_kk=consent.consent_type.name_kk,
        on_complete="applications:consent_signed",
        return_url=reverse("applications:stage", args=[public_id, 4]),
        organization=request.user.organization, required_bin=request.user.organization.bin, signer_user=request.user,
    )


@login_required
@require_POST
def consent_request_signature(request, public_id, consent_type_id):
    """The УК e-mails the developer a signing link for the developer's consent."""
    application = _get(request, public_id)
    consent_type = get_object_or_404(ConsentType, pk=consent_type_id, is_active=True, service=application.service)
    if selectors.role_of(application=application, organization=request.user.organization) != Provider.COMPANY:
        raise Http404
    try:
        services.consent_request_developer_signature(application=application, consent_type=consent_type,
                                                     actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, _("The signing link has been sent to the developer's e-mail."))
    return redirect("applications:stage", public_id, 4)


@login_required
@require_POST
def application_sign(request, public_id):
    """«Подписание заявки»."""
    application = _get(request, public_id)
    if selectors.role_of(application=application, organization=request.user.organization) != Provider.COMPANY:
        raise Http404
    try:
        if application.status != Status.TO_SIGN:
            services._require_complete(application)
        if application.status not in (Status.DRAFT, Status.REVISION, Status.TO_SIGN):
            raise ApplicationError(_("The application has been sent and can no longer be changed."))
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("applications:stage", public_id, 4)
    return _signing_response(
        request, subject=application, document=services.application_document_pdf(
            application=application, language=get_language()),
        filename=f"application-{application.public_id.hex[:8]}.pdf",
        title_ru=application.definition.pdf_title_ru, title_kk=application.definition.pdf_title_kk,
        on_complete="applications:application_signed",
        return_url=reverse("applications:stage", args=[public_id, 4]),
        organization=application.organization, required_bin=application.organization.bin, signer_user=request.user,
    )


@login_required
@require_POST
def application_send_to_moderation(request, public_id):
    application = _get(request, public_id)
    if selectors.role_of(application=application, organization=request.user.organization) != Provider.COMPANY:
        raise Http404
    try:
        application = services.application_send_to_moderation(application=application, actor=request.user)
    except ApplicationError as exc:
        messages.error(request, exc.message)
        return redirect("applications:stage", public_id, 4)
    if application.moderation_opens_at and application.moderation_opens_at > timezone.now():
        messages.warning(request, _(
            "Applications are accepted for checking on working days from 9:30 to 19:00. Yours is queued until %(at)s."
        ) % {"at": timezone.localtime(application.moderation_opens_at).strftime("%d.%m.%Y %H:%M")})
    else:
        messages.success(request, _("The application has been sent to moderation."))
    return redirect(application.definition.list_url)


# --- decision documents (pledge agreements, АВР) ------------------------------------------------


def _decision_document(request, public_id, document_id):
    application = _get(request, public_id)
    return application, get_object_or_404(DecisionDocument, application=application, pk=document_id)


@login_required
def decision_document_download(request, public_id, document_id):
    """The KZhK file for review; once every party signed, signing's issued PDF (with the stamp)."""
    _application, doc = _decision_document(request, public_id, document_id)
    if doc.signed_document_id and doc.state == DecisionDocument.State.SIGNED and request.GET.get("review") != "1":
        return redirect("signing:document_download", doc.signed_document.public_id)
    if doc.state == DecisionDocument.State.SIGNED or doc.kind == DecisionDocument.Kind.REJECTION or \
            request.GET.get("review") == "1":
        return private_file_response(doc.file, doc.file.name.rsplit("/", 1)[-1])
    raise Http404


@login_required
@require_POST
def decision_document_sign(request, public_id, document_id):
    _application, doc = _decision_document(request, public_id, document_id)
    if doc.state != DecisionDocument.State.TO_SIGN or not doc.signed_document_id:
        raise Http404
    return _signing_response(
        request, subject=doc, document=bytes(doc.signed_document.document), filename=doc.signed_document.filename,
        title_ru=doc.title, title_kk=doc.title, on_complete="applications:decision_document_signed",
        return_url=reverse("applications:stage", args=[public_id, 4]), organization=request.user.organization,
        signer_user=request.user, signed_document=doc.signed_document,
    )


@login_required
def avr_return(request, public_id, document_id):
    application, doc = _decision_document(request, public_id, document_id)
    if selectors.role_of(application=application, organization=request.user.organization) != Provider.COMPANY:
        raise Http404  # the АВР is the УК's to return (#10 item 7)
    form = AvrReturnForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.avr_return(document=doc, comment=form.cleaned_data["comment"], actor=request.user)
        except ApplicationError as exc:
            form.add_error("comment", exc.message)
        else:
            messages.success(request, _("The certificate has been sent for revision."))
            return redirect("applications:stage", public_id, 4)
    return render(request, "applications/avr_return.html", {"application": application, "document": doc, "form": form})


# --- the developer's invitation (public link) ---------------------------------------------------


def invitation_open(request, token):
    invitation = selectors.invitation_get(token=token)
    if invitation is None:
        raise Http404
    if request.method == "POST":
        request.session["applications_invitation"] = invitation.pk
        return _signing_response(
            request, subject=invitation, document=_invitation_document(invitation), filename="developer-confirmation.pdf",
            title_ru="Подтверждение данных застройщика", title_kk="Құрылыс салушының деректерін растау",
            purpose="sign", organization=None, required_bin=invitation.bin, allowed_roles=None,
            on_complete="applications:invitation_confirmed",
            return_url=reverse("applications:invitation_done", args=[token]),
        )
    record = legal_entity_lookup(bin=invitation.bin)
    return render(request, "applications/invitation.html", {"invitation": invitation, "record": record})


def _invitation_document(invitation) -> bytes:
    from django.utils import translation

    with translation.override(translation.get_language()):  # the developer confirms in the language they read
        return services._pdf_render(
            template_name="applications/pdf/invitation.html",
            context={"invitation": invitation, "record": legal_entity_lookup(bin=invitation.bin), "now": timezone.now()},
        )


def invitation_done(request, token):
    """After the ЭЦП confirmation: sign the developer in (only the browser that started it)."""
    from django.contrib.auth import login

    from cabinets.backends import SESSION_BACKEND

    from .models import DeveloperInvitation

    pk = request.session.get("applications_invitation")
    invitation = DeveloperInvitation.objects.filter(pk=pk, used_at__isnull=False).select_related("used_by").first() if pk else None
    if invitation is None or invitation.token_hash != selectors.token_hash(token) or invitation.used_by is None:
        raise Http404
    request.session.pop("applications_invitation", None)
    login(request, invitation.used_by, backend=SESSION_BACKEND)
    messages.success(request, _("The developer's cabinet has been created."))
    return redirect("applications:list")
