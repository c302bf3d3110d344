from django.urls import path

from . import views

app_name = "dev"

urlpatterns = [
    path("outbox/", views.dev_outbox, name="outbox"),
]

urlpatterns += [
    path("demo/", views.dev_demo, name="demo"),
    path("demo/keys/<slug:slug>.p12", views.dev_demo_key, name="demo_key"),
]
