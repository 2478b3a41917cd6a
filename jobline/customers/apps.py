from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "jobline.customers"
    label = "customers"
