"""NCALAYER_URL reaches the page (<body data-ncalayer-url>, read by static/js/ncalayer.js) and the
CSP lets the page open that WebSocket and no other."""

from homeportal.settings import content_security_policy


def test_csp_connect_src_is_the_page_and_ncalayer():
    assert "connect-src 'self' wss://127.0.0.1:13579; " in content_security_policy("wss://127.0.0.1:13579/")
    assert "connect-src 'self' ws://localhost:1234; " in content_security_policy("ws://localhost:1234/x")
    for bad in ("", "https://evil.example/", "javascript:alert(1)"):
        assert "connect-src 'self'; " in content_security_policy(bad)


def test_the_page_carries_the_ncalayer_url(client, settings):
    settings.NCALAYER_URL = "wss://127.0.0.1:13579/"
    settings.CONTENT_SECURITY_POLICY = content_security_policy(settings.NCALAYER_URL)
    response = client.get("/login/")
    assert 'data-ncalayer-url="wss://127.0.0.1:13579/"' in response.content.decode()
    assert "connect-src 'self' wss://127.0.0.1:13579;" in response.headers["Content-Security-Policy"]
