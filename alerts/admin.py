"""Read-mostly admin views for support; changes go through the alert pages and services."""

from django.contrib import admin

from alerts.models import Alert, AlertComment, AlertRule, EscalationLevel, Notification


class EscalationLevelInline(admin.TabularInline):
    model = EscalationLevel
    extra = 0


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "kind", "severity", "scope", "active")
    list_filter = ("kind", "severity", "active")
    inlines = [EscalationLevelInline]

    def has_change_permission(self, request, obj=None):
        return False  # the rule pages validate thresholds and chains


@admin.register(Alert)
class AlertAdmin(admin.ModelAdmin):
    list_display = ("pk", "rule", "subject_repr", "severity", "status", "raised_at",
                    "escalation_level")
    list_filter = ("status", "severity", "kind")
    search_fields = ("subject_repr", "message")

    def has_change_permission(self, request, obj=None):
        return False  # lifecycle changes are audited services

    def has_add_permission(self, request):
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("pk", "alert", "channel", "level", "recipient", "endpoint", "status",
                    "attempts", "sent_at")
    list_filter = ("channel", "status")

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


admin.site.register(AlertComment)
