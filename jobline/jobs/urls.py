from django.urls import path

from jobline.jobs import views

app_name = "jobs"

urlpatterns = [
    path("", views.job_index, name="index"),
]
