"""Generation pages, included by the root URLconf under i18n_patterns (/en/..., /ko/...)."""

from django.urls import path

from stylevault.generation import views

app_name = "generation"

urlpatterns = [
    path("me/images/", views.my_images, name="my-images"),
    path("me/images/<int:image_id>/", views.edit_image, name="edit-image"),
    path("generations/<int:generation_id>/", views.detail, name="detail"),
    path("generations/<int:generation_id>/panel/", views.panel, name="panel"),
    path("generations/<int:generation_id>/cancel/", views.cancel, name="cancel"),
    # The generator on a style's page (styles/detail.html shows it with the `generator` tag).
    path("styles/<int:style_id>/quote/", views.quote, name="style-quote"),
    path("styles/<int:style_id>/generate/", views.generate, name="style-generate"),
]
