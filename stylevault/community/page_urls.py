"""Community pages, included by the root URLconf under i18n_patterns (/en/..., /ko/...)."""

from django.urls import path

from stylevault.community import views

app_name = "community"

urlpatterns = [
    path("feed/", views.feed, name="feed"),
    path("following/", views.following, name="following"),
    path("images/<int:image_id>/", views.image, name="image"),
    path("images/<int:image_id>/like/", views.like, name="like"),
    path("images/<int:image_id>/comments/", views.comment, name="comment"),
    path("comments/<int:comment_id>/delete/", views.delete_comment, name="delete-comment"),
    path("artists/<int:artist_id>/", views.artist, name="artist"),
    path("artists/<int:artist_id>/follow/", views.follow, name="follow"),
]
