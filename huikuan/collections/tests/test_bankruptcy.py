"""The bankruptcy playbook (issue 12 point 12): dunning stops, the claim (债权申报) carries interest up to the
court's acceptance date, running it twice duplicates nothing, and a customer with nothing open gets no case."""

import datetime as dt
from decimal import Decimal as D

import pytest
from django.urls import reverse

from huikuan.collections import services as svc
from huikuan.collections.models import Case, ClaimStatus, PlaybookRun, Task
from huikuan.collections.playbooks import run_playbook
from huikuan.ledger import services as ls

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 3, 20)
ACCEPTED = dt.date(2026, 3, 6)  # 30 days after the due date 2026-02-04


@pytest.fixture
def inv(company, customer, finance):
    return ls.post_document(company=company, customer_id=customer.pk, document_date=dt.date(2026, 1, 5),
                            total=D("10000.00"), actor=finance)


def _run(company, customer, users, **claim):
    return run_playbook(company=company, customer=customer, code="bankruptcy", actor=users["credit_manager"],
                        today=TODAY, note="法院受理破产申请", claim=claim)


def test_claim_with_interest_to_the_acceptance_date(company, customer, inv, users, finance):
    svc.save_interest_rule(company=company, actor=finance, basis="daily", rate="0.05")
    run = _run(company, customer, users, accepted_on=ACCEPTED, deadline=dt.date(2026, 5, 6),
               administrator="北京某律师事务所 王律师 010-12345678")
    assert [(s.code, s.status) for s in run.steps.all()] == [
        ("hold", "done"), ("reject_orders", "done"), ("escalate", "done"), ("claim", "done"), ("notify", "done")]
    case = Case.objects.get(customer=customer)
    assert (case.claim_principal_amount, case.claim_interest_amount) == (D("10000.00"), D("150.00"))  # interest stops
    assert case.claim_status == ClaimStatus.TO_FILE and case.stops_dunning
    assert (case.court_accepted_on, case.claim_deadline) == (ACCEPTED, dt.date(2026, 5, 6))
    assert case.administrator.startswith("北京某律师事务所")
    # filed, then accepted by the administrator
    svc.prepare_claim(company=company, customer_id=customer.pk, actor=users["legal"], today=TODAY, filed_on=TODAY,
                      status=ClaimStatus.FILED)
    case = svc.prepare_claim(company=company, customer_id=customer.pk, actor=users["legal"], today=TODAY,
                             status=ClaimStatus.ACCEPTED)
    assert (case.claim_status, case.claim_filed_on, case.claim_interest_amount) == ("accepted", TODAY, D("150.00"))
    with pytest.raises(svc.CollectionsError):  # the court cannot accept in the future
        svc.prepare_claim(company=company, customer_id=customer.pk, actor=users["legal"], today=TODAY,
                          accepted_on=TODAY + dt.timedelta(days=1))


def test_running_twice_duplicates_nothing(company, customer, inv, users):
    _run(company, customer, users)
    _run(company, customer, users)
    assert Case.objects.filter(customer=customer).count() == 1
    assert Task.objects.filter(customer=customer, source="playbook").count() == 2  # the owner and the legal team, once
    assert PlaybookRun.objects.count() == 2


def test_nothing_open_no_empty_case(company, customer, users, client):
    run = _run(company, customer, users)
    assert dict((s.code, s.status) for s in run.steps.all())["escalate"] == "skipped"
    assert dict((s.code, s.status) for s in run.steps.all())["claim"] == "skipped"
    assert not Case.objects.exists()
    client.force_login(users["credit_manager"])
    page = client.get(reverse("collections:customer", args=[customer.pk])).content.decode()
    assert "Nothing is open" in page or "没有未结" in page


def test_playbook_form_takes_the_claim_details(company, customer, inv, users, client, time_machine):
    time_machine.move_to(dt.datetime(2026, 3, 20, 2, 0, tzinfo=dt.UTC), tick=False)
    client.force_login(users["credit_manager"])
    client.post(reverse("collections:playbook-run", args=[customer.pk, "bankruptcy"]),
                {"note": "破产", "accepted_on": "2026-03-06", "deadline": "2026-05-06", "administrator": "王律师"})
    case = Case.objects.get(customer=customer)
    assert (case.court_accepted_on, case.administrator, case.stops_dunning) == (ACCEPTED, "王律师", True)


def test_case_page_files_and_accepts_the_claim(company, customer, inv, users, client, time_machine):
    time_machine.move_to(dt.datetime(2026, 3, 20, 2, 0, tzinfo=dt.UTC), tick=False)
    _run(company, customer, users, accepted_on=ACCEPTED)
    case = Case.objects.get(customer=customer)
    client.force_login(users["legal"])
    url = reverse("collections:case-claim", args=[case.pk])
    client.post(url, {"court_accepted_on": "2026-03-06", "claim_deadline": "2026-05-06", "administrator": "王律师",
                      "claim_filed_on": "2026-03-19", "claim_status": "filed"})
    case.refresh_from_db()
    assert (case.claim_status, case.claim_filed_on, case.claim_deadline) == ("filed", dt.date(2026, 3, 19), dt.date(2026, 5, 6))
    page = client.get(reverse("collections:case", args=[case.pk])).content.decode()
    assert "王律师" in page and "10,000.00" in page
    client.force_login(users["sales_west"])  # out of scope: 404
    assert client.post(url, {"claim_status": "accepted"}).status_code == 404
