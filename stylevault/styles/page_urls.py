"""Style pages, included by the root URLconf under i18n_patterns (/en/..., /ko/...)."""

from django.urls import path

from stylevault.styles import views

app_name = "styles"

urlpatterns = [
    path("styles/", views.search_page, name="search"),
    path("styles/new/", views.create, name="create"),
    path("styles/<int:style_id>/", views.detail, name="detail"),
    path("styles/<int:style_id>/status/", views.status_card, name="status"),
    path("me/styles/", views.my_styles, name="mine"),
    path("me/styles/<int:style_id>/price/", views.set_price, name="set-price"),
]
