from django.urls import path

from stylevault.notifications import api

urlpatterns = [
    path("notifications", api.NotificationsView.as_view()),
    path("notifications/unread", api.UnreadView.as_view()),
    path("notifications/read", api.MarkReadView.as_view()),
]
