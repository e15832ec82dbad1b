"""Atom feeds of dataset updates and news."""

import datetime

from django.contrib.syndication.views import Feed
from django.db.models import Max
from django.http import HttpRequest
from django.urls import reverse
from django.utils.feedgenerator import Atom1Feed, SyndicationFeed
from django.utils.translation import gettext_lazy as _

from machi.catalog.models import Dataset, News
from machi.catalog.queries import visible_datasets


class DatasetFeed(Feed):
    feed_type = Atom1Feed
    title = _("Dataset updates")
    subtitle = _("Datasets added or updated in the open data catalog")

    def link(self) -> str:
        return reverse("catalog:search") + "?sort=modified"

    def items(self) -> list[Dataset]:
        return list(visible_datasets(None).select_related("department").order_by("-modified")[:50])

    def item_title(self, item: Dataset) -> str:
        return item.display_title

    def item_description(self, item: Dataset) -> str:
        return item.display_description

    def item_updateddate(self, item: Dataset):  # type: ignore[no-untyped-def]
        return item.modified

    def item_pubdate(self, item: Dataset):  # type: ignore[no-untyped-def]
        return item.created

    def item_author_name(self, item: Dataset) -> str:
        return item.department.display_name

    def item_categories(self, item: Dataset) -> list[str]:
        return [tag.name for tag in item.tags.all()]


class NewsFeed(Feed):
    feed_type = Atom1Feed
    title = _("News")
    subtitle = _("News from the open data catalog")

    def link(self) -> str:
        return reverse("catalog:news")

    def items(self) -> list[News]:
        return list(News.objects.filter(is_public=True)[:50])

    def item_title(self, item: News) -> str:
        return item.display_title

    def item_description(self, item: News) -> str | None:
        return item.display_body or None  # no empty <summary/>

    def item_link(self, item: News) -> str:
        return item.dataset.get_absolute_url() if item.dataset else item.get_absolute_url()

    def item_guid(self, item: News) -> str:
        # Its own id: several news items may link the same dataset page.
        return f"{reverse('catalog:news')}{item.pk}/"

    def item_pubdate(self, item: News):  # type: ignore[no-untyped-def]
        return item.published_at

    def item_updateddate(self, item: News):  # type: ignore[no-untyped-def]
        return item.published_at  # Atom requires <updated> on every entry

    def get_feed(self, obj: object, request: HttpRequest) -> SyndicationFeed:
        """Entry ids as absolute IRIs (RFC 4287): Django adds the host to links only."""
        feed = super().get_feed(obj, request)
        for item in feed.items:
            item["unique_id"] = request.build_absolute_uri(item["unique_id"])
        return feed


# If-Modified-Since: a feed reader polling every few minutes gets 304 until something changes
# (Django's Feed sends Last-Modified but answers every request in full).


def datasets_changed(request: HttpRequest) -> datetime.datetime | None:
    return visible_datasets(None).aggregate(last=Max("modified"))["last"]


def news_changed(request: HttpRequest) -> datetime.datetime | None:
    return News.objects.filter(is_public=True).aggregate(last=Max("published_at"))["last"]
