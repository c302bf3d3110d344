"""Writes of the organization domain."""

import contextlib
import contextvars
import datetime
import logging
import secrets

from django.conf import settings
from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from homeportal import ratelimits
from homeportal.celery import enqueue_on_commit
from homeportal.db import insert_rows

from . import otp as otp_rules
from .messaging import send_sms
from .models import (
    LegalEntityRecord,
    LoginChallenge,
    Notification,
    OneTimeCode,
    Organization,
    OutboundMessage,
    RegistrationDraft,
    Survey,
    SurveyAnswer,
    SurveyQuestion,
    SurveyResponse,
    User,
)
from .otp import OtpError

logger = logging.getLogger(__name__)


_bulk_notifications: contextvars.ContextVar[list | None] = contextvars.ContextVar("bulk_notifications", default=None)


def notification_create(
    *, organization: Organization, title_ru: str, title_kk: str, body_ru: str = "", body_kk: str = "", link: str = ""
) -> Notification:
    """A message to an organization; its e-mail copy is sent by a task once the row commits.
    Inside `notifications_in_bulk()` the row is kept (unsaved) and written with the others."""
    from .tasks import send_notification_email

    notification = Notification(
        organization=organization, title_ru=title_ru, title_kk=title_kk, body_ru=body_ru, body_kk=body_kk, link=link
    )
    pending = _bulk_notifications.get()
    if pending is not None:
        pending.append(notification)
        return notification
    notification.save(force_insert=True)
    enqueue_on_commit(send_notification_email, (notification.pk,))
    return notification


NOTIFICATION_EMAILS_PER_TASK = 100


@contextlib.contextmanager
def notifications_in_bulk():
    """Notifications made inside are inserted in one statement when the block ends without an
    error, their e-mail copies sent by a task per hundred after commit (the BPMS feed applies
    hundreds of events per transaction). Call it inside the caller's transaction."""
    from .tasks import send_notification_emails

    pending: list[Notification] = []
    token = _bulk_notifications.set(pending)
    try:
        yield
    finally:
        _bulk_notifications.reset(token)
    _render_deferred(pending)
    if pending:
        insert_rows(Notification, pending)  # one COPY
        ids = [n.pk for n in pending]
        for start in range(0, len(ids), NOTIFICATION_EMAILS_PER_TASK):
            enqueue_on_commit(send_notification_emails, (ids[start:start + NOTIFICATION_EMAILS_PER_TASK],))


def notify_both_languages(*, organization: Organization, title, body=None, link: str = "") -> Notification:
    """The one way a domain notifies an organization: `title` and `body` are lazy strings or
    callables building the text with gettext; each is rendered in Russian and in Kazakh.
    Call it inside the transaction that made the change (the e-mail copy goes after commit)."""
    from homeportal.i18n import in_both_languages

    pending = _bulk_notifications.get()
    if pending is not None:
        # Rendered when the bulk block ends: every notification in Russian, then every one in Kazakh
        # (two language switches for the block instead of four per notification).
        notification = Notification(organization=organization, link=link)
        notification._deferred_texts = (title, body)
        pending.append(notification)
        return notification
    title_ru, title_kk = in_both_languages(title)
    body_ru, body_kk = in_both_languages(body) if body is not None else ("", "")
    return notification_create(organization=organization, title_ru=title_ru, title_kk=title_kk, body_ru=body_ru,
                               body_kk=body_kk, link=link)


def _render_deferred(pending: list[Notification]) -> None:
    deferred = [n for n in pending if getattr(n, "_deferred_texts", None) is not None]
    if not deferred:
        return
    for language in ("ru", "kk"):
        with translation.override(language):
            for n in deferred:
                title, body = n._deferred_texts
                setattr(n, f"title_{language}", str(title() if callable(title) else title))
                setattr(n, f"body_{language}", "" if body is None else str(body() if callable(body) else body))
    for n in deferred:
        del n._deferred_texts


