from django.urls import path

from stylevault.community import api

urlpatterns = [
    path("feed", api.FeedView.as_view(), name="community-api-feed"),
    path("images/<int:image_id>/like", api.LikeView.as_view()),
    path("images/<int:image_id>/comments", api.CommentsView.as_view()),
    path("comments/<int:comment_id>", api.CommentView.as_view()),
    path("artists/<int:artist_id>", api.ArtistView.as_view()),
    path("artists/<int:artist_id>/follow", api.FollowView.as_view()),
    path("me/following", api.FollowingView.as_view()),
]
