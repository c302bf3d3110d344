"""Thin views of the cabinet: registration, three logins, profile, notifications, surveys, FAQ."""

import logging
import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import authenticate, login, logout
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import get_language, gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from homeportal import ratelimits
from homeportal.forms import NUL_MESSAGE, ascii_id, strip_nul
from homeportal.page_cache import cached_page
from homeportal.pagination import paginate

from . import captcha, selectors, services
from .backends import SESSION_BACKEND
from .forms import (
    BinPasswordForm,
    ConfirmForm,
    ContactChangeForm,
    ContactCodeForm,
    EmailCodeForm,
    EmailForm,
    NewPasswordForm,
    RegistrationForm,
    ResetForm,
)
from .models import LoginChallenge, OutboundMessage, RegistrationDraft, SurveyQuestion
from .otp import OtpError
from .passwords import PASSWORD_RULES, SPECIAL_CHARACTERS
from .services import CabinetError

logger = logging.getLogger(__name__)
LOGIN_TABS = [("email", _("E-mail")), ("bin", _("BIN/Password")), ("eds", _("EDS/QR"))]


def _language() -> str:
    return get_language() or settings.LANGUAGE_CODE


def _after_login(request, user):
    login(request, user, backend=SESSION_BACKEND)  # a new session id (Django cycles the key)
    logger.info("cabinet login: user %s", user.pk)
    # A language chosen on this browser (the switch sets the cookie) is the user's choice; a
    # browser without one gets the language the user chose before.
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    if chosen in dict(settings.LANGUAGES):
        services.user_language_set(user=user, language=chosen)
    target = request.POST.get("next") or request.GET.get("next")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()},
                                                  require_https=request.is_secure()):
        response = redirect(target)
    else:
        response = redirect("cabinets:profile")
    if chosen not in dict(settings.LANGUAGES) and user.language in dict(settings.LANGUAGES):
        response.set_cookie(settings.LANGUAGE_COOKIE_NAME, user.language, max_age=settings.LANGUAGE_COOKIE_AGE,
                            path=settings.LANGUAGE_COOKIE_PATH, samesite=settings.LANGUAGE_COOKIE_SAMESITE,
                            secure=settings.LANGUAGE_COOKIE_SECURE, httponly=settings.LANGUAGE_COOKIE_HTTPONLY)
    return response


def _field_error(form, exc):
    form.add_error(exc.field if exc.field in form.fields else None, exc.message)


def _ip_refused(request, bucket: str, form, field: str | None = None) -> bool:
    """Counts one try from the client's IP (homeportal.ratelimits); over the limit the message
    goes to the form, which re-renders with what was typed (password inputs never re-render
    their value) and `Retry-After`. Returns True when refused."""
    try:
        ratelimits.ip_attempt(request, bucket)
    except ratelimits.Limited as exc:
        if not form.is_bound:  # the QR start posts no form: an empty one shows the message
            form.full_clean()
            form.cleaned_data = {}
        form.add_error(field if field in form.fields else None, exc.message)
        return True
    return False


# --- Login ---------------------------------------------------------------------------------------

def _auth_view(view):
    """The login, password-reset and registration views: never cached, passwords hidden from
    error reports. No view of the cabinet takes a key file or a key password: ЭЦП is a challenge
    signed in the browser (signing's modal), see ecp_challenge_start."""
    from django.views.decorators.debug import sensitive_post_parameters

    return never_cache(sensitive_post_parameters("password", "password1", "password2")(view))


@_auth_view
def login_view(request):
    if request.user.is_authenticated and request.method == "GET":
        return redirect("cabinets:profile")
    tab = request.POST.get("tab") or request.GET.get("tab") or "email"
    if tab not in dict(LOGIN_TABS):
        tab = "email"
    context = {"tab": tab, "tabs": LOGIN_TABS, "next": request.POST.get("next") or request.GET.get("next", "")}
    if tab == "email":
        result = _login_email(request, context)
    elif tab == "bin":
        result = _login_bin(request, context)
    else:
        result = _login_eds(request, context)
    if result is not None:
        return result
    template = "cabinets/login.html#tab" if request.htmx and not request.htmx.boosted else "cabinets/login.html"
    response = render(request, template, context, status=ratelimits.refused_status(request))
    if context.get("eds_error"):
        return _refused_in_place(request, response, target="#login-tab")
    return response


