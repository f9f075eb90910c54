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


@login_required
def dashboard(request):
    return render(request, "web/dashboard.html", {"nav": "dashboard"})


@login_required
def coming_soon(request, *args, **kwargs):  # replaced screen by screen as they land
    return render(request, "web/dashboard.html", {"nav": ""})