def user_language_set(*, user: User, language: str) -> User:
    """The language the user chose (the ҚАЗ/РУС switch or the profile): e-mails, SMS and
    notifications to the user go out in it."""
    if language not in dict(settings.LANGUAGES):
        raise CabinetError(_("Unknown language"), field="language", code="unknown_language")
    if user.language != language:
        user.language = language
        user.save(update_fields=["language"])
        logger.info("user %s chose language %s", user.pk, language)
    return user


def mail_each_in_own_language(*, recipients: list[tuple[str, str]], subject, body) -> None:
    """Send one e-mail per (address, language): `subject` and `body` are lazy strings or
    callables that build the text with gettext, rendered in the recipient's language.
    Call it after commit (transaction.on_commit), never inside a transaction."""
    for email, language in recipients:
        with translation.override(language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE):
            send_mail(str(subject() if callable(subject) else subject), str(body() if callable(body) else body),
                      None, [email])


def notification_send_email_copy(*, notification_id: int) -> None:
    with transaction.atomic():
        notification = (
            Notification.objects.select_for_update().select_related("organization").filter(pk=notification_id).first()
        )
        if notification is None or notification.emailed_at is not None:
            return
        recipients = list(
            notification.organization.users.filter(is_active=True).exclude(email="").values_list("email", "language")
        )
        link = f"{settings.PORTAL_BASE_URL}{notification.link}" if notification.link else ""
        for email, language in recipients:
            with translation.override(language):
                send_mail(notification.title, f"{notification.body}\n\n{link}".strip(), None, [email])
        notification.emailed_at = timezone.now()
        notification.save(update_fields=["emailed_at"])


# --- One-time codes -------------------------------------------------------------------------------

_PURPOSE_TEXT = {
    OneTimeCode.Purpose.LOGIN: _("log in to the personal cabinet"),
    OneTimeCode.Purpose.REGISTER_EMAIL: _("registration in the personal cabinet"),
    OneTimeCode.Purpose.REGISTER_SMS: _("registration in the personal cabinet"),
    OneTimeCode.Purpose.RESET: _("password reset"),
    OneTimeCode.Purpose.PROFILE_EMAIL: _("confirmation of the new e-mail"),
    OneTimeCode.Purpose.PROFILE_MOBILE: _("confirmation of the new mobile number"),
}


def _otp_account(purpose: str, recipient: str) -> str:
    recipient = recipient.strip().lower() if "@" in recipient else recipient.strip()
    return f"{purpose}:{recipient}"


def otp_send_allowed(*, purpose: str, recipient: str) -> None:
    """The per-recipient limits of code requests (homeportal.ratelimits): at most
    RATE_LIMITS["otp-send-account"] codes, none while wrong codes locked the recipient.
    Raises OtpError("rate_limited"). Called before anything tells whether the recipient exists."""
    account = _otp_account(purpose, recipient)
    try:
        ratelimits.failure_check("otp-fail-account", account)
        ratelimits.attempt("otp-send-account", account)
    except ratelimits.Limited as exc:
        raise OtpError.limited(exc) from None


