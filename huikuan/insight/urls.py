from django.urls import path

from . import views

app_name = "insight"
urlpatterns = [
    path("", views.kpi_page, name="kpis"),
    path("items/", views.kpi_items, name="kpi-items"),
]
