from django.contrib import admin

from .models import CalendarCorrection, ReviewRoute, ReviewRouteStep


@admin.register(CalendarCorrection)
class CalendarCorrectionAdmin(admin.ModelAdmin):
    list_display = ("date", "is_working", "note")
    list_filter = ("is_working",)
    date_hierarchy = "date"
    search_fields = ("note",)


class ReviewRouteStepInline(admin.TabularInline):
    model = ReviewRouteStep
    extra = 0
    ordering = ("number",)


@admin.register(ReviewRoute)
class ReviewRouteAdmin(admin.ModelAdmin):
    list_display = ("title_ru", "case_kind", "category", "total_working_days", "is_active")
    list_filter = ("case_kind", "is_active")
    inlines = [ReviewRouteStepInline]
