from django.urls import path

from machi.accounts import views

app_name = "accounts"

urlpatterns = [
    path("2fa/", views.second_factor, name="second_factor"),
]
