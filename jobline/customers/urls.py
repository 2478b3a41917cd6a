from django.urls import path

from jobline.customers import views

app_name = "customers"

urlpatterns = [
    path("", views.customer_list, name="list"),
    path("new/", views.customer_create, name="create"),
    path("export.csv", views.customer_export, name="export"),
    path("<int:customer_id>/", views.customer_detail, name="detail"),
    path("<int:customer_id>/edit/", views.customer_edit, name="edit"),
    path(
        "<int:customer_id>/notifications/",
        views.customer_notifications,
        name="notifications",
    ),
    path("<int:customer_id>/archive/", views.customer_archive, name="archive"),
    path("<int:customer_id>/restore/", views.customer_restore, name="restore"),
]
