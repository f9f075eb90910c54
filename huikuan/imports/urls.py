from django.urls import path

from . import views

app_name = "imports"
urlpatterns = [
    path("", views.index, name="index"),
    path("upload/", views.upload, name="upload"),
    path("export.xlsx", views.export_jobs, name="export"),
    path("templates/<str:kind>.xlsx", views.template_xlsx, name="template"),
    path("<int:pk>/", views.job_detail, name="job"),
    path("<int:pk>/commit/", views.commit, name="commit"),
    path("<int:pk>/progress/", views.progress, name="progress"),
    path("<int:pk>/errors.xlsx", views.errors_xlsx, name="errors"),
]
