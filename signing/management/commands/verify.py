import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from signing.verification import verify_upload


class Command(BaseCommand):
    help = "Verify a signed PDF or a CMS signature (attached, or detached with --data). Exit code 1 when not valid."

    def add_arguments(self, parser):
        parser.add_argument("file", help="signed PDF or CMS (DER or PEM)")
        parser.add_argument("--data", help="the signed document, for a detached CMS")
        parser.add_argument("--json", action="store_true", help="print the JSON report")

    def handle(self, *args, file, data=None, json=False, **options):
        try:
            body = Path(file).read_bytes()
            content = Path(data).read_bytes() if data else None
        except OSError as exc:
            raise CommandError(str(exc)) from exc
        report = verify_upload(body, content)
        if json:
            self.stdout.write(_dumps(report.as_dict()))
        else:
            if report.error:
                self.stdout.write(self.style.ERROR(report.error))
            for i, s in enumerate(report.signatures, 1):
                self.stdout.write(
                    f"#{i} {s.signer_name} IIN {s.iin} BIN {s.bin or '-'} {s.organization} roles={','.join(s.roles)}\n"
                    f"   signed at {s.signing_time:%Y-%m-%d %H:%M:%S%z} · issuer {s.issuer} · trusted={s.trusted} "
                    f"certificate valid then={s.certificate_valid} revoked={s.revoked} · document intact={s.intact}"
                    if s.signing_time else f"#{i} {s.signer_name} intact={s.intact}"
                )
                self.stdout.write(self.style.SUCCESS("   VALID") if s.ok else self.style.ERROR(
                    "   NOT VALID: " + "; ".join(s.problem_messages)))
            if report.altered:
                self.stdout.write(self.style.ERROR("The document was altered after signing."))
        if not report.all_ok:
            raise SystemExit(1)


def _dumps(data) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)
