"""Job files, included by the project at ``jobs/files/``."""

from django.urls import path

from jobline.jobs import file_views

app_name = "job_files"

urlpatterns = [
    path("<int:attachment_id>/", file_views.attachment_download, name="download"),
    path("<int:attachment_id>/thumb/", file_views.attachment_thumbnail, name="thumbnail"),
]
