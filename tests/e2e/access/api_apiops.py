"""API operations of issue 18 (apiops): contacts of all customers (sync) and the customer upsert by external key."""

from huikuan.customers.models import Customer

from . import OK_ALL, OWN

ROWS = {
    "api:contact-sync-list": ("/api/v1/contacts/", OK_ALL, 401),
    "api:customer-by-external-key": ("/api/v1/customers/by-external-key/{apixk}/", OWN, 401),
}


def objects(*, world, company, customer, users, finance) -> dict:
    Customer.objects.filter(pk=customer.pk).update(external_source="api", external_key="crm:access-1")
    return {"apixk": "crm:access-1"}
