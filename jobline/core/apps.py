from django.apps import AppConfig


class CoreConfig(AppConfig):
    """Pieces every app may use: CSV export, e-mail building, transactions, one-time form
    tokens, the security headers. It imports no other Jobline app."""

    name = "jobline.core"
    label = "core"