def _refused_in_place(request, response, *, target="#main"):
    """A refused ЭЦП/QR start was posted by htmx into the empty #modal-root: htmx is told to swap the
    re-rendered page (its message at the button) where the page is, so the user sees why."""
    if request.htmx:
        response["HX-Retarget"] = target
        response["HX-Reswap"] = "outerHTML"
        if target == "#main":
            response["HX-Reselect"] = "#main"
    return response


def _login_email(request, context):
    email = request.session.get("login_email", "")
    code_sent = bool(email)
    action = request.POST.get("action")
    if request.method == "POST" and action == "send":
        form = EmailForm(request.POST)
        if form.is_valid() and not _ip_refused(request, "otp-send-ip", form, "email"):
            email = form.cleaned_data["email"].lower()
            try:
                services.login_code_send(email=email, language=_language())
            except OtpError as exc:
                form.add_error("email", exc.message)
            else:
                request.session["login_email"] = email
                code_sent = True
                messages.info(request, gettext("If this e-mail is registered, a one-time code has been sent to it."))
        if not code_sent or form.errors:
            context.update(form=form, code_sent=False)
            return None
        form = EmailCodeForm(initial={"email": email})
    elif request.method == "POST" and action == "login":
        form = EmailCodeForm(request.POST)
        if form.is_valid() and not _ip_refused(request, "login-ip", form, "code"):
            try:
                user = services.login_code_verify(email=form.cleaned_data["email"], code=form.cleaned_data["code"])
            except OtpError as exc:
                form.add_error("code", exc.message)
            else:
                request.session.pop("login_email", None)
                return _after_login(request, user)
        code_sent = True
    elif request.method == "POST" and action == "restart":
        request.session.pop("login_email", None)
        form, code_sent = EmailForm(), False
    else:
        form = EmailCodeForm(initial={"email": email}) if code_sent else EmailForm()
    context.update(form=form, code_sent=code_sent)
    return None


def _login_bin(request, context):
    form = BinPasswordForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid() and not _ip_refused(request, "login-ip", form):
        user = authenticate(request, username=form.cleaned_data["bin"], password=form.cleaned_data["password"])
        if getattr(request, "axes_locked_out", False):
            logger.warning("cabinet login locked out for BIN %s", form.cleaned_data["bin"])
            form.add_error(None, gettext("Too many failed attempts. Try again in 15 minutes."))
            ratelimits.note_retry_after(int(settings.AXES_COOLOFF_TIME * 3600))  # 429 + Retry-After
        elif user is None:
            logger.info("cabinet login failed for BIN %s", form.cleaned_data["bin"])
            form.add_error("password", gettext("Wrong password"))
        else:
            return _after_login(request, user)
    context["form"] = form
    return None


def _login_eds(request, context):
    """«ЭЦП/QR»: «Войти через ЭЦП» opens signing's ЭЦП panel over a login challenge (signed with the
    AUTH key in the browser: key file or NCALayer), «Войти через eGov QR» its QR panel."""
    action = request.POST.get("action") if request.method == "POST" else None
    if action in ("ecp", "qr"):
        refusal = _ecp_refused(request, "login-ip")
        if refusal is None:
            return _ecp_challenge(request, LoginChallenge.Purpose.LOGIN, method=action, next_url=context["next"])
        context["eds_error"] = refusal
    return None


def _ecp_refused(request, bucket: str):
    """The per-IP limit on starting ЭЦП challenges (homeportal.ratelimits): the message or None."""
    try:
        ratelimits.ip_attempt(request, bucket)
    except ratelimits.Limited as exc:
        return exc.message
    return None


CHALLENGE_SESSION_KEYS = {
    LoginChallenge.Purpose.LOGIN: "login_challenge",
    LoginChallenge.Purpose.REGISTER: "register_challenge",
    LoginChallenge.Purpose.RESET: "reset_challenge",
}


