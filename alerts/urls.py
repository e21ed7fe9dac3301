from django.urls import path

from alerts.views import alerts, config, inbox
from mes.views import app_index

app_name = "alerts"

urlpatterns = [
    path("", app_index, {"app_label": "alerts"}, name="index"),
    # --- alerts (alerts/views/alerts.py) -----------------------------------------------------
    path("list/", alerts.AlertListView.as_view(), name="alert_list"),
    path("<int:pk>/", alerts.AlertDetailView.as_view(), name="alert_detail"),
    path("<int:pk>/do/<str:action>/", alerts.AlertActionView.as_view(), name="alert_action"),
    # --- the reader's notifications (alerts/views/inbox.py) ----------------------------------
    path("inbox/", inbox.InboxView.as_view(), name="inbox"),
    path("inbox/badge/", inbox.notify_badge, name="notify_badge"),
    path("inbox/<int:pk>/", inbox.notification_open, name="notification_open"),
    # --- configuration (alerts/views/config.py) ----------------------------------------------
    path("rules/", config.RuleListView.as_view(), name="rule_list"),
    path("rules/add/", config.RuleFormView.as_view(), name="rule_add"),
    path("rules/<int:pk>/", config.RuleFormView.as_view(), name="rule_edit"),
    path("webhooks/", config.WebhookListView.as_view(), name="webhook_list"),
    path("webhooks/add/", config.WebhookFormView.as_view(), name="webhook_add"),
    path("webhooks/<int:pk>/", config.WebhookFormView.as_view(), name="webhook_edit"),
    path("webhooks/<int:pk>/test/", config.WebhookTestView.as_view(), name="webhook_test"),
]
