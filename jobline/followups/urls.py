from django.urls import path

from jobline.followups import views

app_name = "followups"

urlpatterns = [
    path("stages/<int:stage_id>/", views.stage_follow_ups, name="stage"),
]
