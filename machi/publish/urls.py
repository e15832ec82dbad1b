from django.urls import path

from machi.publish import dashboard, views

app_name = "publish"

urlpatterns = [
    path("", views.runs, name="runs"),
    path("dashboard", dashboard.dashboard, name="dashboard"),
    path("<uuid:uid>/", views.run_detail, name="run"),
    path("<uuid:uid>/progress.json", views.run_progress, name="progress"),
    path("<uuid:uid>/layout", views.run_layout, name="layout"),
    path("<uuid:uid>/standard", views.run_standard, name="standard"),
    path("<uuid:uid>/columns", views.run_columns, name="columns"),
    path("<uuid:uid>/privacy", views.run_privacy, name="privacy"),
    path("<uuid:uid>/publish", views.run_publish, name="publish"),
    path("resource/<uuid:uid>/versions", views.versions, name="versions"),
    path("resource/<uuid:uid>/versions/<int:number>/rollback", views.rollback, name="rollback"),
]
