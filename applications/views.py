"""Thin views of «Мои заявки» → «Гарантирование». Every object is fetched through a selector
scoped to the user's organization (another organization's object is a 404)."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_htmx.http import HttpResponseClientRedirect

from bpms_bridge.selectors import case_terms
from cabinets.selectors import contracts_of, legal_entity_lookup
from homeportal.pagination import paginate
from homeportal.uploads import private_file_response, upload_limit, upload_was_too_large

from . import selectors, services
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


def _is_htmx(request) -> bool:
    return bool(getattr(request, "htmx", False))


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
def application_list(request):
    organization = request.user.organization
    qs = selectors.application_list(organization=organization) if organization else Application.objects.none()
    page, query_string = paginate(request, qs)
    return render(request, "applications/list.html", {
        "applications": page.object_list, "page": page, "query_string": query_string,
    })


@login_required
def subsidy_list(request):
    return render(request, "applications/subsidy_list.html")


@login_required
def application_create(request):
    """«Создание заявки на гарантирование»: the modal (htmx) or the page; `step=choose` only
    re-renders with what was chosen (the no-JS way to make «Создать» appear)."""
    organization = _organization(request)
    contracts = contracts_of(organization=organization, kind="guarantee")
    form = CreateApplicationForm(request.POST or None, contracts=contracts)
    choosing = request.POST.get("step") == "choose"
    if request.method == "POST" and not choosing and form.is_valid():
        application = services.application_create(
            organization=organization, actor=request.user, contract=_chosen_contract(form, organization, contracts)
        )
        return _redirect(request, reverse("applications:stage", args=[application.public_id, 1]))
    template = "applications/create.html#modal" if request.htmx else "applications/create.html"
    return render(request, template, {"form": form, "contracts": form.contracts,
                                      "show_errors": form.is_bound and not choosing})


def _chosen_contract(form, organization, contracts):
    if form.cleaned_data["under_contract"] != "yes":
        return None
    if form.cleaned_data.get("other_contract") == "yes":
        return services.contract_register_outside_portal(
            organization=organization, number=form.cleaned_data["contract_number"],
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
    return redirect("applications:list")


@login_required
def application_history(request, public_id):
    application = _get(request, public_id)
    terms = case_terms(case_kind="application", case_id=str(application.public_id), now=timezone.now())
    return render(request, "applications/history.html", {
        "application": application, "entries": selectors.history_of(application), "Status": Status, "terms": terms,
    })


@login_required
def history_file(request, public_id, entry_id):
    application = _get(request, public_id)
    entry = get_object_or_404(application.history.exclude(file=""), pk=entry_id)
    return private_file_response(entry.file, f"{entry.event}-{entry.pk}.pdf")


# --- the 4-stage form -------------------------------------------------------------------------

STAGE1_TAB_CODES = [code for code, _t, _f in selectors.STAGE1_TABS]
COMPANY_TABS = STAGE1_TAB_CODES + ["expertise"]


def _tab_values(request, tab: str) -> dict:
    """What was typed in a tab, kept exactly — only this tab's own fields, each cut at 2 000 characters."""
    if tab == "shareholders":
        return {k: v[:2000] for k, v in request.POST.items() if k.startswith("sh-")}
    names = selectors.tab_form(selectors.Application(data={}), tab).fields
    return {f"{tab}-{name}": request.POST[f"{tab}-{name}"][:2000] for name in names if f"{tab}-{name}" in request.POST}


def _shareholder_rows(values: dict) -> list[dict]:
    raw = str(values.get("sh-TOTAL_FORMS") or "0")
    total = int(raw) if raw.isdigit() else 1
    rows = []
    for i in range(min(total, 200)):
        rows.append({key: values.get(f"sh-{i}-{key}", "") for key in ("name", "bin_iin", "share", "registered_on")})
    return rows


