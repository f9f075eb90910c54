from django.urls import path

from . import views

app_name = "collections"
urlpatterns = [
    path("", views.index, name="index"),
    path("customers/<int:pk>/panel/", views.customer_panel, name="customer-panel"),
]
