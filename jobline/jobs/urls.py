from django.urls import path

from jobline.jobs import views

app_name = "jobs"

urlpatterns = [
    path("", views.job_list, name="index"),
    path("new/", views.job_create, name="create"),
    path("export.csv", views.job_export, name="export"),
    path("board/", views.board_default, name="board_default"),
    path("board/<int:pipeline_id>/", views.board, name="board"),
    path("board/stages/<int:stage_id>/more/", views.board_column_more, name="board_more"),
    path("<int:number>/", views.job_detail, name="detail"),
    path("<int:number>/edit/", views.job_edit, name="edit"),
    path("<int:number>/feed/", views.job_feed, name="feed"),
    path("<int:number>/move/", views.job_move, name="move"),
    path("<int:number>/forms/<int:stage_id>/", views.job_form_save, name="form_save"),
    path("<int:number>/messages/", views.job_message, name="message"),
    path(
        "<int:number>/messages/<int:message_id>/make-internal/",
        views.message_make_internal,
        name="message_make_internal",
    ),
    path("<int:number>/files/", views.job_files_add, name="files_add"),
    path(
        "<int:number>/files/<int:attachment_id>/visibility/",
        views.job_file_visibility,
        name="file_visibility",
    ),
    path("<int:number>/requests/", views.job_request_create, name="request_create"),
    path(
        "<int:number>/requests/<int:request_id>/reopen/",
        views.job_request_reopen,
        name="request_reopen",
    ),
    path("<int:number>/as-customer/", views.job_as_customer, name="as_customer"),
    path("<int:number>/archive/", views.job_archive, name="archive"),
    path("<int:number>/restore/", views.job_restore, name="restore"),
    path("<int:number>/copy/", views.job_copy, name="copy"),
]
