from django.urls import path, re_path

from . import views

app_name = "signing"

urlpatterns = [
    path("verify/", views.verify_page, name="verify"),
    path("verify/api/", views.verify_api, name="verify_api"),
    path("verify/reports/<uuid:public_id>.pdf", views.verify_report_pdf, name="verify_report"),
    path("r/<uuid:public_id>/", views.request_page, name="request"),
    path("r/<uuid:public_id>/ecp/", views.request_ecp, name="ecp"),
    path("r/<uuid:public_id>/ecp/to-sign/", views.request_to_sign, name="to_sign"),
    path("r/<uuid:public_id>/qr/", views.request_qr, name="qr"),
    path("r/<uuid:public_id>/qr/<int:session_id>.svg", views.qr_image, name="qr_image"),
    path("r/<uuid:public_id>/qr/<int:session_id>/status/", views.qr_status, name="qr_status"),
    path("r/<uuid:public_id>/qr/<int:session_id>/send/", views.qr_complete, name="qr_complete"),
    re_path(r"^egov/(?P<token>[A-Za-z0-9_-]{16,64})/$", views.egov_api1, name="egov_api1"),
    re_path(r"^egov/(?P<token>[A-Za-z0-9_-]{16,64})/document/$", views.egov_api2, name="egov_api2"),
    re_path(r"^pki/status/(?P<serial>[0-9a-fA-F]{1,40})/$", views.pki_status, name="pki_status"),
    path("pki/<str:name>", views.pki_file, name="pki_file"),
    path("signatures/<uuid:public_id>.cms", views.signature_cms, name="signature_cms"),
    path("signatures/<uuid:public_id>.pdf", views.signature_pdf, name="signature_pdf"),
    path("documents/<uuid:public_id>/download/", views.document_download, name="document_download"),
    path("demo/", views.demo_page, name="demo"),
    path("dev/egov-simulator/", views.egov_simulator, name="egov_simulator"),
]