def otp_send(
    *, purpose: str, channel: str, recipient: str, context: str = "", language: str = "ru", now=None,
    limits_checked: bool = False,
) -> OneTimeCode:
    """Issues a new code (the previous one for the same purpose stops working) and sends it.
    Raises OtpError("resend_too_soon") within a minute of the previous code, OtpError("rate_limited")
    over the per-recipient limits (unless the caller has checked them: `limits_checked`)."""
    now = now or timezone.now()
    recipient = recipient.strip().lower() if channel == OutboundMessage.Channel.EMAIL else recipient.strip()
    if not limits_checked:
        otp_send_allowed(purpose=purpose, recipient=recipient)
    code = otp_rules.code_generate()
    with transaction.atomic():
        previous = list(
            OneTimeCode.objects.select_for_update()
            .filter(purpose=purpose, recipient=recipient, context=context, superseded=False)
        )
        if any(p.used_at is None and now - p.created_at < otp_rules.OTP_RESEND_INTERVAL for p in previous):
            raise OtpError("resend_too_soon")
        OneTimeCode.objects.filter(pk__in=[p.pk for p in previous]).update(superseded=True)
        one_time_code = OneTimeCode.objects.create(
            purpose=purpose, channel=channel, recipient=recipient, context=context,
            code_hash=otp_rules.code_hash(purpose=purpose, recipient=recipient, context=context, code=code),
            created_at=now, expires_at=now + otp_rules.OTP_TTL,
        )
    with translation.override(language):
        what = str(_PURPOSE_TEXT[purpose])
        if channel == OutboundMessage.Channel.EMAIL:
            send_mail(
                gettext("One-time code"),
                gettext("Your one-time code for %(what)s: %(code)s. The code is valid for 5 minutes. "
                        "Do not tell it to anyone.") % {"what": what, "code": code},
                None, [recipient],
            )
        else:
            send_sms(to=recipient, text=gettext("KZhK: SMS code %(code)s (%(what)s), valid for 5 minutes.")
                     % {"code": code, "what": what})
    logger.info("one-time code %s sent by %s (id %s)", purpose, channel, one_time_code.pk)
    return one_time_code


def otp_verify(*, purpose: str, recipient: str, code: str, context: str = "", now=None) -> OneTimeCode:
    """Uses up the current code for (purpose, recipient, context) when `code` matches.
    Raises OtpError: wrong / expired / no_code (none, replaced or already used) / too_many_tries."""
    now = now or timezone.now()
    recipient = recipient.strip().lower() if "@" in recipient else recipient.strip()
    account = _otp_account(purpose, recipient)
    try:  # wrong codes lock the recipient across codes (RATE_LIMITS["otp-fail-account"])
        ratelimits.failure_check("otp-fail-account", account)
    except ratelimits.Limited as exc:
        raise OtpError.limited(exc) from None
    error = None
    with transaction.atomic():
        current = (
            OneTimeCode.objects.select_for_update()
            .filter(purpose=purpose, recipient=recipient, context=context, superseded=False)
            .order_by("-created_at", "-id")
            .first()
        )
        if current is None or current.used_at is not None:
            error = "no_code"
        elif current.attempts >= otp_rules.OTP_MAX_TRIES:
            error = "too_many_tries"
        elif current.expires_at <= now:
            error = "expired"
        elif not otp_rules.code_matches(
            stored_hash=current.code_hash, purpose=purpose, recipient=recipient, context=context, code=code
        ):
            current.attempts += 1
            current.save(update_fields=["attempts"])
            error = "wrong"
        else:
            current.used_at = now
            current.save(update_fields=["used_at"])
    if error:
        logger.info("one-time code %s refused: %s", purpose, error)
        if error in ("wrong", "too_many_tries") and ratelimits.failure("otp-fail-account", account):
            logger.warning("one-time codes %s locked for a recipient after repeated wrong codes", purpose)
        raise OtpError(error)
    return current


# --- Logins ---------------------------------------------------------------------------------------

class CabinetError(Exception):
    """A refused cabinet action; `field` is where the message goes."""

    def __init__(self, message, *, field: str | None = None, code: str = ""):
        self.message = message
        self.field = field
        self.code = code
        super().__init__(str(message))


def cabinet_user_by_email(*, email: str) -> User | None:
    return (
        User.objects.filter(email__iexact=(email or "").strip(), is_active=True, organization__isnull=False)
        .order_by(F("last_login").desc(nulls_last=True), "-date_joined")
        .first()
    )


