from django.urls import path

from stylevault.accounts import api

urlpatterns = [
    path("auth/signup", api.SignupView.as_view()),
    path("auth/login", api.LoginView.as_view()),
    path("auth/logout", api.LogoutView.as_view()),
    path("auth/tokens", api.TokensView.as_view()),
    path("auth/tokens/<int:token_id>", api.TokenDetailView.as_view()),
    path("me", api.MeView.as_view()),
    path("artist-applications", api.ArtistApplicationsView.as_view()),
    path("artist-applications/signature-preview", api.SignaturePreviewView.as_view()),
]
