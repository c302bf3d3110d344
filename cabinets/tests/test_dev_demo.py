import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_demo_access_page_lists_logins_and_key_files(client):
    body = client.get(reverse("dev:demo")).content.decode()
    assert "160340003066" in body and "Demo-2026!" in body
    assert "company_head_sign.p12" in body and "Qwerty12" in body
    assert reverse("signing:egov_simulator") in body



@pytest.mark.parametrize(("lang", "column", "note"), [
    ("ru", "Для чего", "Руководитель демо-уполномоченной компании"),
    ("kk", "Не үшін", "Демо уәкілетті компанияның басшысы"),
])
def test_demo_key_table_speaks_the_pages_language(client, settings, lang, column, note):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = lang
    body = client.get(reverse("dev:demo")).content.decode()
    assert column in body and note in body and "Head of the demo authorised company" not in body

def test_demo_key_file_downloads_as_pkcs12_and_opens(client):
    from signing.services import pkcs12_open

    response = client.get(reverse("dev:demo_key", args=["company_head_sign"]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    opened = pkcs12_open(data=b"".join(response.streaming_content), password="Qwerty12")
    assert opened.certificate_info.bin == "160340003066"


def test_unknown_key_and_ca_keys_are_not_served(client):
    assert client.get(reverse("dev:demo_key", args=["root"])).status_code == 404
    assert client.get("/dev/demo/keys/../root.key").status_code == 404


def test_demo_pages_are_gone_when_dev_outbox_is_off(client, settings):
    settings.DEV_OUTBOX_ENABLED = False
    assert client.get(reverse("dev:demo")).status_code == 404
    assert client.get(reverse("dev:demo_key", args=["company_head_sign"])).status_code == 404


def test_login_page_points_to_demo_access(client):
    body = client.get(reverse("cabinets:login")).content.decode()
    assert reverse("dev:demo") in body
