from django.urls import path

from jobline.portal import sign_in_views, views

app_name = "portal"

urlpatterns = [
    path("sign-in/", sign_in_views.sign_in, name="sign_in"),
    path("sign-in/<str:token>/", sign_in_views.sign_in_link, name="sign_in_link"),
    path("sign-out/", sign_in_views.sign_out, name="sign_out"),
    path("account/", views.account, name="account"),
    path("account/emails/", views.account_emails, name="account_emails"),
    path("jobs/", views.job_list, name="jobs"),
    path("jobs/<int:job_id>/", views.job_detail, name="job"),
    path("jobs/<int:job_id>/reply/", views.job_reply, name="reply"),
    path("jobs/<int:job_id>/upload/", views.job_upload, name="upload"),
    path("jobs/<int:job_id>/details/", views.job_fields, name="fields"),
    path(
        "jobs/<int:job_id>/approvals/<int:approval_id>/",
        views.approval_answer,
        name="approval",
    ),
    path(
        "jobs/<int:job_id>/requests/<int:request_id>/",
        views.request_upload,
        name="request_upload",
    ),
    path("visits/", views.visit_list, name="visits"),
    path("quotes/", views.quote_list, name="quotes"),
    path("visits/<int:booking_id>.ics", views.visit_calendar_file, name="visit_ics"),
    path("files/<int:attachment_id>/", views.file_download, name="file"),
    path("invoices/<int:invoice_id>/", views.invoice_detail, name="invoice"),
    path("invoices/<int:invoice_id>/pdf/", views.invoice_pdf, name="invoice_pdf"),
    path("unsubscribe/<str:token>/", views.unsubscribe, name="unsubscribe"),
]
