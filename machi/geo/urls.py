from django.urls import path

from machi.geo import views

app_name = "geo"
urlpatterns = [
    path("map/", views.public_map, name="map"),
    path("map/tiles/<int:z>/<int:x>/<int:y>.png", views.tile, name="tile"),
    path("staff/map/", views.staff_map, name="staff_map"),
    path("staff/map/areas/", views.area_layers, name="areas"),
    path("staff/map/areas/<int:pk>/delete", views.delete_area_layer, name="delete_area"),
]
