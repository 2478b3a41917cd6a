from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from jobline.core.health import health
from jobline.home import views as home_views

urlpatterns = [
    path("", home_views.home, name="home"),
    path("health/", health, name="health"),
    path("dashboard/", home_views.dashboard, name="dashboard"),
    path("accounts/", include("jobline.accounts.urls")),
    path("", include("jobline.workspaces.urls")),
    path("", include("jobline.portal.staff_urls")),
    path("customers/", include("jobline.customers.urls")),
    path("jobs/pipelines/", include("jobline.pipelines.urls")),
    path("jobs/files/", include("jobline.jobs.file_urls")),
    path("jobs/", include("jobline.jobs.urls")),
    path("bookings/", include("jobline.bookings.urls")),
    path("quotes/", include("jobline.quotes.urls")),
    path("q/", include("jobline.quotes.public_urls")),
    path("billing/", include("jobline.billing.urls")),
    path("approvals/", include("jobline.approvals.urls")),
    path("followups/", include("jobline.followups.urls")),
    path("user/", include("jobline.portal.urls")),
    path("notifications/", include("jobline.notifications.urls")),
]
if settings.JOBLINE_ADMIN:
    # Off unless an operator switches it on; it signs in through the throttled staff sign-in
    # page (jobline/accounts/admin.py).
    urlpatterns.append(path("admin/", admin.site.urls))
