from django.urls import path

from jobline.approvals import views

app_name = "approvals"

urlpatterns = [
    path("jobs/<int:number>/ask/", views.approval_ask, name="ask"),
    path("<int:approval_id>/edit/", views.approval_edit, name="edit"),
    path("<int:approval_id>/override/", views.approval_override, name="override"),
]
