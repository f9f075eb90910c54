"""Setup and user administration (issue 11 points 1–2): only administrators; one's own password for all."""

from . import GET_405, OK_ALL, only

ADMIN = only({"admin"})

ROWS = {
    "web:setup": ("/setup/", ADMIN, 302),  # with a company and users: add a company (admins), else sign in
    "web:password-change": ("/password/", OK_ALL, 302),
    "web:user-list": ("/settings/users/", ADMIN, 302),
    "web:user-create": ("/settings/users/new/", ADMIN, 302),
    "web:user-detail": ("/settings/users/{u}/", ADMIN, 302),
    "web:user-active": ("/settings/users/{u}/active/", GET_405, 302),
    # go-live proposals (point 8): everyone sees those of customers in their scope; deciding needs dunning.run
    "dunning:proposals": ("/dunning/proposals/", OK_ALL, 302),
}


def objects(*, world, company, customer, users, finance) -> dict:
    return {"u": users["collector"].pk}
