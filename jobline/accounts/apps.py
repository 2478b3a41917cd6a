from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "jobline.accounts"
    label = "accounts"
