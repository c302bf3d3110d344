from django.urls import path

from . import views

app_name = "applications"

urlpatterns = [
    path("guarantee/", views.application_list, name="list"),
    path("subsidy/", views.subsidy_list, name="subsidy_list"),
]
