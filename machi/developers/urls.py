from django.urls import path

from machi.developers import views

app_name = "developers"

urlpatterns = [
    path("", views.guide, name="guide"),
    path("keys/", views.keys, name="keys"),
    path("keys/<int:pk>/revoke/", views.revoke, name="revoke"),
    path("signup/", views.sign_up, name="signup"),
    path("login/", views.SignInView.as_view(), name="login"),
    path("logout/", views.SignOutView.as_view(), name="logout"),
]