def _ecp_challenge(request, purpose, *, method="ecp", next_url=""):
    """A fresh single-use challenge bound to this session, shown in signing's modal (or page)."""
    from signing import views as signing_views

    _challenge, signing_request = services.ecp_challenge_start(
        purpose=purpose, origin=request.build_absolute_uri("/").rstrip("/"), session=request.session, next_url=next_url)
    request.session[CHALLENGE_SESSION_KEYS[purpose]] = _challenge.token
    return signing_views.signing_modal_response(request, signing_request, method=method)


@never_cache
def login_qr_complete(request):
    token = request.session.pop(CHALLENGE_SESSION_KEYS[LoginChallenge.Purpose.LOGIN], None)
    try:
        user = services.login_challenge_use(token=token or "")
    except CabinetError as exc:
        messages.error(request, exc.message)
        return redirect(reverse("cabinets:login") + "?tab=eds")
    return _after_login(request, user)


@require_POST
def logout_view(request):
    logout(request)
    return redirect("home")


def axes_lockout_response(request, original_response=None, credentials=None):
    """django-axes' lockout hook: the login view already answered with the message at the field."""
    if original_response is not None:
        return original_response
    return HttpResponse(gettext("Too many failed attempts. Try again in 15 minutes."), status=429)


# --- Forgot password ---------------------------------------------------------------------------

RESET_BY_EDS_SECONDS = 600


@_auth_view
def password_reset_view(request):
    """«Забыли пароль?»: by an e-mail code, or by the person's ЭЦП (AUTH key)."""
    email = request.session.get("reset_email", "")
    action = request.POST.get("action")
    if request.method == "POST" and action == "restart":
        request.session.pop("reset_email", None)
        request.session.pop("reset_by_eds", None)
        return redirect("cabinets:password_reset")
    if request.method == "POST" and action == "send":
        form = EmailForm(request.POST)
        if form.is_valid() and not _ip_refused(request, "otp-send-ip", form, "email"):
            email = form.cleaned_data["email"].lower()
            try:
                services.password_reset_send(email=email, language=_language())
            except OtpError as exc:
                form.add_error("email", exc.message)
            else:
                request.session["reset_email"] = email
                messages.info(request, gettext("If this e-mail is registered, a one-time code has been sent to it."))
                return redirect("cabinets:password_reset")
        return render(request, "cabinets/password_reset.html", {"form": form, "stage": "email"},
                      status=ratelimits.refused_status(request))
    if request.method == "POST" and action == "eds":
        return _password_reset_eds(request)
    by_eds = request.session.get("reset_by_eds")
    if by_eds and time.time() - by_eds["at"] <= RESET_BY_EDS_SECONDS:
        return _password_reset_eds_password(request, by_eds["user"])
    if not email:
        return render(request, "cabinets/password_reset.html", {"form": EmailForm(),
                                                                "stage": "email"})
    form = ResetForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid() and not _ip_refused(request, "reset-ip", form, "code"):
        try:
            services.password_reset_complete(
                email=email, code=form.cleaned_data["code"], password=form.cleaned_data["password1"],
                password2=form.cleaned_data["password2"],
            )
        except OtpError as exc:
            form.add_error("code", exc.message)
        except CabinetError as exc:
            _field_error(form, exc)
        else:
            request.session.pop("reset_email", None)
            messages.success(request, gettext("The password has been changed. Log in with the new password."))
            return redirect(reverse("cabinets:login") + "?tab=bin")
    return render(request, "cabinets/password_reset.html", _password_context(
        {"form": form, "stage": "code", "email": email}), status=ratelimits.refused_status(request))


def _password_reset_eds(request):
    refusal = _ecp_refused(request, "reset-ip")
    if refusal is None:
        return _ecp_challenge(request, LoginChallenge.Purpose.RESET)
    return _refused_in_place(request, render(
        request, "cabinets/password_reset.html", {"form": EmailForm(), "stage": "email", "eds_error": refusal},
        status=ratelimits.refused_status(request)))


