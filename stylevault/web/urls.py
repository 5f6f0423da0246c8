from django.urls import path

from stylevault.web import views

app_name = "web"

urlpatterns = [
    path("", views.home, name="home"),
    path("signup/", views.signup, name="signup"),
    path("login/", views.login_page, name="login"),
    path("logout/", views.logout_page, name="logout"),
    path("me/", views.me, name="me"),
    path("me/locale/", views.set_locale, name="set-locale"),
    path("me/tokens/<int:token_id>/revoke/", views.revoke_token, name="revoke-token"),
    path("artist/apply/", views.artist_application, name="artist-application"),
    path("artist/apply/preview/", views.signature_preview, name="signature-preview"),
]
