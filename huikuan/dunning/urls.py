from django.urls import path

from . import views

app_name = "dunning"
urlpatterns = [
    path("", views.index, name="index"),
    path("run/", views.run_now, name="run-now"),
    path("runs/<int:pk>/", views.run_detail, name="run"),
    path("runs/<int:pk>/letters.pdf", views.run_letters, name="run-letters"),
    path("notices/", views.notices, name="notices"),
    path("notices/<int:pk>/", views.notice_detail, name="notice"),
    path("notices/<int:pk>/letter.pdf", views.notice_letter, name="notice-letter"),
    path("outbox/", views.outbox, name="outbox"),
    path("proposals/", views.proposals, name="proposals"),
    path("outbox/<int:pk>/retry/", views.delivery_retry, name="delivery-retry"),
    path("policies/", views.policies, name="policies"),
    path("policies/new/", views.policy_edit, name="policy-new"),
    path("policies/<int:pk>/", views.policy_edit, name="policy"),
    path("templates/", views.templates, name="templates"),
    path("templates/new/", views.template_edit, name="template-new"),
    path("templates/preview/", views.template_preview, name="template-preview"),
    path("templates/<int:pk>/", views.template_edit, name="template"),
    path("templates/<int:pk>/preview.pdf", views.template_pdf, name="template-pdf"),
    path("customers/", views.customers, name="customers"),
    path("customers/<int:pk>/", views.customer_settings, name="customer"),
    path("customers/<int:pk>/send-now/", views.send_now, name="send-now"),
    path("settings/", views.settings_view, name="settings"),
]
