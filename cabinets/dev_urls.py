from django.urls import path

from . import views

app_name = "dev"

urlpatterns = [
    path("outbox/", views.dev_outbox, name="outbox"),
]
