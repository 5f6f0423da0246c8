"""Notification pages, included by the root URLconf under i18n_patterns (/en/..., /ko/...)."""

from django.urls import path

from stylevault.notifications import views

app_name = "notifications"

urlpatterns = [
    path("notifications/", views.notification_list, name="list"),
    path("notifications/badge/", views.badge, name="badge"),
    path("notifications/read/", views.mark_read, name="read"),
]
