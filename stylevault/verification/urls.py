from django.urls import path

from stylevault.verification import api

urlpatterns = [
    path("provenance/images/<int:image_id>", api.ImageCertificateView.as_view()),
    path("verify", api.VerifyView.as_view()),
]
