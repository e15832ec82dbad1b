from django.urls import path, re_path
from django.views.decorators.http import condition

from machi.catalog import dcat_views, feeds, views

app_name = "catalog"

urlpatterns = [
    path("", views.home, name="home"),
    path("dataset/", views.search, name="search"),
    path("dataset/<str:name>/", views.dataset_detail, name="dataset"),
    path("dataset/<str:name>/resource/<uuid:uid>/", views.resource_detail, name="resource"),
    path("dataset/<str:name>/resource/<uuid:uid>/download", views.download, name="download"),
    path(
        "dataset/<str:name>/resource/<uuid:uid>/v<int:number>/download",
        views.download_version,
        name="download_version",
    ),
    path("department/", views.department_list, name="departments"),
    path("department/<str:slug>/", views.department_detail, name="department"),
    path("category/", views.category_list, name="categories"),
    path("category/<str:slug>/", views.category_detail, name="category"),
    # Tags are free text and may contain "/" (防災/避難所).
    path("tag/<path:name>/", views.tag_detail, name="tag"),
    path("news/", views.news_list, name="news"),
    path("news/<int:pk>/", views.news_detail, name="news_item"),
    path("showcase/", views.showcase_list, name="showcases"),
    path("showcase/<str:name>/", views.showcase_detail, name="showcase"),
    path(
        "feeds/datasets.atom",
        condition(last_modified_func=feeds.datasets_changed)(feeds.DatasetFeed()),
        name="feed_datasets",
    ),
    path(
        "feeds/news.atom",
        condition(last_modified_func=feeds.news_changed)(feeds.NewsFeed()),
        name="feed_news",
    ),
    # DCAT (docs/dcat.md): .xml is RDF/XML, as ckanext-dcat serves it.
    re_path(r"^catalog\.(?P<fmt>ttl|rdf|xml|jsonld)$", dcat_views.catalog, name="dcat_catalog"),
    re_path(
        r"^dataset/(?P<name>[^/]+)\.(?P<fmt>ttl|rdf|xml|jsonld)$",
        dcat_views.dataset,
        name="dcat_dataset",
    ),
]
