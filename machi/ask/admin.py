"""The FAQ in the back office. Every save goes through machi.ask.services."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from machi.ask import permissions, services
from machi.ask.models import FaqEntry, QuestionLog
from machi.lib.admin import ReadOnlyAdmin


@admin.register(FaqEntry)
class FaqEntryAdmin(admin.ModelAdmin):
    list_display = ("public_id", "question", "category", "department", "last_reviewed")
    list_filter = ("category", "department")
    search_fields = ("public_id", "question", "variants", "answer", "question_en")
    fields = (
        "public_id",
        "question",
        "variants",
        "answer",
        "category",
        "department",
        "contact",
        "url",
        "question_en",
        "answer_en",
        "last_reviewed",
    )

    def has_module_permission(self, request: HttpRequest) -> bool:
        return permissions.can_view_questions(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return permissions.can_view_questions(request.user)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return permissions.can_edit_faq(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return permissions.can_edit_faq(request.user)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return permissions.can_edit_faq(request.user)

    def save_model(self, request: HttpRequest, obj: FaqEntry, form: Any, change: bool) -> None:
        services.save_entry(actor=request.user, entry=obj)

    def delete_model(self, request: HttpRequest, obj: FaqEntry) -> None:
        services.delete_entry(actor=request.user, entry=obj)

    def delete_queryset(self, request: HttpRequest, queryset: Any) -> None:
        for entry in queryset:
            services.delete_entry(actor=request.user, entry=entry)


@admin.register(QuestionLog)
class QuestionLogAdmin(ReadOnlyAdmin):
    list_display = ("created", "question", "channel", "entry", "abstained", "confidence")
    list_filter = ("channel", "abstained", "handled")
    search_fields = ("question",)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return permissions.can_view_questions(request.user)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return permissions.can_view_questions(request.user)
