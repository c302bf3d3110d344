from django.urls import path

from . import views

app_name = "cabinets"

urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("login/qr/complete/", views.login_qr_complete, name="login_qr_complete"),
    path("logout/", views.logout_view, name="logout"),
    path("password-reset/", views.password_reset_view, name="password_reset"),
    path("password-reset/eds/complete/", views.password_reset_challenge_complete, name="password_reset_challenge_complete"),
    path("register/", views.register_view, name="register"),
    path("register/eds/complete/", views.register_challenge_complete, name="register_challenge_complete"),
    path("register/captcha.png", views.captcha_image, name="captcha"),
    path("profile/", views.profile_view, name="profile"),
    path("notifications/", views.notification_list, name="notifications"),
    path("notifications/<int:pk>/read/", views.notification_read, name="notification_read"),
    path("notifications/<int:pk>/open/", views.notification_open, name="notification_open"),
    path("surveys/", views.survey_list, name="surveys"),
    path("surveys/<int:pk>/", views.survey_detail, name="survey"),
    path("faq/", views.faq_view, name="faq"),
]
