"""The job APIs, included by the project under `api/admin/` (backfill.api.jobs)."""

from django.urls import path

from backfill.api import audits
from backfill.api import jobs as api

urlpatterns = [
    path("backfill", api.JobCreateApi.as_view(), name="backfill-job-create"),
    # Fixed words before `<job_id>`, which takes any string (unknown ids answer 404 in JSON).
    path("backfill/jobs", api.JobListApi.as_view(), name="backfill-job-list"),
    path("backfill/preview", api.PreviewApi.as_view(), name="backfill-preview"),
    path(
        "backfill/config/rate-limit",
        api.RateLimitConfigApi.as_view(),
        name="backfill-rate-limit-config",
    ),
    path("backfill/<str:job_id>", api.JobDetailApi.as_view(), name="backfill-job-detail"),
    path("backfill/<str:job_id>/retry", api.JobRetryApi.as_view(), name="backfill-job-retry"),
    path("backfill/<str:job_id>/pause", api.JobPauseApi.as_view(), name="backfill-job-pause"),
    path("backfill/<str:job_id>/resume", api.JobResumeApi.as_view(), name="backfill-job-resume"),
    path("audits", audits.AuditListApi.as_view(), name="audit-list"),
]