def _stage_context(request, application, stage: int, tab: str | None, bound=None):
    organization = request.user.organization
    role = selectors.role_of(application=application, organization=organization)
    readiness = selectors.application_readiness(application)
    editable = application.is_editable
    ctx = {
        "application": application, "stage": stage, "stages": selectors.STAGES, "role": role,
        "is_company": role == Provider.COMPANY, "editable": editable, "readiness": readiness,
        "can_send": role == Provider.COMPANY and readiness.complete and application.status in (Status.DRAFT, Status.REVISION),
        "can_sign": role == Provider.COMPANY and application.status in (Status.DRAFT, Status.REVISION, Status.TO_SIGN)
        and (readiness.complete or application.status == Status.TO_SIGN),
        "max_file_mb": MAX_FILE_BYTES // (1024 * 1024),
        "Status": Status,
    }
    if stage == 1:
        ctx["tabs"] = [(code, title, readiness.tabs.get(code)) for code, title, _f in selectors.STAGE1_TABS]
        ctx["tab"] = tab
        form = bound if bound is not None else _unbound_tab_form(application, tab)
        ctx["form"] = form
        ctx["tab_editable"] = editable and role == Provider.COMPANY
        if tab == "developer":
            ctx["invitations"] = application.invitations.order_by("-created_at")[:3]
    elif stage in (2, 3):
        ctx["document_fields"] = selectors.document_fields(application, stage)
        if stage == 3:
            ctx["form"] = bound if bound is not None else _unbound_tab_form(application, "expertise")
            ctx["tab_editable"] = editable and role == Provider.COMPANY
    else:
        ctx["consents"] = selectors.consent_rows(application)
        ctx["decision_documents"] = selectors.decision_documents(application)
        ctx["reviews"] = application.reviews.all()[:5]
    return ctx


def _unbound_tab_form(application, tab):
    """The tab's form over the stored values; the template shows errors only after a submit."""
    return selectors.tab_form(application, tab)


