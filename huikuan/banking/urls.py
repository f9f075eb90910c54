from django.urls import path

from . import views

app_name = "banking"
urlpatterns = [
    path("", views.index, name="index"),
    path("statements.xlsx", views.statement_export, name="statement-export"),
    path("accounts/new/", views.account_new, name="account-new"),
    path("settings/", views.settings_view, name="settings"),
    path("upload/", views.upload, name="upload"),
    path("uploads/<int:pk>/map/", views.upload_map, name="upload-map"),
    path("uploads/<int:pk>/discard/", views.upload_discard, name="upload-discard"),
    path("layouts/<int:pk>/forget/", views.layout_forget, name="layout-forget"),
    path("statements/<int:pk>/", views.statement, name="statement"),
    path("statements/<int:pk>/lines.xlsx", views.statement_lines_export, name="statement-lines-export"),
    path("statements/<int:pk>/reconciliation.xlsx", views.reconciliation_export, name="reconciliation-export"),
    path("queue/", views.queue, name="queue"),
    path("queue.xlsx", views.queue_export, name="queue-export"),
    path("queue/confirm/", views.queue_confirm, name="queue-confirm"),
    path("lines/<int:pk>/", views.line, name="line"),
    path("lines/<int:pk>/confirm/", views.line_confirm, name="line-confirm"),
    path("lines/<int:pk>/apply/", views.line_apply, name="line-apply"),
    path("lines/<int:pk>/on-account/", views.line_on_account, name="line-on-account"),
    path("lines/<int:pk>/ignore/", views.line_ignore, name="line-ignore"),
    path("lines/<int:pk>/undo/", views.line_undo, name="line-undo"),
    path("hints/<int:pk>/file/", views.hint_file, name="hint-file"),
    path("charges/", views.charges, name="charges"),
    path("charges.xlsx", views.charges_export, name="charges-export"),
    path("aliases/", views.aliases, name="aliases"),
    path("aliases.xlsx", views.aliases_export, name="aliases-export"),
    path("aliases/<int:pk>/forget/", views.alias_forget, name="alias-forget"),
]
