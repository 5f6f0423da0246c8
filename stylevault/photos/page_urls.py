"""Photo studio pages, under i18n_patterns (/en/photos/, /ko/photos/)."""

from django.urls import path

from stylevault.photos import views

app_name = "photos"

urlpatterns = [
    path("photos/", views.studio, name="studio"),
    path("photos/<int:photo_id>/", views.detail, name="detail"),
    path("photos/<int:photo_id>/panel/", views.panel, name="panel"),
    path("photos/<int:photo_id>/pick/", views.pick, name="pick"),
    path("photos/<int:photo_id>/delete/", views.delete, name="delete"),
]
