import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "homeportal.settings")
application = get_wsgi_application()

from homeportal.checks import refuse_to_start  # noqa: E402 - needs the settings loaded above

refuse_to_start("web")