def login_code_send(*, email: str, language: str, now=None) -> None:
    """«Получить разовый код»: sends a code when the e-mail belongs to a cabinet user; says
    nothing either way, so the form does not reveal who is registered (the per-recipient limits
    are checked for any e-mail, before the lookup)."""
    otp_send_allowed(purpose=OneTimeCode.Purpose.LOGIN, recipient=email)
    if cabinet_user_by_email(email=email) is not None:
        otp_send(purpose=OneTimeCode.Purpose.LOGIN, channel=OutboundMessage.Channel.EMAIL, recipient=email,
                 language=language, now=now, limits_checked=True)


def login_code_verify(*, email: str, code: str, now=None) -> User:
    otp_verify(purpose=OneTimeCode.Purpose.LOGIN, recipient=email, code=code, now=now)
    user = cabinet_user_by_email(email=email)
    if user is None:
        raise OtpError("no_code")
    return user


def password_check_rules(*, password: str, password2: str, user: User | None = None) -> None:
    """Raises CabinetError at the field for the first unmet rule of the seed's checklist."""
    try:
        password_validation.validate_password(password, user)
    except ValidationError as exc:
        raise CabinetError(exc.messages[0], field="password1", code="password_rules") from None
    if password != password2:
        raise CabinetError(_("Passwords must match."), field="password2", code="password_mismatch")


def password_reset_send(*, email: str, language: str, now=None) -> None:
    otp_send_allowed(purpose=OneTimeCode.Purpose.RESET, recipient=email)
    if cabinet_user_by_email(email=email) is not None:
        otp_send(purpose=OneTimeCode.Purpose.RESET, channel=OutboundMessage.Channel.EMAIL, recipient=email,
                 language=language, now=now, limits_checked=True)


def password_reset_complete(*, email: str, code: str, password: str, password2: str, now=None) -> User:
    """Sets a new password after the e-mail code. Every session of the user ends (the session
    hash changes with the password)."""
    user = cabinet_user_by_email(email=email)
    password_check_rules(password=password, password2=password2, user=user)
    otp_verify(purpose=OneTimeCode.Purpose.RESET, recipient=email, code=code, now=now)
    if user is None:
        raise OtpError("no_code")
    user.set_password(password)
    user.save(update_fields=["password"])
    logger.info("password reset by e-mail code for user %s", user.pk)
    return user


def password_reset_by_certificate(*, user: User, password: str, password2: str) -> User:
    """A new password after the person proved themselves with their AUTH key (the view checked
    it in the same browser a few minutes ago). Every session of the user ends."""
    password_check_rules(password=password, password2=password2, user=user)
    user.set_password(password)
    user.save(update_fields=["password"])
    logger.info("password reset by EDS for user %s", user.pk)
    return user


def login_user_by_certificate(*, iin: str, bin: str) -> User:  # noqa: A002
    user = User.objects.filter(iin=iin, organization__bin=bin, is_active=True).select_related("organization").first()
    if user is None:
        raise CabinetError(
            _("No cabinet user is registered with this certificate. Register first."), field="eds",
            code="not_registered",
        )
    return user


# --- Profile --------------------------------------------------------------------------------------

def profile_contact_change_send(
    *, user: User, kind: str, new_value: str, password: str, language: str, now=None
) -> OneTimeCode:
    """Re-authentication by password, then a code to the new address or number."""
    if not user.check_password(password or ""):
        raise CabinetError(_("Wrong password"), field="password", code="wrong_password")
    purpose = OneTimeCode.Purpose.PROFILE_EMAIL if kind == "email" else OneTimeCode.Purpose.PROFILE_MOBILE
    channel = OutboundMessage.Channel.EMAIL if kind == "email" else OutboundMessage.Channel.SMS
    return otp_send(purpose=purpose, channel=channel, recipient=new_value, context=str(user.pk), language=language, now=now)


