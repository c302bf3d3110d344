"""The organization domain: legal entities, their people, contracts, notifications.

Every other app scopes its records to `Organization`; selectors take the current user's
organization and answer 404 for anything else.
"""

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.models import PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from homeportal.i18n import Localized

from .validators import validate_bin, validate_iin


class Organization(models.Model):
    """A legal entity with a cabinet: an authorised company (УК) or a developer (Застройщик)."""

    class Kind(models.TextChoices):
        COMPANY = "company", _("Authorised company")
        DEVELOPER = "developer", _("Developer")

    bin = models.CharField(_("BIN"), max_length=12, unique=True, validators=[validate_bin])
    name_ru = models.CharField(_("Name (Russian)"), max_length=500)
    name_kk = models.CharField(_("Name (Kazakh)"), max_length=500, blank=True)
    kind = models.CharField(_("Kind"), max_length=20, choices=Kind.choices, default=Kind.COMPANY)
    created_at = models.DateTimeField(_("Created"), default=timezone.now)

    class Meta:
        verbose_name = _("Organization")
        verbose_name_plural = _("Organizations")
        ordering = ["name_ru"]

    def __str__(self):
        return f"{self.name} ({self.bin})"

    name = Localized("name")


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, username, password=None, **extra):
        user = self.model(username=username, **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, username, password=None, **extra):
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(username, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """A person. Cabinet users act for one organization (keyed by IIN within it); KZhK staff
    (moderators) have no organization and sign in to the admin by username."""

    username = models.CharField(_("Login"), max_length=150, unique=True)
    organization = models.ForeignKey(
        Organization, verbose_name=_("Organization"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="users",
    )
    iin = models.CharField(_("IIN"), max_length=12, blank=True, validators=[validate_iin])
    surname = models.CharField(_("Surname"), max_length=150, blank=True)
    name = models.CharField(_("Name"), max_length=150, blank=True)
    patronymic = models.CharField(_("Patronymic"), max_length=150, blank=True)
    email = models.EmailField(_("E-mail"), blank=True)
    mobile = models.CharField(_("Mobile number"), max_length=12, blank=True)
    language = models.CharField(_("Language"), max_length=5, default="ru")
    is_staff = models.BooleanField(_("KZhK staff"), default=False)
    is_active = models.BooleanField(_("Active"), default=True)
    date_joined = models.DateTimeField(_("Registered"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("User")
        verbose_name_plural = _("Users")
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "iin"], condition=~models.Q(iin=""), name="user_unique_iin_per_organization"
            ),
        ]

    def __str__(self):
        return self.full_name or self.username

    @property
    def full_name(self) -> str:
        return " ".join(p for p in (self.surname, self.name, self.patronymic) if p)

    @staticmethod
    def cabinet_username(*, bin: str, iin: str) -> str:  # noqa: A002 - BIN is the domain word
        return f"{bin}-{iin}"


class LegalEntityRecord(models.Model):
    """Emulates the state database of legal entities (the BIN search of the developer
    invitation). Editable in admin; `cabinets.selectors.legal_entity_lookup` is the only reader,
    so a real registry client can replace it."""

    bin = models.CharField(_("BIN"), max_length=12, unique=True, validators=[validate_bin])
    name_ru = models.CharField(_("Name (Russian)"), max_length=500)
    name_kk = models.CharField(_("Name (Kazakh)"), max_length=500, blank=True)
    legal_address = models.CharField(_("Legal address"), max_length=500, blank=True)
    head_full_name = models.CharField(_("Head"), max_length=300, blank=True)
    registered_on = models.DateField(_("Registration date"), null=True, blank=True)

    class Meta:
        verbose_name = _("Legal-entity registry record")
        verbose_name_plural = _("Legal-entity registry")
        ordering = ["bin"]

    def __str__(self):
        return f"{self.bin} {self.name_ru}"


class Contract(models.Model):
    """A guarantee or subsidy contract (договор гарантирования / субсидирования) of an
    organization. Applications are filed under them and appeals correct them."""

    class Kind(models.TextChoices):
        GUARANTEE = "guarantee", _("Guarantee")
        SUBSIDY = "subsidy", _("Subsidy")

    organization = models.ForeignKey(
        Organization, verbose_name=_("Organization"), on_delete=models.PROTECT, related_name="contracts"
    )
    developer = models.ForeignKey(
        Organization, verbose_name=_("Developer"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="developer_contracts",
    )
    kind = models.CharField(_("Contract type"), max_length=20, choices=Kind.choices, default=Kind.GUARANTEE)
    number = models.CharField(_("Contract number"), max_length=100)
    signed_on = models.DateField(_("Contract date"))
    project_name = models.CharField(_("Project name"), max_length=1000)
    amount = models.DecimalField(_("Amount, KZT"), max_digits=18, decimal_places=2, null=True, blank=True)
    is_active = models.BooleanField(_("Active"), default=True)
    concluded_outside_portal = models.BooleanField(_("Concluded outside the portal"), default=False)
    created_at = models.DateTimeField(_("Created"), default=timezone.now)

    class Meta:
        verbose_name = _("Contract")
        verbose_name_plural = _("Contracts")
        ordering = ["-signed_on", "number"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "kind", "number"], name="contract_unique_number"),
        ]

    def __str__(self):
        return f"{self.number} / {self.signed_on:%d.%m.%Y}"