@never_cache
def password_reset_challenge_complete(request):
    """The person signed the reset challenge with the AUTH key: a new password within 10 minutes."""
    token = request.session.pop(CHALLENGE_SESSION_KEYS[LoginChallenge.Purpose.RESET], None)
    try:
        user = services.login_challenge_use(token=token or "", purpose=LoginChallenge.Purpose.RESET)
    except CabinetError as exc:
        messages.error(request, exc.message)
        return redirect("cabinets:password_reset")
    request.session["reset_by_eds"] = {"user": user.pk, "at": int(time.time())}
    return redirect("cabinets:password_reset")


def _password_reset_eds_password(request, user_id):
    from .models import User

    user = get_object_or_404(User, pk=user_id, is_active=True)
    form = NewPasswordForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services.password_reset_by_certificate(user=user, password=form.cleaned_data["password1"],
                                                   password2=form.cleaned_data["password2"])
        except CabinetError as exc:
            _field_error(form, exc)
        else:
            request.session.pop("reset_by_eds", None)
            messages.success(request, gettext("The password has been changed. Log in with the new password."))
            return redirect(reverse("cabinets:login") + "?tab=bin")
    return render(request, "cabinets/password_reset.html", _password_context(
        {"form": form, "stage": "eds_password", "reset_user": user}))


def _password_context(context):
    context["password_rules"] = [(code, label) for code, label, _test in PASSWORD_RULES]
    context["special_characters"] = SPECIAL_CHARACTERS
    return context


# --- Registration ------------------------------------------------------------------------------

def _draft(request) -> RegistrationDraft | None:
    token = request.session.get("registration")
    if not token:
        return None
    return (
        RegistrationDraft.objects.filter(token=token, created_at__gte=timezone.now() - services.REGISTRATION_TTL)
        .exclude(step=RegistrationDraft.Step.DONE)
        .first()
    )


@_auth_view
def register_view(request):
    if request.user.is_authenticated:
        return redirect("cabinets:profile")
    draft = _draft(request)
    action = request.POST.get("action", "")
    if request.method == "POST" and action == "restart":
        request.session.pop("registration", None)
        return redirect("cabinets:register")
    if draft is None:
        return _register_key(request)
    if request.method == "POST" and action == "back":
        draft.step = RegistrationDraft.Step.FORM
        draft.save(update_fields=["step"])
        return redirect(reverse("cabinets:register") + f"#{request.POST.get('focus', 'id_email')}")
    if draft.step == RegistrationDraft.Step.FORM:
        return _register_form(request, draft)
    if draft.step == RegistrationDraft.Step.CONFIRM:
        return _register_confirm(request, draft)
    return _register_password(request, draft)


def _register_key(request):
    if request.method == "POST" and request.POST.get("action") == "key":
        refusal = _ecp_refused(request, "register-ip")
        if refusal is None:
            return _ecp_challenge(request, LoginChallenge.Purpose.REGISTER)
        return _refused_in_place(request, render(request, "cabinets/register.html", {"stage": "key", "eds_error": refusal},
                                                 status=ratelimits.refused_status(request)))
    return render(request, "cabinets/register.html", {"stage": "key"})


@never_cache
def register_challenge_complete(request):
    """Registration step 1 signed (AUTH key of a legal entity): the draft from its certificate."""
    token = request.session.pop(CHALLENGE_SESSION_KEYS[LoginChallenge.Purpose.REGISTER], None)
    try:
        draft = services.registration_challenge_use(token=token or "", language=_language())
    except CabinetError as exc:
        messages.error(request, exc.message)
        return redirect("cabinets:register")
    request.session["registration"] = draft.token
    return redirect("cabinets:register")


