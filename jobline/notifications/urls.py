from django.urls import path

from jobline.notifications import views

app_name = "notifications"

urlpatterns = [
    path("", views.notification_list, name="list"),
    path("bell/", views.bell, name="bell"),
    path("read/", views.mark_all_read, name="mark_all_read"),
    path("email/", views.email_delivery, name="email_delivery"),
    path("email/<int:email_id>/send-again/", views.email_send_again, name="email_send_again"),
    path("email/release-held/", views.email_release_held, name="email_release_held"),
]
