from django.urls import path

from .views import setup

urlpatterns = [
    path("setup/", setup.setup, name="setup"),
    path("password/", setup.password_change, name="password-change"),
    path("settings/users/", setup.user_list, name="user-list"),
    path("settings/users/new/", setup.user_create, name="user-create"),
    path("settings/users/<int:pk>/", setup.user_detail, name="user-detail"),
    path("settings/users/<int:pk>/active/", setup.user_active, name="user-active"),
]
