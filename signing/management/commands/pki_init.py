from django.core.management.base import BaseCommand

from signing import demo, pki


class Command(BaseCommand):
    help = "Create the test national PKI (root, «НУЦ РК (TEST) RSA», CRLs, demo key files) in settings.PKI_DIR."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="regenerate everything (new CA keys, new demo keys)")

    def handle(self, *args, force=False, **options):
        if force:
            pki.ensure_pki(force=True, stdout=self.stdout)
        demo.seed(stdout=self.stdout)
