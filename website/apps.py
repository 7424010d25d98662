from django.apps import AppConfig


class WebsiteConfig(AppConfig):
    """The toast-stats site's file tree: published from our snapshots, imported into them."""

    name = "website"
    label = "website"
    verbose_name = "Backfill site publishing"
    default_auto_field = "django.db.models.BigAutoField"