@login_required
def application_stage(request, public_id, stage: int):
    if stage not in (1, 2, 3, 4):
        raise Http404
    application = _get(request, public_id)
    organization = request.user.organization
    role = selectors.role_of(application=application, organization=organization)
    tab = request.GET.get("tab") or request.POST.get("tab") or "company"
    if stage == 1 and tab not in STAGE1_TAB_CODES:
        tab = "company"
    current_tab = tab if stage == 1 else ("expertise" if stage == 3 else None)

    if request.method != "POST":
        ctx = _stage_context(request, application, stage, tab)
        ctx["show_errors"] = request.GET.get("check") == "1"
        if _is_htmx(request):
            response = render(request, "applications/partials/stage_body.html", ctx)
            response["HX-Push-Url"] = request.get_full_path()  # the tab is part of the address
            return response
        return render(request, "applications/stage.html", ctx)

    action = request.POST.get("action", "save")
    bound = None
    if current_tab and role == Provider.COMPANY and application.is_editable:
        values = _tab_values(request, current_tab)
        if current_tab == "shareholders":
            rows = _shareholder_rows(values)
            if action == "add_shareholder":
                rows.append({"name": "", "bin_iin": "", "share": "", "registered_on": ""})
            elif action.startswith("remove_shareholder:"):
                idx = int(action.split(":", 1)[1]) if action.split(":", 1)[1].isdigit() else -1
                if 0 <= idx < len(rows) and len(rows) > 1:
                    rows.pop(idx)
            stored = rows
        else:
            stored = values
            if current_tab == "developer" and action == "search":
                record = legal_entity_lookup(bin=(values.get("developer-bin") or "").strip())
                stored = {**values, "developer-name": record.name_ru if record else ""}
                if record is None:
                    messages.error(request, _("No legal entity with this BIN was found in the registry."))
        try:
            application = services.application_save_tab(
                application=application, tab=current_tab, values=stored, actor=request.user
            )
        except ApplicationError as exc:
            messages.error(request, exc.message)
            return redirect("applications:stage", public_id, stage)
        bound = selectors.tab_form(application, current_tab)

    try:
        if action == "save":
            if not application.is_editable:
                raise ApplicationError(_("The application has been sent and can no longer be changed."))
            services.application_draft_saved(application=application, actor=request.user)
            messages.success(request, _("The draft has been saved."))
        elif action in ("generate_link", "send_invitation"):
            if role != Provider.COMPANY:
                raise PermissionDenied
            if action == "generate_link":
                _inv, token = services.invitation_create(application=application, actor=request.user)
                request.session["applications_last_link"] = None  # the link is shown once, never kept
                ctx_link = services.invitation_url(token)
                ctx = _stage_context(request, application, stage, tab, bound=bound)
                ctx.update(show_errors=True, generated_link=ctx_link)
                return render(request, _stage_template(request), ctx)
            services.invitation_send(application=application, actor=request.user)
            messages.success(request, _("The invitation has been sent to the developer's e-mail."))
        elif action == "next":
            if stage == 1 and not _stage1_valid(application):
                messages.error(request, _("Fill in the required fields of every tab correctly to go on."))
                first_bad = next(c for c in STAGE1_TAB_CODES if not selectors.tab_is_valid(application, c))
                if first_bad != tab:
                    return redirect(reverse("applications:stage", args=[public_id, 1]) + f"?tab={first_bad}&check=1")
            elif stage in (2, 3) and role == Provider.COMPANY and not _company_stage_valid(application, stage, bound):
                messages.error(request, _("Fill in the required fields of every tab correctly to go on."))
            else:
                return redirect("applications:stage", public_id, min(stage + 1, 4))
        elif action == "back":
            return redirect("applications:stage", public_id, max(stage - 1, 1))
        elif action.startswith("goto_tab:"):
            target = action.split(":", 1)[1]
            if target in STAGE1_TAB_CODES:
                return redirect(reverse("applications:stage", args=[public_id, 1]) + f"?tab={target}")
    except ApplicationError as exc:
        messages.error(request, exc.message)

    if action == "save" and not _is_htmx(request):
        return redirect(reverse("applications:stage", args=[public_id, stage]) + (f"?tab={tab}&check=1" if stage == 1 else "?check=1"))
    ctx = _stage_context(request, application, stage, tab, bound=bound)
    ctx["show_errors"] = True
    return render(request, _stage_template(request), ctx)


def _stage_template(request):
    return "applications/partials/stage_body.html" if _is_htmx(request) else "applications/stage.html"


def _company_stage_valid(application, stage: int, bound) -> bool:
    """The УК's own required documents of the stage (and the expertise block on stage 3)."""
    readiness = selectors.application_readiness(application)
    return readiness.parts[Provider.COMPANY][stage] and (stage != 3 or (bound is not None and bound.is_valid()))


def _stage1_valid(application) -> bool:
    return all(selectors.tab_is_valid(application, c) for c in STAGE1_TAB_CODES)


@login_required
def developer_lookup(request, public_id):
    """htmx: «Поиск» fills the organization name from the legal-entity registry."""
    _get(request, public_id)
    bin_ = (request.GET.get("developer-bin") or request.POST.get("developer-bin") or "").strip()
    record = legal_entity_lookup(bin=bin_) if len(bin_) == 12 else None
    return render(request, "applications/partials/developer_name.html", {"record": record, "searched": True, "bin": bin_})


# --- files ------------------------------------------------------------------------------------


