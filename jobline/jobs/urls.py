from django.urls import path

from jobline.jobs.views import actions, board, job_page, list_page

app_name = "jobs"

urlpatterns = [
    path("", list_page.job_list, name="index"),
    path("new/", actions.job_create, name="create"),
    path("export.csv", list_page.job_export, name="export"),
    path("board/", board.board_default, name="board_default"),
    path("board/<int:pipeline_id>/", board.board, name="board"),
    path("board/stages/<int:stage_id>/more/", board.board_column_more, name="board_more"),
    path("<int:number>/", job_page.job_detail, name="detail"),
    path("<int:number>/edit/", actions.job_edit, name="edit"),
    path("<int:number>/feed/", job_page.job_feed, name="feed"),
    path("<int:number>/move/", actions.job_move, name="move"),
    path("<int:number>/forms/<int:stage_id>/", actions.job_form_save, name="form_save"),
    path("<int:number>/messages/", actions.job_message, name="message"),
    path(
        "<int:number>/messages/<int:message_id>/make-internal/",
        actions.message_make_internal,
        name="message_make_internal",
    ),
    path("<int:number>/files/", actions.job_files_add, name="files_add"),
    path(
        "<int:number>/files/<int:attachment_id>/visibility/",
        actions.job_file_visibility,
        name="file_visibility",
    ),
    path("<int:number>/requests/", actions.job_request_create, name="request_create"),
    path(
        "<int:number>/requests/<int:request_id>/reopen/",
        actions.job_request_reopen,
        name="request_reopen",
    ),
    path("<int:number>/archive/", actions.job_archive, name="archive"),
    path("<int:number>/restore/", actions.job_restore, name="restore"),
    path("<int:number>/copy/", actions.job_copy, name="copy"),
    path("<int:number>/follow/", actions.job_follow, name="follow"),
]
