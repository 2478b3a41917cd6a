"""The customer's public quote page: /q/<token>/ (no sign-in; the token is the key)."""

from django.urls import path

from jobline.quotes import views

app_name = "quote_public"

urlpatterns = [
    path("<str:token>/", views.public_page, name="page"),
    path("<str:token>/totals/", views.public_totals, name="totals"),
    path("<str:token>/accept/", views.public_accept, name="accept"),
    path("<str:token>/decline/", views.public_decline, name="decline"),
    path("<str:token>/pdf/", views.public_pdf, name="pdf"),
]
