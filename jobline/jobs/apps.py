from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "jobline.jobs"
    label = "jobs"
