from django.urls import path

from jobline.billing import views

app_name = "billing"

urlpatterns = [
    path("jobs/<int:number>/", views.job_payments, name="job"),
    path("instalments/<int:instalment_id>/request/", views.instalment_request, name="request"),
    path("instalments/<int:instalment_id>/void/", views.instalment_void, name="void"),
    path("instalments/<int:instalment_id>/pay/", views.payment_record, name="pay"),
    path("payments/<int:payment_id>/refund/", views.payment_refund, name="refund"),
    path("pipelines/<int:pipeline_id>/", views.pipeline_schedule, name="pipeline"),
    path("invoices/<int:invoice_id>/", views.invoice_detail, name="invoice"),
    path("invoices/<int:invoice_id>/pdf/", views.invoice_pdf, name="invoice_pdf"),
]
