from django.urls import path

from . import views

app_name = "cabinets"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("logout/", views.logout_view, name="logout"),
    path("register/", views.register_view, name="register"),
    path("profile/", views.profile_view, name="profile"),
    path("notifications/", views.notification_list, name="notifications"),
    path("surveys/", views.survey_list, name="surveys"),
    path("faq/", views.faq_view, name="faq"),
]
