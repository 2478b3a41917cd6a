"""The signed unsubscribe token of customer e-mails: it names one customer profile, so the
link works with no sign-in, and a changed token names nobody."""

from __future__ import annotations

from django.core import signing

from jobline.customers.models import Customer

UNSUBSCRIBE_SALT = "jobline.portal.unsubscribe"


def unsubscribe_token(customer: Customer) -> str:
    return signing.dumps({"customer": customer.pk}, salt=UNSUBSCRIBE_SALT)


def customer_from_unsubscribe_token(token: str) -> Customer | None:
    try:
        data = signing.loads(token, salt=UNSUBSCRIBE_SALT)
    except signing.BadSignature:
        return None
    customer_id = data.get("customer") if isinstance(data, dict) else None
    if not isinstance(customer_id, int):
        return None
    return Customer.objects.select_related("workspace").filter(pk=customer_id).first()
