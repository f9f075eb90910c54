from django.urls import path

from . import views

app_name = "dunning"
urlpatterns = [
    path("", views.index, name="index"),
]