def profile_contact_change_confirm(*, user: User, kind: str, new_value: str, code: str, now=None) -> User:
    purpose = OneTimeCode.Purpose.PROFILE_EMAIL if kind == "email" else OneTimeCode.Purpose.PROFILE_MOBILE
    otp_verify(purpose=purpose, recipient=new_value, code=code, context=str(user.pk), now=now)
    field = "email" if kind == "email" else "mobile"
    old_email = user.email
    setattr(user, field, new_value.strip().lower() if kind == "email" else new_value.strip())
    user.save(update_fields=[field])
    logger.info("user %s changed %s", user.pk, field)
    if kind == "email" and old_email and old_email != user.email:
        with translation.override(user.language or "ru"):
            send_mail(gettext("The e-mail of your cabinet has been changed"),
                      gettext("The e-mail of your personal cabinet has been changed to %(email)s. If it was not you, "
                              "call the KZhK call centre.") % {"email": user.email}, None, [old_email])
    return user


# --- Notifications, surveys -----------------------------------------------------------------------

def notification_mark_read(*, notification: Notification, now=None) -> Notification:
    if notification.read_at is None:
        notification.read_at = now or timezone.now()
        notification.save(update_fields=["read_at"])
    return notification


SURVEY_ALREADY_FILLED = _("Your organization has already filled in this survey.")


def survey_response_submit(
    *, survey: Survey, organization: Organization, user: User, answers: dict, now=None
) -> SurveyResponse:
    """Stores one filling per organization. `answers`: {question_id: str | list[choice_id]}."""
    now = now or timezone.now()
    with transaction.atomic():
        # The organization's row is the lock: parallel submits (no response row to lock yet) queue
        # here and all but the first get «already filled» (one filling per organization).
        Organization.objects.select_for_update().filter(pk=organization.pk).first()
        if SurveyResponse.objects.filter(survey=survey, organization=organization).exists():
            raise CabinetError(SURVEY_ALREADY_FILLED, code="already_filled")
        response = SurveyResponse.objects.create(survey=survey, organization=organization, user=user, submitted_at=now)
        for question in survey.questions.all():
            value = answers.get(question.pk)
            answer = SurveyAnswer.objects.create(response=response, question=question,
                                                 text=value if isinstance(value, str) else "")
            if question.kind in (SurveyQuestion.Kind.SINGLE, SurveyQuestion.Kind.MULTIPLE) and value:
                ids = value if isinstance(value, list) else [value]
                answer.choices.set(question.choices.filter(pk__in=ids))
    return response


# --- Registration ---------------------------------------------------------------------------------

REGISTRATION_TTL = datetime.timedelta(hours=2)  # a draft older than this starts over

def registration_start(*, certificate_info, language: str, now=None) -> RegistrationDraft:
    """Step 1 passed (the certificate is a valid legal-entity one): a draft with what it says."""
    iin, bin_ = certificate_info.iin, certificate_info.bin
    try:  # registrations started per BIN (RATE_LIMITS["register-account"])
        ratelimits.attempt("register-account", bin_)
    except ratelimits.Limited as exc:
        raise CabinetError(exc.message, field="eds", code="rate_limited") from None
    if User.objects.filter(iin=iin, organization__bin=bin_).exists():
        raise CabinetError(
            _("A cabinet user with this IIN is already registered for this BIN. Log in instead."),
            field="eds", code="already_registered",
        )
    record = LegalEntityRecord.objects.filter(bin=bin_).first()
    organization = Organization.objects.filter(bin=bin_).first()
    name = (organization.name_ru if organization else "") or certificate_info.organization_name or (
        record.name_ru if record else "")
    return RegistrationDraft.objects.create(
        token=secrets.token_urlsafe(32), bin=bin_, iin=iin, organization_name=name,
        surname=certificate_info.surname or "", name=certificate_info.given_name or "",
        patronymic=certificate_info.patronymic or "", certificate_serial=str(certificate_info.serial_number or "")[:100],
        language=language, created_at=now or timezone.now(),
    )


