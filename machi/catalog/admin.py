"""Staff back office for the catalog. Every save goes through catalog.services."""

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from machi.accounts.models import Department, Role
from machi.accounts.permissions import department_ids, is_site_admin
from machi.catalog import harvest, permissions, services
from machi.catalog.models import (
    Category,
    Dataset,
    GlossaryEntry,
    HarvestJob,
    HarvestRecord,
    HarvestSource,
    License,
    News,
    Resource,
    ResourceVersion,
    Showcase,
    SynonymSet,
    Tag,
)
from machi.lib.admin import ReadOnlyAdmin
from machi.publish.models import Run


def _is_staff(request: HttpRequest) -> bool:
    return bool(request.user.is_active and request.user.is_staff)


class DepartmentScopedAdmin(admin.ModelAdmin):
    """Staff see their departments' objects; the predicates decide every write."""

    department_path = "department"

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _is_staff(request)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        if is_site_admin(request.user):
            return queryset
        return queryset.filter(**{f"{self.department_path}__in": department_ids(request.user)})

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_staff(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return _is_staff(request) and (
            is_site_admin(request.user) or bool(department_ids(request.user, Role.EDITOR))
        )

    def editable_departments(self, request: HttpRequest) -> QuerySet[Department]:
        if is_site_admin(request.user):
            return Department.objects.all()
        return Department.objects.filter(id__in=department_ids(request.user, Role.EDITOR))

    def formfield_for_foreignkey(self, db_field, request, **kwargs):  # type: ignore[no-untyped-def]
        if db_field.name == "department":
            kwargs["queryset"] = self.editable_departments(request)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class DatasetForm(forms.ModelForm):
    tags_text = forms.CharField(
        label=_("tags"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One tag per line or separated by commas (、). Any text, such as 防災/避難所."),
    )

    class Meta:
        model = Dataset
        fields = [
            "title",
            "name",
            "department",
            "description",
            "categories",
            "license",
            "is_public",
            "title_en",
            "description_en",
            "update_frequency",
            "temporal_start",
            "temporal_end",
            "spatial",
            "standard",
            "contact_name",
            "contact_email",
            "contact_phone",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["tags_text"].initial = "\n".join(
                self.instance.tags.values_list("name", flat=True)
            )
        if "license" in self.fields:  # absent when the page is read-only
            self.fields["license"].initial = License.objects.filter(
                slug=services.DEFAULT_LICENSE
            ).first()

    def clean_tags_text(self) -> str:
        # Checked here, so that a refused tag is shown on the field; found only when the
        # dataset was saved, it was a server error.
        text = self.cleaned_data.get("tags_text", "")
        try:
            services.clean_tag_names(_split_tags(text))
        except ValidationError as error:
            raise ValidationError(error.message_dict["tags"]) from None
        return text

    def tag_names(self) -> list[str]:
        return services.clean_tag_names(_split_tags(self.cleaned_data.get("tags_text", "")))


def _split_tags(text: str) -> list[str]:
    return text.replace("、", ",").replace("\n", ",").split(",")


class ResourceInline(admin.TabularInline):
    model = Resource
    fields = ["name", "current", "modified"]
    readonly_fields = fields
    extra = 0
    show_change_link = True
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


ORIGIN_FIELDS = [
    "harvest_source",
    "original_publisher",
    "remote_url",
    "remote_id",
    "harvest_missing_since",
    "harvest_withdrawn_at",
]


@admin.register(Dataset)
class DatasetAdmin(DepartmentScopedAdmin):
    form = DatasetForm
    list_display = ["title", "name", "department", "is_public", "modified"]
    list_filter = [
        "is_public",
        "department",
        "categories",
        "license",
        "update_frequency",
        "harvest_source",
    ]
    search_fields = ["title", "title_en", "name", "description"]
    readonly_fields = ["created", "modified"]
    inlines = [ResourceInline]
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "title",
                    "name",
                    "department",
                    "description",
                    "tags_text",
                    "categories",
                    "license",
                    "is_public",
                ]
            },
        ),
        (_("English"), {"fields": ["title_en", "description_en"]}),
        (
            _("Details"),
            {
                "fields": [
                    "update_frequency",
                    "temporal_start",
                    "temporal_end",
                    "spatial",
                    "standard",
                    "contact_name",
                    "contact_email",
                    "contact_phone",
                    "created",
                    "modified",
                ]
            },
        ),
    ]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return self.has_add_permission(request)
        # Harvested datasets are shown read-only: they change only at their source.
        return permissions.can_edit_dataset(request.user, obj) and not obj.is_harvested

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return is_site_admin(request.user) or bool(department_ids(request.user, Role.ADMIN))
        return permissions.can_delete_dataset(request.user, obj) and not obj.is_harvested

    @admin.display(description=_("tags"))
    def tags_text(self, obj: Dataset) -> str:
        # Shown on read-only pages (harvested datasets, viewers); editable pages use the form.
        return "、".join(obj.tags.values_list("name", flat=True)) or "-"

    def get_fieldsets(self, request: HttpRequest, obj: Any = None) -> Any:
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and obj.is_harvested:
            fieldsets = [*fieldsets, (_("Origin"), {"fields": ORIGIN_FIELDS})]
        return fieldsets

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.is_harvested:
            fields += ORIGIN_FIELDS
        return fields

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        dataset = Dataset.objects.filter(pk=object_id).select_related("harvest_source").first()
        if dataset is not None and dataset.is_harvested and request.method == "GET":
            try:
                services.refuse_harvested(dataset)
            except PermissionDenied as refusal:
                messages.info(request, str(refusal))
        return super().change_view(request, object_id, form_url, extra_context)

    def save_model(
        self, request: HttpRequest, obj: Dataset, form: DatasetForm, change: bool
    ) -> None:
        data = {k: v for k, v in form.cleaned_data.items() if k not in {"tags_text", "categories"}}
        if change:
            services.update_dataset(
                actor=request.user,
                dataset=Dataset.objects.get(pk=obj.pk),
                tags=form.tag_names(),
                categories=form.cleaned_data["categories"],
                **data,
            )
        else:
            created = services.create_dataset(
                actor=request.user,
                tags=form.tag_names(),
                categories=form.cleaned_data["categories"],
                **data,
            )
            obj.pk = created.pk
        form.save_m2m = lambda: None  # the service set tags and categories

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        # Its uploads (publish runs) are the dataset's own history and go with it, though
        # nobody deletes one alone: they kept every published dataset from being deleted.
        return deleted, counts, perms_needed - {str(Run._meta.verbose_name)}, protected

    def delete_model(self, request: HttpRequest, obj: Dataset) -> None:
        services.delete_dataset(actor=request.user, dataset=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Dataset]) -> None:
        for dataset in queryset:
            services.delete_dataset(actor=request.user, dataset=dataset)


