from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _

from . import health, views

admin.site.site_header = _("JSC «KZhK» — moderation")
admin.site.site_title = "homeportal"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("livez", health.livez, name="livez"),
    path("i18n/setlang/", views.language_set, name="set_language"),
    path("admin/", admin.site.urls),
    path("", include("cabinets.urls")),
    path("signing/", include("signing.urls")),
    path("applications/", include("applications.urls")),
    path("appeals/", include("appeals.urls")),
    path("bpms/", include("bpms_bridge.urls")),
    path("uploads/", include("uploads.urls")),
]

if settings.DEV_OUTBOX_ENABLED:
    urlpatterns += [path("dev/", include("cabinets.dev_urls"))]
