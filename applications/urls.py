from django.urls import path

from . import views

app_name = "applications"

# One shape for every service: the lists live under the service's code, an application under its
# own id (the application knows its service: `/applications/<uuid>/stage/2/` of a guarantee and of
# a subsidy application are the same views over different definitions).
urlpatterns = [
    path("guarantee/", views.application_list, name="list"),
    path("guarantee/new/", views.application_create, name="create"),
    path("subsidy/", views.application_list, {"service": "subsidy"}, name="subsidy_list"),
    path("subsidy/new/", views.application_create, {"service": "subsidy"}, name="subsidy_create"),
    path("<uuid:public_id>/stage/<int:stage>/", views.application_stage, name="stage"),
    path("<uuid:public_id>/delete/", views.application_delete, name="delete"),
    path("<uuid:public_id>/history/", views.application_history, name="history"),
    path("<uuid:public_id>/history/export/", views.application_history_export, name="history_export"),
    path("<uuid:public_id>/history/<int:entry_id>/file/", views.history_file, name="history_file"),
    path("<uuid:public_id>/developer-lookup/", views.developer_lookup, name="developer_lookup"),
    path("<uuid:public_id>/documents/<int:document_type_id>/upload/", views.file_upload, name="upload"),
    path("<uuid:public_id>/consents/<int:consent_type_id>/form/", views.consent_form, name="consent_form"),
    path("<uuid:public_id>/consents/<int:consent_type_id>/view/", views.consent_view, name="consent_view"),
    path("<uuid:public_id>/consents/<int:consent_type_id>/sign/", views.consent_sign, name="consent_sign"),
    path("<uuid:public_id>/consents/<int:consent_type_id>/request-signature/", views.consent_request_signature,
         name="consent_request_signature"),
    path("<uuid:public_id>/sign/", views.application_sign, name="sign"),
    path("<uuid:public_id>/moderation/", views.application_send_to_moderation, name="send_to_moderation"),
    path("<uuid:public_id>/decision/<int:document_id>/", views.decision_document_download, name="decision_download"),
    path("<uuid:public_id>/decision/<int:document_id>/sign/", views.decision_document_sign, name="decision_sign"),
    path("<uuid:public_id>/decision/<int:document_id>/return/", views.avr_return, name="avr_return"),
    # Links sent before the one shape (e-mails, notifications, bookmarks) named every application
    # «guarantee/<uuid>/…», a subsidy one too: they lead to the same page.
    path("guarantee/<uuid:public_id>/<path:rest>", views.legacy_redirect, name="legacy"),
    path("files/<int:file_id>/", views.file_download, name="file_download"),
    path("files/<int:file_id>/delete/", views.file_delete, name="file_delete"),
    path("invite/<str:token>/", views.invitation_open, name="invitation"),
    path("invite/<str:token>/done/", views.invitation_done, name="invitation_done"),
]
