"""Campaign studio pages, included under i18n_patterns (/en/campaigns/..., /ko/campaigns/...)."""

from django.urls import path

from stylevault.campaigns import views

app_name = "campaigns"

urlpatterns = [
    path("campaigns/", views.home, name="home"),
    path("campaigns/brands/new/", views.brand_new, name="brand-new"),
    path("campaigns/brands/<int:brand_id>/", views.brand_edit, name="brand-edit"),
    path("campaigns/brands/<int:brand_id>/delete/", views.brand_delete, name="brand-delete"),
    path("campaigns/brands/<int:brand_id>/start/", views.session_start, name="session-start"),
    path("campaigns/sessions/<int:session_id>/", views.chat, name="chat"),
    path("campaigns/sessions/<int:session_id>/send/", views.send, name="send"),
    path("campaigns/sessions/<int:session_id>/rename/", views.rename, name="rename"),
    path(
        "campaigns/sessions/<int:session_id>/delete/", views.session_delete, name="session-delete"
    ),
    path("campaigns/drafts/<int:draft_id>/panel/", views.draft_panel, name="draft-panel"),
    path("campaigns/drafts/<int:draft_id>/layout/", views.draft_layout, name="draft-layout"),
]
