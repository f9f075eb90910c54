from django.urls import path

from . import views

app_name = "integrations"
urlpatterns = [
    path("webhooks/", views.endpoint_list, name="webhook-list"),
    path("webhooks/<int:pk>/", views.endpoint_detail, name="webhook-detail"),
    path("webhooks/<int:pk>/<str:action>/", views.endpoint_action, name="webhook-action"),
    path("deliveries/<int:pk>/", views.delivery_detail, name="delivery-detail"),
    path("deliveries/<int:pk>/redeliver/", views.delivery_redeliver, name="delivery-redeliver"),
]

from . import voucher_views  # noqa: E402

urlpatterns += [
    path("vouchers/", voucher_views.voucher_page, name="vouchers"),
    path("vouchers/<int:pk>/<str:fmt>/", voucher_views.voucher_download, name="voucher-download"),
]

from . import financing_views  # noqa: E402

urlpatterns += [path("financing/", financing_views.financing_page, name="financing")]
