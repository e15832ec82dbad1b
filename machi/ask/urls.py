from django.urls import path

from machi.ask import views

app_name = "ask"

urlpatterns = [
    path("ask/", views.page, name="page"),
    path("ask/feedback", views.feedback, name="feedback"),
    path("ask/line/webhook", views.line_webhook, name="line_webhook"),
    path("staff/ask/", views.staff_dashboard, name="staff_dashboard"),
    path("staff/ask/questions/", views.staff_questions, name="staff_questions"),
    path("staff/ask/questions/<uuid:uid>/variant", views.staff_add_variant, name="staff_variant"),
    path("staff/ask/questions/<uuid:uid>/set-aside", views.staff_set_aside, name="staff_set_aside"),
]
