"""Verification pages, included by the root URLconf under i18n_patterns (/en/..., /ko/...).
`/certificates/<mark>` (manifests.certificate_path, in every image's Content Credentials)
reaches the certificate through the locale redirect to `/<lang>/certificates/<mark>/`."""

from django.urls import path

from stylevault.verification import views

app_name = "provenance"

urlpatterns = [
    path("images/<int:image_id>/certificate/", views.image_certificate, name="certificate"),
    path("certificates/<str:mark_hex>/", views.mark_certificate, name="mark"),
    path("verify/", views.verify, name="verify"),
]
