from django.core.management.base import CommandError

from huikuan.accounts.commands import no_company_message
from huikuan.accounts.models import Company, User
from huikuan.api.models import ApiKey
from huikuan.api.services import issue_api_key, revoke_api_key
from huikuan.common.commands import HuikuanCommand
from huikuan.common.errors import DomainError
from huikuan.customers.models import Customer


class Command(HuikuanCommand):
    help = "Issue, list or revoke API keys: apikey create --user U --name N [--role R] [--customer CODE] [--days 365]"

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        c = sub.add_parser("create", help="issue a key (shown once)")
        c.add_argument("--user", required=True, help="the user the key acts as")
        c.add_argument("--name", required=True, help="what the key is for, e.g. the ERP's name")
        c.add_argument("--role", default="", help="a narrower role for the key (default: the user's)")
        c.add_argument("--customer", default="", help="customer code to limit the key to")
        c.add_argument("--company", default="", help="company code (default: the user's first)")
        c.add_argument("--days", type=int, default=365, help="validity in days (0 = no expiry)")
        c.add_argument("--as", dest="actor", default="", help="administrator issuing the key (default: first admin)")
        sub.add_parser("list", help="list every key with its user, role and state")
        r = sub.add_parser("revoke", help="revoke a key by its prefix")
        r.add_argument("prefix", help="the key's prefix as `list` shows it")

    def handle(self, *args, action, **o):
        admin = User.objects.filter(role="admin", is_active=True).order_by("pk")
        actor = admin.filter(username=o.get("actor")).first() if o.get("actor") else admin.first()
        if action == "list":
            for k in ApiKey.objects.select_related("user"):
                state = "revoked" if k.revoked_at else ("expired" if not k.is_usable() else "active")
                self.stdout.write(f"{k.prefix}  {k.name:<24} {k.user.username:<12} {k.role or '-':<14} {state}")
            return
        if actor is None:
            raise CommandError("no active administrator to act as")
        try:
            if action == "revoke":
                key = ApiKey.objects.get(prefix=o["prefix"])
                revoke_api_key(actor=actor, key_id=key.pk)
                self.stdout.write(f"revoked {key.prefix}")
                return
            user = User.objects.get(username=o["user"])
            company = Company.objects.get(code=o["company"]) if o["company"] else user.companies.order_by("pk").first()
            if company is None:
                raise CommandError(no_company_message())
            customer = Customer.objects.get(company=company, code=o["customer"]) if o["customer"] else None
            key, raw = issue_api_key(actor=actor, user=user, company=company, name=o["name"], role=o["role"],
                                     customer=customer, expires_in_days=o["days"] or None)
        except (ApiKey.DoesNotExist, User.DoesNotExist, Company.DoesNotExist, Customer.DoesNotExist) as exc:
            raise CommandError(str(exc)) from exc
        except DomainError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(raw)
