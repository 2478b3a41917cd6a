from django.contrib import admin

from jobline.customers.models import Customer


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["name", "email", "workspace", "archived_at"]
    search_fields = ["name", "email"]
    raw_id_fields = ["workspace", "portal_user", "created_by"]
