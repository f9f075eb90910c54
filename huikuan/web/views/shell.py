"""Sign-in, language and company switching, dashboard."""

from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
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


def _line_chart(points, width=640, height=170, pad=28):
    """Server-rendered SVG polylines for the AR / overdue trend (no JavaScript needed)."""
    if not points:
        return None
    top = max([p.open_amount for p in points] + [1])
    n = max(len(points) - 1, 1)

    def xy(i, v):
        x = pad + (width - 2 * pad) * i / n
        y = height - pad - (height - 2 * pad) * float(v / top)
        return f"{x:.1f},{y:.1f}"

    return {
        "width": width, "height": height,
        "open": " ".join(xy(i, p.open_amount) for i, p in enumerate(points)),
        "overdue": " ".join(xy(i, p.overdue_amount) for i, p in enumerate(points)),
        "labels": [{"x": f"{pad + (width - 2 * pad) * i / n:.1f}", "text": p.date.strftime("%y-%m")} for i, p in enumerate(points)],
        "top": top, "y_top": pad, "y_base": height - pad,
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
    aging = [{"label": lbl, "value": v, "pct": int(v * 100 / top) if v > 0 else 0}
             for lbl, v in zip(d.aging_labels, d.aging_values, strict=True)]
    warning = calendar_warning(today) if request.user.can("admin.users") else None
    return render(request, "web/dashboard.html", {"nav": "dashboard", "d": d, "aging": aging,
                                                  "trend": _line_chart(d.trend), "calendar_warning": warning})


@login_required
def coming_soon(request, *args, **kwargs):  # replaced screen by screen as they land
    return render(request, "web/dashboard.html", {"nav": ""})
