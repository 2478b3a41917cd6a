from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "jobline.portal"
    label = "portal"
