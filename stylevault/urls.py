"""URLs: JSON API under /api/v1/ (no language prefix), pages under /en/ and /ko/."""

from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from stylevault.ops import views as ops
from stylevault.web import views as web

admin.site.site_header = _("StyleVault operator console")
admin.site.site_title = _("StyleVault operators")

api_v1 = [
    path("", include("stylevault.accounts.urls")),
    path("", include("stylevault.ledger.urls")),
    path("", include("stylevault.billing.urls")),
    path("", include("stylevault.provenance.urls")),
    path("", include("stylevault.verification.urls")),
    path("", include("stylevault.community.urls")),
    path("", include("stylevault.notifications.urls")),
    path("", include("stylevault.styles.urls")),
    path("", include("stylevault.generation.urls")),
    path("", include("stylevault.photos.urls")),
    path("", include("stylevault.campaigns.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
]

urlpatterns = [
    path("healthz", ops.healthz),
    path("readyz", ops.readyz),
    path("metrics", ops.metrics_view),
    path("favicon.ico", web.favicon),
    path("api/v1/", include(api_v1)),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    *i18n_patterns(
        path("", include("stylevault.web.urls")),
        path("", include("stylevault.billing.page_urls")),
        path("", include("stylevault.community.page_urls")),
        path("", include("stylevault.notifications.page_urls")),
        path("", include("stylevault.styles.page_urls")),
        path("", include("stylevault.generation.page_urls")),
        path("", include("stylevault.verification.page_urls")),
        path("", include("stylevault.photos.page_urls")),
        path("", include("stylevault.campaigns.page_urls")),
        path("", include("stylevault.mail.page_urls")),
        prefix_default_language=True,
    ),
]

handler400 = "stylevault.web.views.bad_request"
handler403 = "stylevault.web.views.permission_denied"
handler404 = "stylevault.web.views.not_found"
handler500 = "stylevault.web.views.server_error"