def _register_form(request, draft):
    initial = {"bin": draft.bin, "organization_name": draft.organization_name, "iin": draft.iin,
               "surname": draft.surname, "name": draft.name, "patronymic": draft.patronymic,
               "email": draft.email, "mobile": draft.mobile}
    form = RegistrationForm(request.POST or None, initial=initial)
    if request.GET.get("captcha") in ("text", "image"):  # «Не вижу картинку» / «Показать картинку»
        request.session[captcha.MODE_SESSION_KEY] = request.GET["captcha"]
    text_mode = request.session.get(captcha.MODE_SESSION_KEY) == "text"
    if request.method == "POST" and request.POST.get("action") == "sign_agreement":
        # what was typed so far survives the page reload after signing
        services.registration_contacts_keep(draft=draft, email=request.POST.get("email", ""),
                                            mobile=request.POST.get("mobile", ""))
        return _register_sign_agreement(request, draft)
    if request.method == "POST" and form.is_valid() and not _ip_refused(request, "register-ip", form):
        if not captcha.captcha_check(request, form.cleaned_data["captcha"]):
            form.add_error("captcha", gettext("The answer is wrong. Answer the new question.") if text_mode
                           else gettext("The characters do not match the picture. Try the new picture."))
        else:
            try:
                services.registration_contacts_set(draft=draft, email=form.cleaned_data["email"],
                                                   mobile=form.cleaned_data["mobile"])
            except CabinetError as exc:
                form.add_error(None, exc.message)
            else:
                return redirect("cabinets:register")
    if request.method == "POST":
        # a wrong or missing answer uses up the picture either way
        request.session.pop(captcha.SESSION_KEY, None)
    question = None
    if text_mode:
        question = captcha.question_new(request)
        # the question is the field's label: a screen reader reads it on reaching the field
        label = gettext("I am not a robot: %(question)s") % {"question": question}
        form.fields["captcha"].label = form["captcha"].label = label  # the bound field is cached after validation
        form.fields["captcha"].widget.attrs.update({"inputmode": "numeric", "autocapitalize": "off"})
    return render(request, "cabinets/register.html", {"stage": "form", "form": form, "draft": draft,
                                                      "captcha_question": question},
                  status=ratelimits.refused_status(request))


def _register_sign_agreement(request, draft):
    from signing import services as signing_services
    from signing import views as signing_views

    from .agreement import agreement_text

    signing_request = signing_services.signing_request_create(
        subject=draft, document=agreement_text(draft=draft).encode(), filename="licence-agreement.txt",
        title_ru="Лицензионное соглашение личного кабинета", title_kk="Жеке кабинеттің лицензиялық келісімі",
        purpose="sign", organization=None, required_bin=draft.bin, allowed_roles=None,
        on_complete="cabinets.services.registration_agreement_signed", return_url=reverse("cabinets:register"),
        signer_user=None, require_legal_entity=True, mime_type="text/plain",
    )
    return signing_views.signing_modal_response(request, signing_request)


def _register_confirm(request, draft):
    form = ConfirmForm(request.POST if request.method == "POST" and request.POST.get("action") == "confirm" else None)
    action = request.POST.get("action")
    if request.method == "POST" and action in ("resend_email", "resend_sms"):
        try:
            ratelimits.ip_attempt(request, "otp-send-ip")
            services.registration_code_send(draft=draft, channel="email" if action == "resend_email" else "sms")
        except (OtpError, ratelimits.Limited) as exc:
            form = ConfirmForm(data={})
            form.is_valid()
            form.add_error("email_code" if action == "resend_email" else "sms_code", exc.message)
        else:
            messages.info(request, gettext("A new code has been sent."))
    elif form.is_bound and form.is_valid() and not _ip_refused(request, "register-ip", form):
        errors = services.registration_confirm(draft=draft, email_code=form.cleaned_data["email_code"],
                                               sms_code=form.cleaned_data["sms_code"])
        for field, message in errors.items():
            form.add_error(field, message)
        if not errors:
            return redirect("cabinets:register")
    return render(request, "cabinets/register.html", {"stage": "confirm", "form": form, "draft": draft},
                  status=ratelimits.refused_status(request))


def _register_password(request, draft):
    form = NewPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid() and not _ip_refused(request, "register-ip", form):
        try:
            user = services.registration_complete(draft=draft, password=form.cleaned_data["password1"],
                                                  password2=form.cleaned_data["password2"])
        except CabinetError as exc:
            _field_error(form, exc)
        else:
            request.session.pop("registration", None)
            messages.success(request, gettext("Registration is complete. Welcome to the personal cabinet!"))
            return _after_login(request, user)
    return render(request, "cabinets/register.html", _password_context({"stage": "password", "form": form, "draft": draft}),
                  status=ratelimits.refused_status(request))


@never_cache
def captcha_image(request):
    if request.GET.get("new"):
        captcha.captcha_new(request)
    return HttpResponse(captcha.captcha_png(request), content_type="image/png")


