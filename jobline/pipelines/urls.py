from django.urls import path

from jobline.pipelines import views

app_name = "pipelines"

urlpatterns = [
    path("", views.pipeline_list, name="list"),
    path("new/", views.pipeline_create, name="create"),
    path("new/from-template/", views.pipeline_create_from_template, name="create_from_template"),
    path("<int:pipeline_id>/", views.pipeline_detail, name="detail"),
    path("<int:pipeline_id>/archive/", views.pipeline_archive, name="archive"),
    path("<int:pipeline_id>/restore/", views.pipeline_restore, name="restore"),
    path("<int:pipeline_id>/stages/new/", views.stage_create, name="stage_create"),
    path("stages/<int:stage_id>/", views.stage_edit, name="stage_edit"),
    path("stages/<int:stage_id>/delete/", views.stage_delete, name="stage_delete"),
    path("stages/<int:stage_id>/move/", views.stage_move, name="stage_move"),
    path("stages/<int:stage_id>/reorder/", views.stage_reorder, name="stage_reorder"),
    path("stages/<int:stage_id>/fields/new/", views.field_create, name="field_create"),
    path("fields/<int:field_id>/", views.field_edit, name="field_edit"),
    path("fields/<int:field_id>/remove/", views.field_retire, name="field_retire"),
    path("fields/<int:field_id>/move/", views.field_move, name="field_move"),
]
