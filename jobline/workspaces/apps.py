from django.apps import AppConfig


class WorkspacesConfig(AppConfig):
    name = "jobline.workspaces"
    label = "workspaces"
