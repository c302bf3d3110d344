"""One-time codes («разовый код», «СМС код»): 6 digits from `secrets`, only an HMAC stored,
single use, 5-minute life, at most 5 wrong tries (then a new code is needed), a new code at
most once a minute. The rules live here; `services.otp_send` / `services.otp_verify` are the
entry points."""

import datetime
import hmac
import secrets

from django.utils.crypto import salted_hmac
from django.utils.translation import gettext_lazy as _

OTP_LENGTH = 6
OTP_TTL = datetime.timedelta(minutes=5)
OTP_MAX_TRIES = 5
OTP_RESEND_INTERVAL = datetime.timedelta(minutes=1)


class OtpError(Exception):
    """A refused code; `message` is shown at the code field."""

    MESSAGES = {
        "wrong": _("Wrong code. Check it and try again."),
        "expired": _("The code has expired. Request a new code."),
        "no_code": _("The code is not valid or has already been used. Request a new code."),
        "too_many_tries": _("Too many wrong tries. Request a new code."),
        "resend_too_soon": _("A new code can be requested once a minute. Please wait."),
    }

    def __init__(self, code: str, message=None, *, retry_after: int | None = None):
        self.code = code
        self.message = message or self.MESSAGES[code]
        self.retry_after = retry_after
        super().__init__(code)

    @classmethod
    def limited(cls, exc) -> "OtpError":
        """A rate limit (homeportal.ratelimits.Limited) said no: «too many attempts, N minutes»."""
        return cls("rate_limited", exc.message, retry_after=exc.retry_after)


def code_generate() -> str:
    return f"{secrets.randbelow(10**OTP_LENGTH):0{OTP_LENGTH}d}"


def code_hash(*, purpose: str, recipient: str, context: str, code: str) -> str:
    return salted_hmac("cabinets.otp", f"{purpose}|{recipient.lower()}|{context}|{code}", algorithm="sha256").hexdigest()


def code_matches(*, stored_hash: str, purpose: str, recipient: str, context: str, code: str) -> bool:
    candidate = code_hash(purpose=purpose, recipient=recipient, context=context, code=(code or "").strip())
    return hmac.compare_digest(stored_hash, candidate)
