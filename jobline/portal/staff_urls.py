"""Portal pages staff open from their own pages; included by the project at the root."""

from django.urls import path

from jobline.portal import staff_views

app_name = "portal_staff"

urlpatterns = [
    path("customers/<int:customer_id>/invite/", staff_views.customer_invite, name="invite"),
    path("jobs/<int:number>/as-customer/", staff_views.job_preview, name="preview"),
]
