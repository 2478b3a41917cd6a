from django.contrib import admin
from django.urls import include, path

from jobline.home import views as home_views

urlpatterns = [
    path("", home_views.home, name="home"),
    path("dashboard/", home_views.dashboard, name="dashboard"),
    path("accounts/", include("jobline.accounts.urls")),
    path("", include("jobline.workspaces.urls")),
    path("customers/", include("jobline.customers.urls")),
    path("jobs/pipelines/", include("jobline.pipelines.urls")),
    path("jobs/files/", include("jobline.jobs.file_urls")),
    path("jobs/", include("jobline.jobs.urls")),
    path("user/", include("jobline.portal.urls")),
    path("notifications/", include("jobline.notifications.urls")),
    path("admin/", admin.site.urls),
]
