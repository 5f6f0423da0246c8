from django.urls import path

from stylevault.styles import api

urlpatterns = [
    path("styles", api.StylesView.as_view()),
    path("styles/<int:style_id>", api.StyleDetailView.as_view()),
    path("styles/<int:style_id>/similar", api.SimilarStylesView.as_view()),
    path("styles/<int:style_id>/review", api.StyleReviewView.as_view()),
    path("styles/<int:style_id>/samples/<int:position>", api.StyleSampleView.as_view()),
    path("tags/popular", api.PopularTagsView.as_view()),
    path("me/styles", api.MyStylesView.as_view()),
]
