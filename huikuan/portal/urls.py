from django.urls import path

from . import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("signin/", views.signin, name="signin"),
    path("signin/code/", views.code, name="code"),
    path("signout/", views.signout, name="signout"),
    path("in/<str:secret>/", views.link, name="link"),
    path("c/<int:customer_id>/", views.account, name="account"),
    path("c/<int:customer_id>/items.xlsx", views.items_xlsx, name="items-xlsx"),
    path("c/<int:customer_id>/payments.xlsx", views.payments_xlsx, name="payments-xlsx"),
    path("c/<int:customer_id>/items/<int:instalment_id>/dispute/", views.dispute, name="dispute"),
    path("c/<int:customer_id>/promise/", views.promise, name="promise"),
    path("c/<int:customer_id>/remittance/", views.remittance, name="remittance"),
    path("c/<int:customer_id>/statements/<int:statement_id>/pdf/", views.statement_pdf, name="statement-pdf"),
    path("c/<int:customer_id>/statements/<int:statement_id>/xlsx/", views.statement_xlsx, name="statement-xlsx"),
    path("c/<int:customer_id>/statements/<int:statement_id>/reply/", views.statement_reply, name="statement-reply"),
    path("c/<int:customer_id>/statements/<int:statement_id>/confirmed.pdf", views.confirmed_pdf, name="confirmed-pdf"),
]
