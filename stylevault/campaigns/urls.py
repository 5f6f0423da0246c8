from django.urls import path

from stylevault.campaigns import api

urlpatterns = [
    path("brands", api.BrandsView.as_view()),
    path("brands/<int:brand_id>", api.BrandDetailView.as_view()),
    path("brands/<int:brand_id>/logo", api.BrandLogoView.as_view()),
    path("campaigns/sessions", api.SessionsView.as_view()),
    path("campaigns/sessions/<int:session_id>", api.SessionDetailView.as_view()),
    path("campaigns/sessions/<int:session_id>/messages", api.MessagesView.as_view()),
    path("campaigns/drafts/<int:draft_id>", api.DraftDetailView.as_view()),
    path("campaigns/drafts/<int:draft_id>/ad", api.DraftAdView.as_view()),
    path("campaigns/drafts/<int:draft_id>/copy", api.DraftCopyView.as_view()),
    path("campaigns/drafts/<int:draft_id>/layout", api.DraftLayoutView.as_view()),
    path("campaigns/recommendations", api.RecommendationsView.as_view()),
]
