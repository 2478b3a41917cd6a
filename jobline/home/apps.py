from django.apps import AppConfig


class HomeConfig(AppConfig):
    """The signed-in person's start page and the demo command: they draw on every app."""

    name = "jobline.home"
    label = "home"
