"""A tiny URLconf for the upload machinery tests: a CSRF-protected view with its own limit."""

from django.http import JsonResponse
from django.urls import path

from homeportal.uploads import upload_limit, upload_was_too_large


@upload_limit(1000)
def small_upload(request):
    return JsonResponse({"too_large": upload_was_too_large(request), "files": sorted(request.FILES)})


def default_upload(request):
    return JsonResponse({"too_large": upload_was_too_large(request), "files": sorted(request.FILES)})


urlpatterns = [path("small/", small_upload), path("default/", default_upload)]
