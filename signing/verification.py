"""The verifier: a signed PDF, an attached CMS, or a detached CMS plus the document -> a report per
signature (who, organization, role, when, certificate valid/revoked then, document intact)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .certs import ERROR_MESSAGES, SigningError
from .cms import cms_verify
from .pdf import pdf_verify

ROLE_LABELS = {
    "individual": gettext_lazy("individual"),
    "organization": gettext_lazy("legal entity"),
    "head": gettext_lazy("head"),
    "may_sign": gettext_lazy("has the right to sign"),
    "employee": gettext_lazy("employee"),
}
MAX_VERIFY_SIZE = 50 * 1024 * 1024


@dataclass
class SignatureLine:
    signer_name: str
    iin: str
    bin: str
    organization: str
    roles: list[str]
    signing_time: dt.datetime | None
    certificate_valid: bool
    revoked: bool
    revoked_at: dt.datetime | None
    trusted: bool
    intact: bool
    ok: bool
    issuer: str
    field_name: str = ""
    problems: list[str] = field(default_factory=list)

    @property
    def role_labels(self) -> list[str]:
        return [str(ROLE_LABELS.get(r, r)) for r in self.roles]

    @property
    def problem_messages(self) -> list[str]:
        return [str(ERROR_MESSAGES.get(p, p)) for p in self.problems]

    def as_dict(self) -> dict:
        return {
            "signer_name": self.signer_name, "iin": self.iin, "bin": self.bin, "organization": self.organization,
            "roles": self.roles, "signing_time": self.signing_time.isoformat() if self.signing_time else None,
            "certificate_valid_at_signing_time": self.certificate_valid, "revoked": self.revoked,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None, "trusted": self.trusted,
            "document_intact": self.intact, "valid": self.ok, "issuer": self.issuer, "field": self.field_name,
            "problems": self.problems,
        }


@dataclass
class VerifyReport:
    kind: str = ""  # "pdf" | "cms"
    signatures: list[SignatureLine] = field(default_factory=list)
    error: str = ""
    detached_without_data: bool = False

    @property
    def all_ok(self) -> bool:
        return bool(self.signatures) and all(s.ok for s in self.signatures)

    @property
    def altered(self) -> bool:
        return any(not s.intact for s in self.signatures)

    def as_dict(self) -> dict:
        return {
            "kind": self.kind, "valid": self.all_ok, "document_altered": self.altered, "error": self.error,
            "signatures": [s.as_dict() for s in self.signatures],
        }


def _line(info, signing_time, status, intact, ok, problems, field_name="") -> SignatureLine:
    return SignatureLine(
        signer_name=info.full_name if info else "", iin=info.iin if info else "", bin=info.bin if info else "",
        organization=info.organization_name if info else "", roles=sorted(info.roles) if info else [],
        signing_time=timezone.localtime(signing_time) if signing_time else None,
        certificate_valid=bool(status and status.trusted and status.valid_at_time),
        revoked=bool(status and status.revoked), revoked_at=status.revoked_at if status else None,
        trusted=bool(status and status.trusted), intact=intact, ok=ok, issuer=info.issuer if info else "",
        field_name=field_name, problems=list(dict.fromkeys(problems)),
    )


def verify_upload(file_bytes: bytes, data: bytes | None = None) -> VerifyReport:
    if not file_bytes:
        return VerifyReport(error=_("The file is empty."))
    if len(file_bytes) > MAX_VERIFY_SIZE:
        return VerifyReport(error=_("The file is too large."))
    if file_bytes.lstrip()[:5] == b"%PDF-":
        try:
            reports = pdf_verify(file_bytes)
        except ValueError:
            return VerifyReport(kind="pdf", error=_("The PDF cannot be read: it is damaged or was altered."))
        if not reports:
            return VerifyReport(kind="pdf", error=_("The PDF contains no electronic signatures."))
        lines = []
        for r in reports:
            problems = list(r.problems)
            if not r.covers_document:
                problems.append("bad_signature")
            lines.append(_line(r.info, r.signing_time, r.cert_status, r.intact and r.covers_document, r.ok, problems,
                               r.field_name))
        return VerifyReport(kind="pdf", signatures=lines)
    try:
        result = cms_verify(cms_bytes=file_bytes, data=data)
    except SigningError:
        return VerifyReport(error=_("The file is neither a signed PDF nor a CMS signature."))
    report = VerifyReport(kind="cms")
    if result.content is None:
        report.detached_without_data = True
        report.error = _("This is a detached signature: add the signed document as well.")
        return report
    for s in result.signatures:
        report.signatures.append(_line(s.info, s.signing_time, s.cert_status, s.intact, s.ok, s.problems))
    return report
