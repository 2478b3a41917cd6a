from django.urls import path

from jobline.bookings import views

app_name = "bookings"

urlpatterns = [
    path("", views.calendar, name="calendar"),
    path("new/", views.booking_create, name="create"),
    path("jobs/<int:number>/", views.job_visits, name="job_visits"),
    path("feed/", views.feed_manage, name="feed_manage"),
    path("feed/<str:token>.ics", views.feed, name="feed"),
    path("<int:pk>/", views.booking_detail, name="detail"),
    path("<int:pk>/edit/", views.booking_edit, name="edit"),
    path("<int:pk>/move/", views.booking_move, name="move"),
    path("<int:pk>/cancel/", views.booking_cancel, name="cancel"),
    path("<int:pk>/complete/", views.booking_complete, name="complete"),
    path("<int:pk>/no-show/", views.booking_no_show, name="no_show"),
    path("<int:pk>/attach/", views.booking_attach, name="attach"),
    path("<int:pk>/detach/", views.booking_detach, name="detach"),
]
