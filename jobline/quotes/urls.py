from django.urls import path

from jobline.quotes import views

app_name = "quotes"

urlpatterns = [
    path("", views.quote_list, name="list"),
    path("new/", views.quote_create, name="create"),
    path("export.csv", views.quote_export, name="export"),
    path("tax-rates/", views.tax_rates, name="tax_rates"),
    path("tax-rates/<int:rate_id>/remove/", views.tax_rate_archive, name="tax_rate_archive"),
    path("<int:quote_id>/", views.quote_detail, name="detail"),
    path("<int:quote_id>/edit/", views.quote_edit, name="edit"),
    path("<int:quote_id>/send/", views.quote_send, name="send"),
    path("<int:quote_id>/follow/", views.quote_follow, name="follow"),
    path("<int:quote_id>/convert/", views.quote_convert, name="convert"),
    path("<int:quote_id>/pdf/", views.quote_pdf, name="pdf"),
]
