from django.urls import path

from stylevault.provenance import api

urlpatterns = [
    path("provenance/head", api.HeadView.as_view()),
    path("provenance/key", api.KeyView.as_view()),
    path("provenance/events/<str:seq>/proof", api.InclusionProofView.as_view()),
    path("provenance/consistency", api.ConsistencyProofView.as_view()),
]
