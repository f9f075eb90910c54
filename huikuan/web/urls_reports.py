"""Reports: aging with drill-down; statements, replies and bulk batches; large exports written by the worker."""

from django.urls import path

from .views import exports, reports

urlpatterns = [
    path("reports/aging/", reports.aging, name="aging"),
    path("reports/aging/items/", reports.aging_drill, name="aging-drill"),
    path("customers/<int:pk>/statement/", reports.customer_statement, name="customer-statement"),
    path("customers/<int:pk>/statement/issue/", reports.statement_issue, name="statement-issue"),
    path("statements/", reports.statement_index, name="statement-index"),
    path("statements/batches/new/", reports.statement_batch_new, name="statement-batch-new"),
    path("statements/batches/<int:pk>/", reports.statement_batch, name="statement-batch"),
    path("statements/batches/<int:pk>/resume/", reports.statement_batch_resume, name="statement-batch-resume"),
    path("statements/<int:pk>/pdf/", reports.statement_pdf, name="statement-pdf"),
    path("statements/<int:pk>/reply/", reports.statement_reply, name="statement-reply"),
    path("exports/", exports.export_list, name="export-list"),
    path("exports/<int:pk>/", exports.export_job, name="export-job"),
    path("exports/<int:pk>/download/", exports.export_download, name="export-download"),
]
