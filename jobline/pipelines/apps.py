from django.apps import AppConfig


class PipelinesConfig(AppConfig):
    name = "jobline.pipelines"
    label = "pipelines"
