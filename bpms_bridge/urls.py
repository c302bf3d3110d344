from django.urls import path

from . import views

app_name = "bpms_bridge"

urlpatterns = [
    path("webhook/", views.webhook, name="webhook"),
]
