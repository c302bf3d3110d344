from django.urls import path

from . import views

app_name = "appeals"

urlpatterns = [
    path("", views.appeal_list, name="list"),
    path("new/", views.appeal_new_type, name="new"),
    path("new/contract/", views.appeal_new_contract, name="new_contract"),
    path("<uuid:public_id>/", views.appeal_edit, name="edit"),
    path("<uuid:public_id>/delete/", views.appeal_delete, name="delete"),
    path("<uuid:public_id>/sign/", views.appeal_sign, name="sign"),
    path("<uuid:public_id>/files/", views.appeal_file_upload, name="file_upload"),
    path("<uuid:public_id>/files/<int:file_id>/", views.appeal_file_download, name="file_download"),
    path("<uuid:public_id>/files/<int:file_id>/delete/", views.appeal_file_delete, name="file_delete"),
    path("<uuid:public_id>/history/", views.appeal_history, name="history"),
    path("<uuid:public_id>/history/export/", views.appeal_history_export, name="history_export"),
    path("<uuid:public_id>/history/<int:step_id>/download/", views.history_download, name="history_download"),
    path("<uuid:public_id>/ds/", views.appeal_ds, name="ds"),
    path("<uuid:public_id>/ds/sign/", views.appeal_ds_sign, name="ds_sign"),
    path("<uuid:public_id>/ds/download/", views.appeal_ds_download, name="ds_download"),
    path("<uuid:public_id>/ds/project/", views.appeal_ds_project, name="ds_project"),
]
