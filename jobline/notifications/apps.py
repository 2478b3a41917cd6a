from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "jobline.notifications"
    label = "notifications"
