"""Sign-in, language and company switching, dashboard."""

from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    redirect_authenticated_user = True

    def get(self, request, *args, **kwargs):
        from huikuan.accounts.models import User

        if not request.user.is_authenticated and not User.objects.exists():
            return redirect("web:setup")  # an empty install: the first person sets it up
        return super().get(request, *args, **kwargs)


@require_POST
def logout_view(request):
    logout(request)
    return redirect("web:login")


@require_POST
@login_required
def switch_company(request):
    try:
        wanted = int(request.POST.get("company", ""))
    except ValueError as exc:
        raise Http404 from exc
    if not any(c.pk == wanted for c in request.companies):
        raise Http404
    request.session["company_id"] = wanted
    nxt = request.POST.get("next") or request.META.get("HTTP_REFERER") or "/"
    if not url_has_allowed_host_and_scheme(nxt, allowed_hosts={request.get_host()}):
        nxt = "/"
    return redirect(nxt)


def month_labels(dates) -> list[str]:
    """Axis labels for points in time, each distinct: ``2026-11`` for a month's first point, the day
    (``11-30``) when a month has another point before it (a month-end snapshot and today's figure)."""
    out, seen = [], set()
    for d in dates:
        month = (d.year, d.month)
        out.append(d.strftime("%m-%d") if month in seen else d.strftime("%Y-%m"))
        seen.add(month)
    return out


def _line_chart(points, width=640, height=190, pad=76):
    """Server-rendered SVG of the AR / overdue trend (no JavaScript needed): a line per series with a
    dot per point whose tooltip names the date and amount, a y axis with its top and middle values,
    and distinct month labels (every other one when there are more than 13)."""
    if not points:
        return None
    top = max([p.open_amount for p in points] + [1])
    n = max(len(points) - 1, 1)
    base = height - 28

    def x(i):
        return pad + (width - pad - 30) * i / n

    def y(v):
        return base - (base - 16) * float(v / top)

    def series(attr, label):
        return {"points": " ".join(f"{x(i):.1f},{y(getattr(p, attr)):.1f}" for i, p in enumerate(points)),
                "dots": [{"x": f"{x(i):.1f}", "y": f"{y(getattr(p, attr)):.1f}",
                          "title": f"{p.date:%Y-%m-%d} · {label} {getattr(p, attr):,.2f}"} for i, p in enumerate(points)]}

    from django.utils.translation import gettext as _

    texts = month_labels([p.date for p in points])
    step = 1 if len(points) <= 13 else 2
    return {
        "width": width, "height": height, "pad": pad, "y_base": base, "y_mid": f"{y(top / 2):.1f}", "y_top": f"{y(top):.1f}",
        "open": series("open_amount", _("Receivables")), "overdue": series("overdue_amount", _("Overdue")),
        "labels": [{"x": f"{x(i):.1f}", "text": t} for i, t in enumerate(texts) if (len(texts) - 1 - i) % step == 0],
        "top": top, "mid": top / 2,
    }


@login_required
def dashboard(request):
    from huikuan.common import clock
    from huikuan.common.calendar import calendar_warning
    from huikuan.insight.selectors import dashboard as dashboard_data

    if request.company is None:
        from huikuan.accounts.models import Company

        if not Company.objects.exists() and (request.user.can("admin.users") or request.user.is_superuser):
            return redirect("web:setup")  # no company yet: set one up first
        return render(request, "web/dashboard.html", {"nav": "dashboard", "d": None})
    today = clock.today(request.company)
    d = dashboard_data(user=request.user, company=request.company, as_of=today)
    top = max(d.aging_values + (1,))
    # each bar opens the instalments behind it: the aging drill-down of that bucket, all customers
    drill = reverse("web:aging-drill")
    aging = [{"label": lbl, "value": v, "pct": int(v * 100 / top) if v > 0 else 0,
              "url": f"{drill}?as_of={today.isoformat()}&group=none&bucket={i}"}
             for i, (lbl, v) in enumerate(zip(d.aging_labels, d.aging_values, strict=True))]
    warning = calendar_warning(today) if request.user.can("admin.users") else None
    return render(request, "web/dashboard.html", {"nav": "dashboard", "d": d, "aging": aging,
                                                  "trend": _line_chart(d.trend), "calendar_warning": warning})


@login_required
def coming_soon(request, *args, **kwargs):  # replaced screen by screen as they land
    return render(request, "web/dashboard.html", {"nav": ""})