# --- Profile -----------------------------------------------------------------------------------

PROFILE_REAUTH_LIMIT = 5


@login_required
def profile_view(request):
    user = request.user
    if user.organization_id is None:
        raise Http404
    pending = request.session.get("profile_change")
    change_form = code_form = None
    action = request.POST.get("action")
    if request.method == "POST" and action == "send":
        change_form = ContactChangeForm(request.POST)
        if change_form.is_valid():
            kind, value = change_form.cleaned_data["kind"], change_form.cleaned_data["new_value"]
            try:
                services.profile_contact_change_send(user=user, kind=kind, new_value=value,
                                                     password=change_form.cleaned_data["password"], language=_language())
            except OtpError as exc:
                change_form.add_error("new_value", exc.message)
            except CabinetError as exc:
                _field_error(change_form, exc)
                failures = request.session.get("profile_reauth_failures", 0) + 1
                request.session["profile_reauth_failures"] = failures
                if failures >= PROFILE_REAUTH_LIMIT:
                    logger.warning("user %s: too many wrong passwords in the profile, logged out", user.pk)
                    logout(request)
                    messages.error(request, gettext("Too many wrong passwords. Log in again."))
                    return redirect("cabinets:login")
            else:
                request.session.pop("profile_reauth_failures", None)
                request.session["profile_change"] = {"kind": kind, "value": value}
                return redirect("cabinets:profile")
    elif request.method == "POST" and action == "confirm" and pending:
        code_form = ContactCodeForm(request.POST)
        if code_form.is_valid():
            try:
                services.profile_contact_change_confirm(user=user, kind=pending["kind"], new_value=pending["value"],
                                                        code=code_form.cleaned_data["code"])
            except OtpError as exc:
                code_form.add_error("code", exc.message)
            else:
                request.session.pop("profile_change", None)
                request.session["profile_verified"] = pending["kind"]
                messages.success(request, gettext("The new value has been confirmed and saved."))
                return redirect("cabinets:profile")
    elif request.method == "POST" and action == "cancel":
        request.session.pop("profile_change", None)
        return redirect("cabinets:profile")
    editing = request.GET.get("change") if request.GET.get("change") in ("email", "mobile") else None
    if change_form is not None:
        editing = change_form.data.get("kind")
    if editing and change_form is None:
        change_form = ContactChangeForm(initial={"kind": editing})
    if pending and code_form is None:
        code_form = ContactCodeForm()
    return render(request, "cabinets/profile.html", {
        "profile_user": user, "organization": user.organization, "editing": editing, "change_form": change_form,
        "pending": pending, "code_form": code_form, "verified": request.session.pop("profile_verified", None),
    })


# --- Notifications, surveys, FAQ ----------------------------------------------------------------

def _organization(request):
    organization = request.user.organization
    if organization is None:
        raise Http404
    return organization


@login_required
@cached_page
def notification_list(request):
    organization = _organization(request)
    page, query_string = paginate(request, selectors.notifications_of(organization=organization))
    return render(request, "cabinets/notifications.html", {
        "notifications": page.object_list, "page": page, "query_string": query_string,
    })


@login_required
@require_POST
def notification_read(request, pk):
    notification = get_object_or_404(selectors.notifications_of(organization=_organization(request)), pk=pk)
    services.notification_mark_read(notification=notification)
    if request.htmx:
        return render(request, "cabinets/notifications.html#item", {
            "n": notification, "oob_count": True,
            "unread_notifications": selectors.unread_notification_count(organization=notification.organization),
        })
    return redirect("cabinets:notifications")


@login_required
def notification_open(request, pk):
    notification = get_object_or_404(selectors.notifications_of(organization=_organization(request)), pk=pk)
    services.notification_mark_read(notification=notification)
    link = notification.link
    if link and url_has_allowed_host_and_scheme(link, allowed_hosts={request.get_host()}):
        return redirect(link)
    return redirect("cabinets:notifications")


@login_required
@cached_page
def survey_list(request):
    organization = _organization(request)
    surveys = selectors.surveys_for(organization=organization)
    return render(request, "cabinets/surveys.html", {"surveys": surveys})


