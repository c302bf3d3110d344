from django.urls import path

from . import tus

app_name = "uploads"

urlpatterns = [
    path("tus/", tus.creation, {"kind": "", "owner_public_id": None, "slot": ""}, name="tus_options"),
    path("tus/<str:kind>/<uuid:owner_public_id>/<str:slot>/", tus.creation, name="tus_create"),
    path("tus/<uuid:upload_id>/", tus.resource, name="tus_resource"),
]
