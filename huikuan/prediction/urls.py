from django.urls import path

from . import views

app_name = "prediction"
urlpatterns = [
    path("", views.models_page, name="models"),
    path("versions/<int:version>/activate/", views.activate, name="activate"),
    path("train/", views.train, name="train"),
    path("customers/<int:pk>/", views.customer_panel, name="customer-panel"),
    path("documents/<int:pk>/", views.document_panel, name="document-panel"),
]
