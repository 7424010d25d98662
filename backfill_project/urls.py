from django.contrib import admin
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

urlpatterns = [
    # Browsers ask for it on every page; an answer keeps their consoles (and our tests) clean.
    path("favicon.ico", RedirectView.as_view(url=static("backfill/favicon.svg"), permanent=True)),
    path("admin/", admin.site.urls),
    path("api/admin/", include("snapshots.urls")),
    path("api/admin/", include("backfill.urls")),
    path("api/admin/", include("analytics.urls")),
    path("api/districts/", include("backfill.legacy_urls")),
    path("", include("website.urls")),
    path("", include("monitoring.urls")),
    path("", include("alerts.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
]
