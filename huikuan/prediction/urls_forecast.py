from django.urls import path

from . import views_forecast

app_name = "forecast"
urlpatterns = [
    path("", views_forecast.forecast_page, name="page"),
    path("build/", views_forecast.forecast_build, name="build"),
    path("jobs/<int:pk>/", views_forecast.forecast_job, name="job"),
    path("backtest/", views_forecast.backtest_page, name="backtest"),
    path("items/", views_forecast.forecast_items, name="items"),
]