class Notification(models.Model):
    """A message from KZhK to an organization («Уведомления»). Titles and texts are stored in
    both languages because the reader's language is chosen when the page is shown."""

    organization = models.ForeignKey(
        Organization, verbose_name=_("Organization"), on_delete=models.CASCADE, related_name="notifications"
    )
    title_ru = models.CharField(_("Title (Russian)"), max_length=300)
    title_kk = models.CharField(_("Title (Kazakh)"), max_length=300)
    body_ru = models.TextField(_("Text (Russian)"), blank=True)
    body_kk = models.TextField(_("Text (Kazakh)"), blank=True)
    link = models.CharField(_("Link"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("Created"), default=timezone.now, db_index=True)
    read_at = models.DateTimeField(_("Read"), null=True, blank=True)
    emailed_at = models.DateTimeField(_("E-mail copy sent"), null=True, blank=True)

    class Meta:
        verbose_name = _("Notification")
        verbose_name_plural = _("Notifications")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["organization", "-created_at", "-id"], name="notification_list_idx"),
            # The unread badge counts only these rows.
            models.Index(fields=["organization"], condition=models.Q(read_at__isnull=True), name="notification_unread_part_idx"),
        ]

    def __str__(self):
        return self.title_ru

    title = Localized("title")

    body = Localized("body")