def registration_agreement_signed(signing_request, signature) -> None:
    """signing's `on_complete` for the licence agreement: the signer must be the person and
    legal entity of the draft."""
    draft = RegistrationDraft.objects.select_for_update().get(pk=signing_request.subject_id)
    signer_iin = getattr(signature, "signer_iin", "") or ""
    signer_bin = getattr(signature, "signer_bin", "") or ""
    if (signer_iin and signer_iin != draft.iin) or (signer_bin and signer_bin != draft.bin):
        logger.warning("registration %s: agreement signed by another person", draft.pk)
        return
    draft.agreement_signature_id = signature.pk
    draft.agreement_signed_at = timezone.now()
    draft.save(update_fields=["agreement_signature_id", "agreement_signed_at"])


def registration_contacts_keep(*, draft: RegistrationDraft, email: str, mobile: str) -> RegistrationDraft:
    """Keeps well-formed contacts typed before the agreement is signed (nothing is sent)."""
    from django.core.validators import validate_email

    from .validators import normalize_kz_phone, validate_kz_phone

    fields = []
    with contextlib.suppress(ValidationError):
        validate_email(email.strip())
        draft.email = email.strip().lower()
        fields.append("email")
    with contextlib.suppress(ValidationError):
        mobile = normalize_kz_phone(mobile)
        validate_kz_phone(mobile)
        draft.mobile = mobile
        fields.append("mobile")
    if fields:
        draft.save(update_fields=fields)
    return draft


def registration_contacts_set(*, draft: RegistrationDraft, email: str, mobile: str, now=None) -> RegistrationDraft:
    """The form is filled (captcha passed, agreement signed): codes go to the e-mail and phone."""
    now = now or timezone.now()
    if draft.agreement_signature_id is None:
        raise CabinetError(_("Sign the licence agreement with your EDS."), field="agreement", code="agreement")
    email = email.strip().lower()
    changed_email = email != draft.email or not draft.email_confirmed
    changed_mobile = mobile != draft.mobile or not draft.mobile_confirmed
    draft.email, draft.mobile, draft.step = email, mobile, RegistrationDraft.Step.CONFIRM
    if changed_email:
        draft.email_confirmed = False
    if changed_mobile:
        draft.mobile_confirmed = False
    draft.save(update_fields=["email", "mobile", "step", "email_confirmed", "mobile_confirmed"])
    for channel in ("email", "sms"):
        if (channel == "email" and changed_email) or (channel == "sms" and changed_mobile):
            with contextlib.suppress(OtpError):  # a code sent less than a minute ago still works
                registration_code_send(draft=draft, channel=channel, now=now)
    return draft


def registration_code_send(*, draft: RegistrationDraft, channel: str, now=None) -> OneTimeCode:
    if channel == "email":
        return otp_send(purpose=OneTimeCode.Purpose.REGISTER_EMAIL, channel=OutboundMessage.Channel.EMAIL,
                        recipient=draft.email, context=draft.token, language=draft.language, now=now)
    return otp_send(purpose=OneTimeCode.Purpose.REGISTER_SMS, channel=OutboundMessage.Channel.SMS,
                    recipient=draft.mobile, context=draft.token, language=draft.language, now=now)


def registration_confirm(*, draft: RegistrationDraft, email_code: str, sms_code: str, now=None) -> dict:
    """«ПОДТВЕРЖДЕНИЕ»: both codes. Returns {field: message} for the refused ones (empty when
    both are confirmed; the draft then moves to the password step)."""
    errors = {}
    if not draft.email_confirmed:
        try:
            otp_verify(purpose=OneTimeCode.Purpose.REGISTER_EMAIL, recipient=draft.email, code=email_code,
                       context=draft.token, now=now)
            draft.email_confirmed = True
        except OtpError as exc:
            errors["email_code"] = exc.message
    if not draft.mobile_confirmed:
        try:
            otp_verify(purpose=OneTimeCode.Purpose.REGISTER_SMS, recipient=draft.mobile, code=sms_code,
                       context=draft.token, now=now)
            draft.mobile_confirmed = True
        except OtpError as exc:
            errors["sms_code"] = exc.message
    if not errors:
        draft.step = RegistrationDraft.Step.PASSWORD
    draft.save(update_fields=["email_confirmed", "mobile_confirmed", "step"])
    return errors


