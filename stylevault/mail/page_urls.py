from django.urls import path

from stylevault.mail import views

app_name = "mail"

urlpatterns = [
    path("mail/verify/<str:token>", views.verify, name="verify"),
    path("mail/unsubscribe/<str:token>/<str:kind>", views.unsubscribe, name="unsubscribe"),
]
