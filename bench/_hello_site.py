"""The floor of bench/pages.py: a bare Django site with one view answering «Hello», served by the
same gunicorn command line as the portal. Not part of the product; settings, URLconf and WSGI
application in this one module (`gunicorn bench._hello_site:application`); the leading _ keeps
`make bench` from running it."""

from django.conf import settings
from django.core.wsgi import get_wsgi_application
from django.http import HttpResponse
from django.urls import path

if not settings.configured:
    settings.configure(
        DEBUG=False, SECRET_KEY="bench-hello-" + "k" * 50, ALLOWED_HOSTS=["*"], ROOT_URLCONF=__name__,
        INSTALLED_APPS=[], MIDDLEWARE=[], USE_TZ=True,
    )


def hello(request):
    return HttpResponse("Hello", content_type="text/plain")


urlpatterns = [path("", hello)]
application = get_wsgi_application()
