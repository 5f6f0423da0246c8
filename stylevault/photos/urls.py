from django.urls import path

from stylevault.photos import api

urlpatterns = [
    path("photos", api.PhotosView.as_view()),
    path("photos/check", api.PhotoCheckView.as_view()),
    path("photos/<int:photo_id>", api.PhotoDetailView.as_view()),
    path("photos/<int:photo_id>/pick", api.PickView.as_view()),
    path("photos/<int:photo_id>/events", api.photo_events),
    path("photos/<int:photo_id>/variants/<int:variant_id>/file", api.VariantFileView.as_view()),
]
