import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "homeportal.settings")
application = get_asgi_application()

from homeportal.checks import refuse_to_start  # noqa: E402 - needs the settings loaded above

refuse_to_start("web")