@login_required
def survey_detail(request, pk):
    organization = _organization(request)
    survey = get_object_or_404(selectors.surveys_for(organization=organization), pk=pk)
    response = selectors.survey_response_of(survey=survey, organization=organization)
    questions = list(survey.questions.prefetch_related("choices"))
    errors, values = {}, {}
    if request.method == "POST" and response is not None:
        # Answered meanwhile (another user of the organization, a second tab): say so, as the
        # service does when it loses the race, and show the stored answers (POST → redirect).
        messages.error(request, services.SURVEY_ALREADY_FILLED)
        return redirect("cabinets:survey", pk=survey.pk)
    if request.method == "POST":
        answers = {}
        for q in questions:
            key = f"q{q.pk}"
            choice_ids = {c.pk for c in q.choices.all()}
            if q.kind == SurveyQuestion.Kind.MULTIPLE:
                value = [v for v in map(ascii_id, request.POST.getlist(key)) if v in choice_ids]
                values[q.pk] = [str(v) for v in value]
            elif q.kind == SurveyQuestion.Kind.SINGLE:
                picked = ascii_id(request.POST.get(key, ""))
                value = [picked] if picked in choice_ids else []
                values[q.pk] = [str(v) for v in value]
            elif q.kind == SurveyQuestion.Kind.YES_NO:
                value = request.POST.get(key, "") if request.POST.get(key) in ("yes", "no") else ""
                values[q.pk] = value
            else:
                typed = request.POST.get(key, "").strip()[:5000]
                value = values[q.pk] = strip_nul(typed)
                if typed != value:
                    errors[q.pk] = str(NUL_MESSAGE)
            if q.required and not value:
                errors[q.pk] = gettext("Answer this question.")
            answers[q.pk] = value
        if not errors:
            try:
                services.survey_response_submit(survey=survey, organization=organization, user=request.user,
                                                answers=answers)
            except CabinetError as exc:
                messages.error(request, exc.message)
            else:
                messages.success(request, gettext("Thank you! Your answers have been saved."))
            return redirect("cabinets:survey", pk=survey.pk)
    return render(request, "cabinets/survey_detail.html", {
        "survey": survey, "questions": questions, "response": response, "errors": errors, "values": values,
        "answers": selectors.survey_answers(response=response) if response else {},
    })


def faq_view(request):
    return render(request, "cabinets/faq.html", {"groups": selectors.faq_groups()})


def dev_outbox(request):
    """Development only (DEV_OUTBOX_ENABLED): every e-mail and SMS the portal "sent"."""
    _dev_only()
    outbound = OutboundMessage.objects.all()[:200]
    return render(request, "cabinets/dev_outbox.html", {"outbound_messages": outbound})


def _dev_only():
    if not settings.DEV_OUTBOX_ENABLED:
        raise Http404


def dev_demo(request):
    """Development only: everything a newcomer needs to try each flow — logins, demo key files
    with their passwords (test PKI, never a real key), and the dev tools."""
    from signing import pki

    from . import demo

    _dev_only()
    return render(request, "cabinets/dev_demo.html", {
        "demo_keys": pki.demo_manifest()["keys"],
        "cabinet_logins": [
            {"bin": bin_, "email": email, "person": f"{surname} {name} {patronymic}"}
            for _slug, _iin, surname, name, patronymic, bin_, email, _mobile in demo.DEMO_CABINET_USERS
        ],
        "cabinet_password": demo.DEMO_CABINET_PASSWORD,
        "staff_username": demo.DEMO_STAFF_USERNAME,
        "staff_password": demo.DEMO_STAFF_PASSWORD,
        "bpms_url": settings.BPMS_BASE_URL,
    })


def dev_demo_key(request, slug):
    """Development only: downloads a demo key file of the test PKI (CA keys are never served)."""
    from signing import pki

    _dev_only()
    try:
        path = pki.demo_key_path(slug)
    except KeyError:
        raise Http404 from None
    response = FileResponse(path.open("rb"), as_attachment=True, filename=path.name,
                            content_type="application/x-pkcs12")
    response.headers["Cache-Control"] = "no-store"
    return response
