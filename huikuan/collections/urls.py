from django.urls import path

from . import views

app_name = "collections"
urlpatterns = [
    path("", views.index, name="index"),
    path("refresh/", views.queue_refresh, name="queue-refresh"),
    path("assign-collector/", views.assign_collector, name="assign-collector"),
    path("customers/<int:pk>/panel/", views.customer_panel, name="customer-panel"),
    path("customers/<int:pk>/", views.customer, name="customer"),
    path("customers/<int:pk>/activity/", views.log_activity, name="log-activity"),
    path("customers/<int:pk>/next-action/", views.next_action, name="next-action"),
    path("customers/<int:pk>/promises/new/", views.promise_new, name="promise-new"),
    path("customers/<int:pk>/statement/send/", views.send_statement, name="send-statement"),
    path("customers/<int:pk>/disputes/new/", views.dispute_new, name="dispute-new"),
    path("customers/<int:pk>/plans/new/", views.plan_new, name="plan-new"),
    path("customers/<int:pk>/demands/new/", views.demand_new, name="demand-new"),
    path("demands/<int:pk>/proof/", views.demand_proof, name="demand-proof"),
    path("customers/<int:pk>/cases/new/", views.case_open, name="case-open"),
    path("customers/<int:pk>/interest/post/", views.interest_post, name="interest-post"),
    path("customers/<int:pk>/playbooks/<slug:code>/", views.playbook_run, name="playbook-run"),
    path("promises/", views.promise_list, name="promises"),
    path("promises/<int:pk>/cancel/", views.promise_cancel, name="promise-cancel"),
    path("disputes/", views.dispute_list, name="disputes"),
    path("disputes/<int:pk>/resolve/", views.dispute_resolve, name="dispute-resolve"),
    path("plans/", views.plan_list, name="plans"),
    path("plans/<int:pk>/", views.plan_detail, name="plan"),
    path("plans/<int:pk>/decide/", views.plan_decide, name="plan-decide"),
    path("limitation/", views.limitation_watch, name="limitation"),
    path("cases/", views.case_list, name="cases"),
    path("cases/<int:pk>/", views.case_detail, name="case"),
    path("cases/<int:pk>/claim/", views.case_claim, name="case-claim"),
    path("cases/<int:pk>/evidence.pdf", views.case_evidence, {"fmt": "pdf"}, name="case-evidence-pdf"),
    path("cases/<int:pk>/evidence.zip", views.case_evidence, {"fmt": "zip"}, name="case-evidence-zip"),
    path("tasks/<int:pk>/done/", views.task_done, name="task-done"),
    path("interest/", views.interest_rules, name="interest-rules"),
]