def registration_complete(*, draft: RegistrationDraft, password: str, password2: str, now=None) -> User:
    """«Завершить регистрацию»: the organization (if new) and the user."""
    now = now or timezone.now()
    if not (draft.email_confirmed and draft.mobile_confirmed and draft.agreement_signature_id):
        raise CabinetError(_("Confirm the e-mail and the mobile number first."), code="not_confirmed")
    password_check_rules(password=password, password2=password2)
    with transaction.atomic():
        draft = RegistrationDraft.objects.select_for_update().get(pk=draft.pk)
        if draft.step == RegistrationDraft.Step.DONE:
            raise CabinetError(_("This registration is already complete. Log in."), code="done")
        record = LegalEntityRecord.objects.filter(bin=draft.bin).first()
        organization, _created = Organization.objects.get_or_create(
            bin=draft.bin,
            defaults={"name_ru": draft.organization_name or (record.name_ru if record else draft.bin),
                      "name_kk": record.name_kk if record else "", "created_at": now},
        )
        if User.objects.filter(organization=organization, iin=draft.iin).exists():
            raise CabinetError(
                _("A cabinet user with this IIN is already registered for this BIN. Log in instead."),
                code="already_registered",
            )
        user = User(
            username=User.cabinet_username(bin=draft.bin, iin=draft.iin), organization=organization, iin=draft.iin,
            surname=draft.surname, name=draft.name, patronymic=draft.patronymic, email=draft.email,
            mobile=draft.mobile, language=draft.language, date_joined=now,
        )
        user.set_password(password)
        user.save()
        draft.step, draft.user = RegistrationDraft.Step.DONE, user
        draft.save(update_fields=["step", "user"])
    logger.info("registration complete: user %s, organization %s", user.pk, organization.pk)
    return user


LOGIN_CHALLENGE_TTL_SECONDS = 300
CHALLENGE_TITLES = {
    LoginChallenge.Purpose.LOGIN: ("Вход в личный кабинет", "Жеке кабинетке кіру"),
    LoginChallenge.Purpose.REGISTER: ("Регистрация в личном кабинете", "Жеке кабинетте тіркелу"),
    LoginChallenge.Purpose.RESET: ("Восстановление пароля", "Парольді қалпына келтіру"),
}
CHALLENGE_RETURN = {
    LoginChallenge.Purpose.LOGIN: "cabinets:login_qr_complete",
    LoginChallenge.Purpose.REGISTER: "cabinets:register_challenge_complete",
    LoginChallenge.Purpose.RESET: "cabinets:password_reset_challenge_complete",
}


def challenge_document(*, challenge: LoginChallenge, origin: str) -> bytes:
    """What the person signs with the AUTH key: purpose, origin, time and the server nonce."""
    title_ru, title_kk = CHALLENGE_TITLES[challenge.purpose]
    return (
        f"{title_ru} / {title_kk}\n"
        f"purpose: {challenge.purpose}\n"
        f"origin: {origin}\n"
        f"time: {challenge.created_at.astimezone(datetime.UTC):%Y-%m-%dT%H:%M:%SZ}\n"
        f"nonce: {challenge.nonce}\n"
    ).encode()


