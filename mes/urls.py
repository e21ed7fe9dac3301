from django.conf import settings
from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.urls import include, path
from django.views.i18n import set_language

from mes import views
from mes.throttle import ThrottledLoginView

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("favicon.ico", views.favicon, name="favicon"),
    path("accounts/login/", ThrottledLoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/setlang/", login_not_required(set_language), name="set_language"),
    path("events/stream", views.events_stream, name="events_stream"),
    path("live/", views.live, name="live"),
    path("live/_events", views.live_events, name="live_events"),
    path("live/post", views.live_post, name="live_post"),
    path("whoami", views.whoami, name="whoami"),
    path("audit/", views.AuditEntryListView.as_view(), name="audit_list"),
    path("employees/", views.UserListView.as_view(), name="user_list"),
    path("admin/", admin.site.urls),
    path("planning/", include("planning.urls")),
    path("execution/", include("execution.urls")),
    path("quality/", include("quality.urls")),
    path("alerts/", include("alerts.urls")),
    path("dashboards/", include("dashboards.urls")),
    path("api/", include("mes.api.urls")),
]

if settings.MES_BENCH_VIEWS:
    urlpatterns.append(path("bench/insert/", views.bench_insert, name="bench_insert"))
