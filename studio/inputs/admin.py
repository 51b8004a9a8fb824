from django.contrib import admin

from studio.inputs.models import InputImage


@admin.register(InputImage)
class InputImageAdmin(admin.ModelAdmin[InputImage]):
    list_display = ["__str__", "project", "uploaded_by", "format", "width", "height", "created_at"]
    list_filter = ["format"]
    search_fields = ["original_name", "source_url", "sha256"]
    readonly_fields = [field.name for field in InputImage._meta.fields]
