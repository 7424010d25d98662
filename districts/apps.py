from django.apps import AppConfig


class DistrictsConfig(AppConfig):
    name = "districts"
    default_auto_field = "django.db.models.BigAutoField"
