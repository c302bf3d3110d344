from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from signing import pki
from signing.certs import SigningError
from signing.egov_client import egov_mobile_sign


class Command(BaseCommand):
    help = ("Play the eGov mobile app: take the QR text (mobileSign:<API 1 URL>) or the API 1 URL, "
            "GET API 1, GET API 2, sign with the key, PUT the CMS back — over HTTP.")

    def add_arguments(self, parser):
        parser.add_argument("qr", help="QR text or API 1 URL")
        parser.add_argument("--key", help="PKCS#12 file; or a demo key slug from var/pki/demo-keys.json",
                            default="company_head_sign")
        parser.add_argument("--password", help="key password (demo keys: from the manifest)")
        parser.add_argument("--lang", default="ru", choices=["ru", "kk"])

    def handle(self, *args, qr, key, password=None, lang="ru", **options):
        path = Path(key)
        if path.exists():
            data = path.read_bytes()
            if password is None:
                raise CommandError("--password is required for a key file")
        else:
            try:
                data, demo_password = pki.demo_key(key)
            except KeyError as exc:
                raise CommandError(f"no such key file or demo key: {key}") from exc
            password = password if password is not None else demo_password
        try:
            result = egov_mobile_sign(qr_text=qr, p12=data, password=password, accept_language=lang)
        except SigningError as err:
            raise CommandError(str(err.message)) from err
        except (OSError, ValueError, KeyError) as exc:
            raise CommandError(f"{exc.__class__.__name__}: {exc}") from exc
        self.stdout.write(f"{result.description}\nsigner: {result.signer}\nHTTP {result.status}: {result.body}")
        if result.status != 200:
            raise SystemExit(1)
