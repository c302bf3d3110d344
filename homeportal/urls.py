from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from django.views.i18n import set_language

from . import health, views

admin.site.site_header = "АО «КЖК» — модерация"
admin.site.site_title = "homeportal"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("livez", health.livez, name="livez"),
    path("i18n/setlang/", set_language, name="set_language"),
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
