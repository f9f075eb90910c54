from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "huikuan.api"
    label = "api"
