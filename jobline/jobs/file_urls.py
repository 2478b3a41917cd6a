"""Job files, included by the project at ``jobs/files/``."""

from django.urls import path

from jobline.jobs.views import files

app_name = "job_files"

urlpatterns = [
    path("<int:attachment_id>/", files.attachment_download, name="download"),
    path("<int:attachment_id>/thumb/", files.attachment_thumbnail, name="thumbnail"),
]
