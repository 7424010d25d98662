import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backfill_project.settings")

app = Celery("backfill_project")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