class ResourceForm(forms.ModelForm):
    upload = forms.FileField(label=_("file"), required=False)
    url = forms.URLField(label=_("external URL"), required=False, assume_scheme="https")
    format = forms.CharField(
        label=_("format"),
        required=False,
        max_length=40,
        help_text=_("Leave empty to take it from the file name."),
    )

    class Meta:
        model = Resource
        fields = ["dataset", "name", "name_en", "description", "position"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not self.instance.pk and not (data.get("upload") or data.get("url")):
            raise ValidationError(_("Give either a file or an external URL."))
        if data.get("upload") and data.get("url"):
            raise ValidationError(_("Give either a file or an external URL, not both."))
        return data


class VersionInline(admin.TabularInline):
    model = ResourceVersion
    fields = [
        "number",
        "filename",
        "url",
        "format",
        "size",
        "sha256",
        "encoding",
        "created",
        "created_by",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Resource)
class ResourceAdmin(DepartmentScopedAdmin):
    form = ResourceForm
    department_path = "dataset__department"
    list_display = ["name", "dataset", "current", "modified"]
    search_fields = ["name", "dataset__title"]
    inlines = [VersionInline]
    actions = ["load_into_datastore"]

    @admin.action(description=_("Load into the datastore (API and table view)"))
    def load_into_datastore(self, request: HttpRequest, queryset: QuerySet[Resource]) -> None:
        # The datastore builds on the catalog; the back office is where they meet.
        from machi.datastore.admin import load_versions

        load_versions(self, request, [r.current for r in queryset if r.current is not None])

    def formfield_for_foreignkey(self, db_field, request, **kwargs):  # type: ignore[no-untyped-def]
        if db_field.name == "dataset":
            kwargs["queryset"] = Dataset.objects.filter(
                department__in=self.editable_departments(request)
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return self.has_add_permission(request)
        return permissions.can_edit_dataset(request.user, obj.dataset)

    has_delete_permission = has_change_permission

    def save_model(
        self, request: HttpRequest, obj: Resource, form: ResourceForm, change: bool
    ) -> None:
        data = form.cleaned_data
        if change:
            resource = Resource.objects.get(pk=obj.pk)
            services.update_resource(
                actor=request.user,
                resource=resource,
                name=data["name"],
                name_en=data["name_en"],
                description=data["description"],
                position=data["position"],
            )
            if data.get("upload") or data.get("url"):
                services.replace_resource(
                    actor=request.user,
                    resource=resource,
                    upload=data.get("upload"),
                    url=data.get("url") or "",
                    format=data.get("format") or "",
                )
        else:
            created = services.add_resource(
                actor=request.user,
                dataset=data["dataset"],
                name=data["name"],
                name_en=data["name_en"],
                description=data["description"],
                upload=data.get("upload"),
                url=data.get("url") or "",
                format=data.get("format") or "",
            )
            obj.pk = created.pk

    def delete_model(self, request: HttpRequest, obj: Resource) -> None:
        services.delete_resource(actor=request.user, resource=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Resource]) -> None:
        for resource in queryset:
            services.delete_resource(actor=request.user, resource=resource)


@admin.register(News)
class NewsAdmin(DepartmentScopedAdmin):
    list_display = ["title", "kind", "published_at", "is_public"]
    list_filter = ["kind", "is_public", "department"]
    search_fields = ["title", "body"]
    exclude = ["kind"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[News]:
        if is_site_admin(request.user):
            return News.objects.all()
        return News.objects.filter(department__in=department_ids(request.user))

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return self.has_add_permission(request)
        return permissions.can_edit_news(request.user, obj)

    has_delete_permission = has_change_permission

    def save_model(
        self, request: HttpRequest, obj: News, form: forms.ModelForm, change: bool
    ) -> None:
        services.save_news(actor=request.user, news=obj)

    def delete_model(self, request: HttpRequest, obj: News) -> None:
        services.delete_news(actor=request.user, news=obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[News]) -> None:
        for news in queryset:
            services.delete_news(actor=request.user, news=news)


@admin.register(Showcase)
class ShowcaseAdmin(DepartmentScopedAdmin):
    list_display = ["title", "author", "event", "is_public"]
    search_fields = ["title", "description", "author"]
    filter_horizontal = ["datasets"]

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        if obj is None:
            return self.has_add_permission(request)
        return permissions.can_edit_showcase(request.user, obj)

    has_delete_permission = has_change_permission

    def save_model(
        self, request: HttpRequest, obj: Showcase, form: forms.ModelForm, change: bool
    ) -> None:
        services.save_showcase(
            actor=request.user, showcase=obj, datasets=form.cleaned_data["datasets"]
        )
        form.save_m2m = lambda: None

    def delete_model(self, request: HttpRequest, obj: Showcase) -> None:
        services.delete_showcase(actor=request.user, showcase=obj)


class VocabularyAdmin(admin.ModelAdmin):
    """Shared lists: every staff member reads them, site admins change them."""

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _is_staff(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_staff(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return permissions.can_edit_vocabulary(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return permissions.can_edit_vocabulary(request.user)

    has_delete_permission = has_change_permission

    def save_model(
        self, request: HttpRequest, obj: Any, form: forms.ModelForm, change: bool
    ) -> None:
        if not permissions.can_edit_vocabulary(request.user):
            raise PermissionDenied
        services.save_vocabulary(actor=request.user, obj=obj)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        services.delete_vocabulary(actor=request.user, obj=obj)


@admin.register(Category)
class CategoryAdmin(VocabularyAdmin):
    list_display = ["name", "name_en", "slug", "position"]
    list_editable = ["position"]


@admin.register(License)
class LicenseAdmin(VocabularyAdmin):
    list_display = ["title", "slug", "is_open", "position"]


@admin.register(Tag)
class TagAdmin(VocabularyAdmin):
    search_fields = ["name"]


@admin.register(SynonymSet)
class SynonymSetAdmin(VocabularyAdmin):
    search_fields = ["terms"]


@admin.register(GlossaryEntry)
class GlossaryEntryAdmin(VocabularyAdmin):
    list_display = ["english", "japanese"]
    search_fields = ["english", "japanese"]


class StaffReadableInline(admin.TabularInline):
    """A read-only list inside a page; every staff member who sees the page reads it."""

    extra = 0
    max_num = 0
    can_delete = False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_staff(request)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class HarvestJobInline(StaffReadableInline):
    model = HarvestJob
    fields = [
        "queued_at",
        "mode",
        "status",
        "created",
        "updated",
        "unchanged",
        "withdrawn",
        "errors",
        "message",
    ]
    readonly_fields = fields
    show_change_link = True

    def get_queryset(self, request: HttpRequest) -> QuerySet[HarvestJob]:
        return super().get_queryset(request).order_by("-queued_at")


HARVEST_SOURCE_FIELDS = [
    "title",
    "name",
    "kind",
    "url",
    "department",
    "actor",
    "enabled",
    "every_hours",
    "full_every_hours",
    "grace_days",
]


class HarvestSourceForm(forms.ModelForm):
    class Meta:
        model = HarvestSource
        fields = HARVEST_SOURCE_FIELDS

    def clean_actor(self) -> Any:
        actor = self.cleaned_data.get("actor")
        if actor is not None and not harvest.can_manage_harvest(actor):
            raise ValidationError(_("Harvests must run as a site administrator."))
        return actor


@admin.register(HarvestSource)
class HarvestSourceAdmin(admin.ModelAdmin):
    """Other catalogs mirrored here: site administrators manage them, staff may look."""

    form = HarvestSourceForm

    list_display = ["title", "name", "kind", "url", "enabled", "last_job"]
    list_filter = ["kind", "enabled"]
    readonly_fields = ["harvested_until", "last_full_run", "created", "modified"]
    fields = [*HARVEST_SOURCE_FIELDS, *readonly_fields]
    inlines = [HarvestJobInline]
    actions = ["harvest_changes", "harvest_full"]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _is_staff(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_staff(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return harvest.can_manage_harvest(request.user)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return harvest.can_manage_harvest(request.user)

    has_delete_permission = has_change_permission

    @admin.display(description=_("last run"))
    def last_job(self, source: HarvestSource) -> str:
        job = source.jobs.order_by("-queued_at").first()
        if job is None:
            return "-"
        return format_html(
            "{} · {}",
            job.get_status_display(),
            _("created %(c)d, updated %(u)d, withdrawn %(w)d, errors %(e)d")
            % {"c": job.created, "u": job.updated, "w": job.withdrawn, "e": job.errors},
        )

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"actor": request.user.pk}

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "actor":  # only accounts a harvest may run as are offered
            kwargs["queryset"] = User.objects.filter(is_superuser=True, is_active=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(
        self, request: HttpRequest, obj: HarvestSource, form: forms.ModelForm, change: bool
    ) -> None:
        harvest.save_source(actor=request.user, source=obj)

    def delete_model(self, request: HttpRequest, obj: HarvestSource) -> None:
        harvest.delete_source(actor=request.user, source=obj)

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        datasets = list(Dataset.objects.filter(harvest_source__in=list(objs)))
        if datasets and len(protected) == len(datasets):
            # A source's datasets block a plain delete (PROTECT); delete_source removes them.
            deleted = [*deleted, [f"{Dataset._meta.verbose_name}: {d}" for d in datasets]]
            counts[Dataset._meta.verbose_name_plural] = len(datasets)
            perms_needed = perms_needed - {Dataset._meta.verbose_name}
            protected = []
        return deleted, counts, perms_needed, protected

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[HarvestSource]) -> None:
        for source in queryset:
            harvest.delete_source(actor=request.user, source=source)

    def _queue(self, request: HttpRequest, queryset: QuerySet[HarvestSource], mode: str) -> None:
        from machi.catalog.tasks import queue_harvest

        if not harvest.can_manage_harvest(request.user):
            raise PermissionDenied
        for source in queryset:
            queue_harvest(source, mode=mode, trigger=request.user.get_username())
        self.message_user(
            request,
            _("Harvest runs queued: %(n)d. Their logs are under Harvest jobs.")
            % {"n": len(queryset)},
        )

    @admin.action(description=_("Harvest now: changes since the last run"))
    def harvest_changes(self, request: HttpRequest, queryset: QuerySet[HarvestSource]) -> None:
        self._queue(request, queryset, HarvestJob.Mode.INCREMENTAL)

    @admin.action(description=_("Harvest now: full run (also withdraws deleted datasets)"))
    def harvest_full(self, request: HttpRequest, queryset: QuerySet[HarvestSource]) -> None:
        self._queue(request, queryset, HarvestJob.Mode.FULL)


class HarvestRecordInline(StaffReadableInline):
    model = HarvestRecord
    fields = ["action", "remote_id", "title", "dataset", "message", "remote_record"]
    readonly_fields = fields


@admin.register(HarvestJob)
class HarvestJobAdmin(ReadOnlyAdmin):
    """The job log: counts per run, and what happened to each record (errors with the record)."""

    list_display = [
        "source",
        "queued_at",
        "mode",
        "status",
        "created",
        "updated",
        "unchanged",
        "withdrawn",
        "errors",
    ]
    list_filter = ["status", "mode", "source"]
    inlines = [HarvestRecordInline]

    def has_module_permission(self, request: HttpRequest) -> bool:
        return _is_staff(request)

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return _is_staff(request)
