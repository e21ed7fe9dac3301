from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from mes.models import AuditEntry, Event, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    fieldsets = (*BaseUserAdmin.fieldsets, ("MES", {"fields": ("display_name", "badge_code",
                                                               "phone")}))
    list_display = ("username", "display_name", "badge_code", "is_active")
    search_fields = ("username", "display_name", "badge_code")


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ("at", "actor_repr", "action", "content_type", "object_repr")
    list_filter = ("action", "content_type")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Event)
class EventAdmin(AuditEntryAdmin):
    list_display = ("id", "created_at", "topic", "kind")
    list_filter = ("kind",)