@upload_limit(MAX_FILE_BYTES)  # applied by middleware before CSRF reads the body
@login_required
def file_upload(request, public_id, document_type_id):
    if request.method != "POST":
        raise Http404
    application = _get(request, public_id)
    document_type = get_object_or_404(DocumentType, pk=document_type_id, is_active=True)
    role = selectors.role_of(application=application, organization=request.user.organization)
    errors = []
    try:
        uploaded = request.FILES.getlist("files")
    except Exception:  # noqa: BLE001 - a broken multipart body is the user's input, never a 500
        uploaded = []
    if upload_was_too_large(request):
        errors.append(_("The file is larger than 600 MB and was not uploaded."))
    elif not uploaded:
        errors.append(_("Choose a file to upload."))
    for f in uploaded:
        try:
            services.file_upload(application=application, document_type=document_type, uploaded_file=f,
                                 actor=request.user, provider=role)
        except ApplicationError as exc:
            errors.append(exc.message)
    if _is_htmx(request) or request.headers.get("X-Requested-With") == "XMLHttpRequest":
        field = next(f for f in selectors.document_fields(application, document_type.stage)
                     if f.document_type.pk == document_type.pk)
        status = 400 if errors else 200
        return render(request, "applications/partials/document_field.html", {
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
    return private_file_response(f.file, f.original_name)


@login_required
@require_POST
def file_delete(request, file_id):
    f = selectors.application_file_get(organization=_organization(request), file_id=file_id)
    role = selectors.role_of(application=f.application, organization=request.user.organization)
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
    consent_type = get_object_or_404(ConsentType, pk=consent_type_id, is_active=True)
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
        on_complete="applications.services.consent_on_signed",
        return_url=reverse("applications:stage", args=[public_id, 4]),
        organization=request.user.organization, required_bin=request.user.organization.bin, signer_user=request.user,
    )


@login_required
@require_POST
def consent_request_signature(request, public_id, consent_type_id):
    """The УК e-mails the developer a signing link for the developer's consent."""
    application = _get(request, public_id)
    consent_type = get_object_or_404(ConsentType, pk=consent_type_id, is_active=True)
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
        request, subject=application, document=services.application_document_pdf(application=application),
        filename=f"application-{application.public_id.hex[:8]}.pdf",
        title_ru="Заявка на гарантирование", title_kk="Кепілдікке өтінім",
        on_complete="applications.services.application_on_signed",
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
    return redirect("applications:list")


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
        title_ru=doc.title, title_kk=doc.title, on_complete="applications.services.decision_document_on_signed",
        return_url=reverse("applications:stage", args=[public_id, 4]), organization=request.user.organization,
        signer_user=request.user, signed_document=doc.signed_document,
    )


@login_required
def avr_return(request, public_id, document_id):
    application, doc = _decision_document(request, public_id, document_id)
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
    invitation = services.invitation_get(token=token)
    if invitation is None:
        raise Http404
    if request.method == "POST":
        request.session["applications_invitation"] = invitation.pk
        return _signing_response(
            request, subject=invitation, document=_invitation_document(invitation), filename="developer-confirmation.pdf",
            title_ru="Подтверждение данных застройщика", title_kk="Құрылыс салушының деректерін растау",
            purpose="sign", organization=None, required_bin=invitation.bin, allowed_roles=None,
            on_complete="applications.services.invitation_on_signed",
            return_url=reverse("applications:invitation_done", args=[token]),
        )
    record = legal_entity_lookup(bin=invitation.bin)
    return render(request, "applications/invitation.html", {"invitation": invitation, "record": record})


def _invitation_document(invitation) -> bytes:
    from django.utils import translation

    with translation.override("ru"):
        return services._pdf_render(
            template_name="applications/pdf/invitation.html",
            context={"invitation": invitation, "record": legal_entity_lookup(bin=invitation.bin), "now": timezone.now()},
        )


def invitation_done(request, token):
    """After the ЭЦП confirmation: sign the developer in (only the browser that started it)."""
    from django.contrib.auth import login

    from .models import DeveloperInvitation

    pk = request.session.get("applications_invitation")
    invitation = DeveloperInvitation.objects.filter(pk=pk, used_at__isnull=False).select_related("used_by").first() if pk else None
    if invitation is None or invitation.token_hash != services._token_hash(token) or invitation.used_by is None:
        raise Http404
    request.session.pop("applications_invitation", None)
    login(request, invitation.used_by, backend="django.contrib.auth.backends.ModelBackend")
    messages.success(request, _("The developer's cabinet has been created."))
    return redirect("applications:list")
