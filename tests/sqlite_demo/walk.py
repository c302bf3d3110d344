"""Run by tests/test_demo_sqlite.py in a process of its own on `make run`'s embedded defaults
(SQLite, no Redis): every page of the demo's users answers 200. Prints one line per failure."""

import django

django.setup()

from django.test import Client  # noqa: E402
from django.urls import reverse  # noqa: E402

from appeals.models import Appeal  # noqa: E402
from applications.models import Application  # noqa: E402
from cabinets.demo import DEMO_COMPANY_BIN  # noqa: E402
from cabinets.models import User  # noqa: E402

failures, walked = [], []


def get(client, url, lang):
    """200, after the redirects a page makes (a signed appeal's form leads to its view), never to login."""
    walked.append(url)
    response = client.get(url, HTTP_ACCEPT_LANGUAGE=lang, follow=True)
    landed = response.redirect_chain[-1][0] if response.redirect_chain else url
    if response.status_code != 200 or (landed.startswith("/login/") and not url.startswith("/login/")):
        failures.append(f"{lang} {url}: {response.status_code} at {landed}")


for lang in ("ru", "kk"):
    anonymous = Client(raise_request_exception=False)
    for url in ("/login/", "/register/", "/password-reset/", "/signing/verify/", "/dev/demo/", "/dev/outbox/"):
        get(anonymous, url, lang)
    for user in User.objects.filter(organization__isnull=False, is_active=True).select_related("organization"):
        client = Client(raise_request_exception=False)
        client.force_login(user)
        org = user.organization
        for name in ("applications:list", "applications:subsidy_list", "appeals:list", "appeals:new",
                     "cabinets:notifications", "cabinets:profile", "cabinets:surveys", "cabinets:faq"):
            get(client, reverse(name), lang)
        for app in Application.objects.filter(organization=org):
            for stage in (1, 2, 3, 4):
                get(client, reverse("applications:stage", args=[app.public_id, stage]), lang)
            get(client, reverse("applications:history", args=[app.public_id]), lang)
        for appeal in Appeal.objects.filter(organization=org):
            get(client, reverse("appeals:edit", args=[appeal.public_id]), lang)
            get(client, reverse("appeals:history", args=[appeal.public_id]), lang)
print("PAGES-WALKED", len(walked), "the demo company", DEMO_COMPANY_BIN)
for line in failures:
    print("FAIL", line)
