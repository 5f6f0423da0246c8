from django.urls import path

from stylevault.generation import api

urlpatterns = [
    path("generations", api.GenerationsView.as_view()),
    path("generations/quote", api.QuoteView.as_view()),
    path("generations/<int:generation_id>", api.GenerationDetailView.as_view()),
    path("generations/<int:generation_id>/cancel", api.GenerationCancelView.as_view()),
    path("generations/<int:generation_id>/events", api.generation_events),
    path("images/<int:image_id>", api.ImageDetailView.as_view()),
    path("images/<int:image_id>/file", api.ImageFileView.as_view()),
    path("me/images", api.MyImagesView.as_view()),
]
