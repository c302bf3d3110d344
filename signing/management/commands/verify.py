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
                tsa = f"{s.tsa_time:%Y-%m-%d %H:%M:%S%z}" if s.tsa_time else "none"
                declared = f"{s.declared_time:%Y-%m-%d %H:%M:%S%z}" if s.declared_time else "-"
                rev = s.revocation or {}
                self.stdout.write(
                    f"#{i} {s.signer_name} IIN {s.iin} BIN {s.bin or '-'} {s.organization} roles={','.join(s.roles)} "
                    f"key={s.key_purpose}\n"
                    f"   level {s.level} · TSA time {tsa} · declared {declared} · issuer {s.issuer}\n"
                    f"   revocation {rev.get('source', '-')}:{rev.get('status', '-')} produced {rev.get('produced_at', '-')}"
                    f" · changed after signing: {', '.join(s.changes) or 'no'}")
                verdict = f"   {s.indication}" + (f" / {s.sub_indication}" if s.sub_indication else "")
                text = s.indication_label + (f": {s.sub_indication_label}" if s.sub_indication else "")
                self.stdout.write((self.style.SUCCESS if s.ok else self.style.ERROR)(f"{verdict} — {text}"))
            if report.altered:
                self.stdout.write(self.style.ERROR("The document was altered after signing."))
        if not report.all_ok:
            raise SystemExit(1)


def _dumps(data) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)