class OutboundMessage(models.Model):
    """What the portal "sent" by e-mail or SMS in development: the dev outbox page shows it.
    In production mail goes through SMTP and SMS through a gateway, and nothing is kept here."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("E-mail")
        SMS = "sms", _("SMS")

    channel = models.CharField(_("Channel"), max_length=10, choices=Channel.choices)
    recipient = models.CharField(_("Recipient"), max_length=300)
    subject = models.CharField(_("Subject"), max_length=500, blank=True)
    body = models.TextField(_("Text"))
    html_body = models.TextField(_("HTML"), blank=True)
    created_at = models.DateTimeField(_("Sent"), default=timezone.now, db_index=True)

    class Meta:
        verbose_name = _("Dev outbox message")
        verbose_name_plural = _("Dev outbox")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.channel} → {self.recipient}: {self.subject or self.body[:40]}"


class OneTimeCode(models.Model):
    """A one-time confirmation code sent by e-mail or SMS. Only an HMAC of the code is kept;
    a code is used once, expires after `OTP_TTL`, and allows `OTP_MAX_TRIES` wrong entries."""

    class Purpose(models.TextChoices):
        LOGIN = "login", _("Log in by e-mail")
        REGISTER_EMAIL = "register_email", _("Registration: e-mail")
        REGISTER_SMS = "register_sms", _("Registration: SMS")
        RESET = "reset", _("Password reset")
        PROFILE_EMAIL = "profile_email", _("Profile: new e-mail")
        PROFILE_MOBILE = "profile_mobile", _("Profile: new mobile number")

    purpose = models.CharField(_("Purpose"), max_length=30, choices=Purpose.choices)
    channel = models.CharField(_("Channel"), max_length=10, choices=OutboundMessage.Channel.choices)
    recipient = models.CharField(_("Recipient"), max_length=300)
    # What the code is bound to (a registration draft token, a user id): a code for one flow
    # never confirms another.
    context = models.CharField(_("Context"), max_length=100, blank=True)
    code_hash = models.CharField(max_length=128)
    created_at = models.DateTimeField(_("Created"), db_index=True)
    expires_at = models.DateTimeField(_("Expires"))
    attempts = models.PositiveSmallIntegerField(_("Wrong tries"), default=0)
    used_at = models.DateTimeField(_("Used"), null=True, blank=True)
    superseded = models.BooleanField(_("Replaced by a newer code"), default=False)

    class Meta:
        verbose_name = _("One-time code")
        verbose_name_plural = _("One-time codes")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["purpose", "recipient", "context"], name="otp_lookup_idx")]

    def __str__(self):
        return f"{self.purpose} → {self.recipient}"


class RegistrationDraft(models.Model):
    """One registration in progress («Регистрация»): what the certificate said (never the key
    or its password), the contacts, the signed licence agreement, and how far it got. The
    browser session holds only the token."""

    class Step(models.TextChoices):
        FORM = "form", _("Form")
        CONFIRM = "confirm", _("Confirmation")
        PASSWORD = "password", _("Password")
        DONE = "done", _("Done")

    token = models.CharField(max_length=64, unique=True)
    step = models.CharField(_("Step"), max_length=20, choices=Step.choices, default=Step.FORM)
    bin = models.CharField(_("BIN"), max_length=12)
    organization_name = models.CharField(_("Organization name"), max_length=500)
    iin = models.CharField(_("IIN"), max_length=12)
    surname = models.CharField(_("Surname"), max_length=150, blank=True)
    name = models.CharField(_("Name"), max_length=150, blank=True)
    patronymic = models.CharField(_("Patronymic"), max_length=150, blank=True)
    certificate_serial = models.CharField(_("Certificate serial number"), max_length=100, blank=True)
    email = models.EmailField(_("E-mail"), blank=True)
    mobile = models.CharField(_("Mobile number"), max_length=12, blank=True)
    email_confirmed = models.BooleanField(default=False)
    mobile_confirmed = models.BooleanField(default=False)
    agreement_signature_id = models.BigIntegerField(_("Licence agreement signature"), null=True, blank=True)
    agreement_signed_at = models.DateTimeField(_("Licence agreement signed"), null=True, blank=True)
    language = models.CharField(max_length=5, default="ru")
    user = models.ForeignKey(
        User, verbose_name=_("User"), null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("Created"), default=timezone.now)

    class Meta:
        verbose_name = _("Registration")
        verbose_name_plural = _("Registrations")
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.bin} / {self.iin}"


class LoginChallenge(models.Model):
    """A single-use server challenge (nonce + time + origin) for the ЭЦП login, registration and
    password reset: the person signs it with the AUTH key in the browser (key file or NCALayer) or
    the eGov app; the certificate's IIN and BIN pick the user. The browser session holds the token
    (and the signing request is bound to that session); the signer is filled in when signing
    completes; `used_at` makes it single use."""

    class Purpose(models.TextChoices):
        LOGIN = "login", _("Log in")
        REGISTER = "register", _("Registration")
        RESET = "reset", _("Password recovery")

    token = models.CharField(max_length=64, unique=True)
    nonce = models.CharField(max_length=64)
    purpose = models.CharField(max_length=10, choices=Purpose.choices, default=Purpose.LOGIN)
    signature_id = models.BigIntegerField(null=True, blank=True)  # signing.Signature (no FK across apps)
    created_at = models.DateTimeField(default=timezone.now)
    signer_iin = models.CharField(max_length=12, blank=True)
    signer_bin = models.CharField(max_length=12, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("Login challenge")
        verbose_name_plural = _("Login challenges")

    def __str__(self):
        return self.token[:8]


class Survey(models.Model):
    """«Анкеты»: a questionnaire defined by KZhK staff in admin; one filling per organization."""

    title_ru = models.CharField(_("Title (Russian)"), max_length=300)
    title_kk = models.CharField(_("Title (Kazakh)"), max_length=300)
    description_ru = models.TextField(_("Description (Russian)"), blank=True)
    description_kk = models.TextField(_("Description (Kazakh)"), blank=True)
    is_published = models.BooleanField(_("Published"), default=True)
    created_at = models.DateTimeField(_("Created"), default=timezone.now)

    class Meta:
        verbose_name = _("Survey")
        verbose_name_plural = _("Surveys")
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.title_ru

    title = Localized("title")

    description = Localized("description")


class SurveyQuestion(models.Model):
    class Kind(models.TextChoices):
        TEXT = "text", _("Text")
        SINGLE = "single", _("Single choice")
        MULTIPLE = "multiple", _("Multiple choice")
        YES_NO = "yes_no", _("Yes / no")

    survey = models.ForeignKey(Survey, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField(_("Position"), default=0)
    kind = models.CharField(_("Question type"), max_length=20, choices=Kind.choices, default=Kind.TEXT)
    text_ru = models.CharField(_("Question (Russian)"), max_length=500)
    text_kk = models.CharField(_("Question (Kazakh)"), max_length=500)
    required = models.BooleanField(_("Required"), default=True)

    class Meta:
        verbose_name = _("Question")
        verbose_name_plural = _("Questions")
        ordering = ["position", "id"]

    def __str__(self):
        return self.text_ru

    text = Localized("text")


class SurveyChoice(models.Model):
    question = models.ForeignKey(SurveyQuestion, on_delete=models.CASCADE, related_name="choices")
    position = models.PositiveSmallIntegerField(_("Position"), default=0)
    text_ru = models.CharField(_("Option (Russian)"), max_length=300)
    text_kk = models.CharField(_("Option (Kazakh)"), max_length=300)

    class Meta:
        verbose_name = _("Option")
        verbose_name_plural = _("Options")
        ordering = ["position", "id"]

    def __str__(self):
        return self.text_ru

    text = Localized("text")


class SurveyResponse(models.Model):
    survey = models.ForeignKey(Survey, verbose_name=_("Survey"), on_delete=models.CASCADE, related_name="responses")
    organization = models.ForeignKey(
        Organization, verbose_name=_("Organization"), on_delete=models.CASCADE, related_name="survey_responses"
    )
    user = models.ForeignKey(User, verbose_name=_("Filled by"), null=True, on_delete=models.SET_NULL, related_name="+")
    submitted_at = models.DateTimeField(_("Submitted"), default=timezone.now)

    class Meta:
        verbose_name = _("Survey response")
        verbose_name_plural = _("Survey responses")
        ordering = ["-submitted_at"]
        constraints = [
            models.UniqueConstraint(fields=["survey", "organization"], name="survey_one_response_per_organization"),
        ]

    def __str__(self):
        return f"{self.survey} / {self.organization}"


class SurveyAnswer(models.Model):
    response = models.ForeignKey(SurveyResponse, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(SurveyQuestion, verbose_name=_("Question"), on_delete=models.CASCADE, related_name="+")
    text = models.TextField(_("Answer"), blank=True)
    choices = models.ManyToManyField(SurveyChoice, verbose_name=_("Options"), blank=True, related_name="+")

    class Meta:
        verbose_name = _("Answer")
        verbose_name_plural = _("Answers")

    def __str__(self):
        return f"{self.question}: {self.text}"


class FaqGroup(models.Model):
    title_ru = models.CharField(_("Title (Russian)"), max_length=300)
    title_kk = models.CharField(_("Title (Kazakh)"), max_length=300)
    position = models.PositiveSmallIntegerField(_("Position"), default=0)

    class Meta:
        verbose_name = _("FAQ group")
        verbose_name_plural = _("FAQ groups")
        ordering = ["position", "id"]

    def __str__(self):
        return self.title_ru

    title = Localized("title")


class FaqEntry(models.Model):
    group = models.ForeignKey(FaqGroup, verbose_name=_("Group"), on_delete=models.CASCADE, related_name="entries")
    position = models.PositiveSmallIntegerField(_("Position"), default=0)
    question_ru = models.CharField(_("Question (Russian)"), max_length=500)
    question_kk = models.CharField(_("Question (Kazakh)"), max_length=500)
    answer_ru = models.TextField(_("Answer (Russian)"))
    answer_kk = models.TextField(_("Answer (Kazakh)"))
    is_published = models.BooleanField(_("Published"), default=True)

    class Meta:
        verbose_name = _("FAQ entry")
        verbose_name_plural = _("FAQ")
        ordering = ["position", "id"]

    def __str__(self):
        return self.question_ru

    question = Localized("question")

    answer = Localized("answer")