def ecp_challenge_start(*, purpose: str, origin: str, session, next_url: str = "", now=None):
    """A single-use challenge for the ЭЦП login, registration or password reset, and the signing
    request over it (AUTH key, a legal entity's certificate, 5 minutes, only this browser session).
    The caller keeps `challenge.token` in the session. Returns (challenge, signing_request)."""
    from urllib.parse import urlencode

    from django.urls import reverse

    from signing import services as signing_services

    now = now or timezone.now()
    challenge = LoginChallenge.objects.create(token=secrets.token_urlsafe(32), nonce=secrets.token_hex(32),
                                              purpose=purpose, created_at=now)
    title_ru, title_kk = CHALLENGE_TITLES[challenge.purpose]
    signing_request = signing_services.signing_request_create(
        subject=challenge, document=challenge_document(challenge=challenge, origin=origin),
        filename=f"{purpose}-challenge.txt", title_ru=title_ru, title_kk=title_kk, purpose="auth", organization=None,
        required_bin=None, allowed_roles=None, on_complete="cabinets.services.login_challenge_signed",
        return_url=reverse(CHALLENGE_RETURN[challenge.purpose]) + (f"?{urlencode({'next': next_url})}" if next_url else ""),
        signer_user=None, require_legal_entity=True,
        mime_type="text/plain", expires_in=datetime.timedelta(seconds=LOGIN_CHALLENGE_TTL_SECONDS), now=now,
        session=session,
    )
    return challenge, signing_request


def login_challenge_signed(signing_request, signature) -> None:
    """signing's `on_complete` for the ЭЦП challenges: remembers who signed the nonce."""
    challenge = LoginChallenge.objects.select_for_update().get(pk=signing_request.subject_id)
    challenge.signer_iin = getattr(signature, "signer_iin", "") or ""
    challenge.signer_bin = getattr(signature, "signer_bin", "") or ""
    challenge.signature_id = getattr(signature, "pk", None)
    challenge.completed_at = timezone.now()
    challenge.save(update_fields=["signer_iin", "signer_bin", "signature_id", "completed_at"])


def _challenge_consume(*, token: str, purpose: str, now) -> LoginChallenge:
    """The browser that started the challenge comes back: one use, within 5 minutes, for the
    purpose it was made for."""
    with transaction.atomic():
        challenge = LoginChallenge.objects.select_for_update().filter(token=token).first() if token else None
        if (challenge is None or challenge.purpose != purpose or challenge.completed_at is None
                or challenge.used_at is not None
                or (now - challenge.created_at).total_seconds() > LOGIN_CHALLENGE_TTL_SECONDS):
            raise CabinetError(_("The signature was not received. Try again."), code="challenge")
        challenge.used_at = now
        challenge.save(update_fields=["used_at"])
    if not challenge.signer_bin:
        raise CabinetError(_("Use the EDS of a legal entity."), code="not_legal_entity")
    return challenge


def login_challenge_use(*, token: str, purpose: str = LoginChallenge.Purpose.LOGIN, now=None) -> User:
    """The user who signed a login (or password-reset) challenge."""
    challenge = _challenge_consume(token=token, purpose=purpose, now=now or timezone.now())
    return login_user_by_certificate(iin=challenge.signer_iin, bin=challenge.signer_bin)


def registration_challenge_use(*, token: str, language: str, now=None) -> RegistrationDraft:
    """Registration step 1 by a signed challenge: the certificate of the signature starts the draft."""
    from signing.selectors import signature_certificate_info

    challenge = _challenge_consume(token=token, purpose=LoginChallenge.Purpose.REGISTER, now=now or timezone.now())
    info = signature_certificate_info(signature_id=challenge.signature_id)
    if info is None:
        raise CabinetError(_("The signature was not received. Try again."), code="challenge")
    return registration_start(certificate_info=info, language=language, now=now)


def auth_records_purge(*, now=None) -> int:
    """Deletes what the login and registration flows no longer need: one-time codes and login
    challenges older than a day, unfinished registrations past their life. Run daily."""
    now = now or timezone.now()
    day_ago = now - datetime.timedelta(days=1)
    deleted = OneTimeCode.objects.filter(created_at__lt=day_ago).delete()[0]
    deleted += LoginChallenge.objects.filter(created_at__lt=day_ago).delete()[0]
    deleted += (
        RegistrationDraft.objects.filter(created_at__lt=now - REGISTRATION_TTL)
        .exclude(step=RegistrationDraft.Step.DONE)
        .delete()[0]
    )
    return deleted
