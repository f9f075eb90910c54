"""The staff shell (issue 13): menu structure, styled and translated error pages, tap-to-call links."""

import pytest
from django.test import Client, RequestFactory
from django.urls import include, path
from django.utils import translation
from django.views.defaults import server_error

from huikuan.web.templatetags.ui import mailto, tel, tel_href

pytestmark = pytest.mark.django_db


def _boom(request):
    raise RuntimeError("boom")


urlpatterns = [path("boom/", _boom), path("", include("config.urls"))]


@pytest.mark.parametrize(("typed", "href"), [
    ("13812345678", "tel:13812345678"),
    ("138 1234 5678", "tel:13812345678"),
    ("+86 21 6888-1234", "tel:+862168881234"),
    ("021-6888 1234 转 801", "tel:02168881234,801"),
    ("021-68881234 分机 12", "tel:02168881234,12"),
    ("0755-8888 0000 ext. 7", "tel:075588880000,7"),
    ("１３８１２３４５６７８", "tel:13812345678"),
    ("无", ""),
    ("", ""),
])
def test_tel_href(typed, href):
    assert tel_href(typed) == href


def test_tel_and_mailto_links_escape_what_was_typed():
    assert tel('138 1234 5678') == '<a class="tel" href="tel:13812345678">138 1234 5678</a>'
    assert tel("无") == "无"
    assert mailto("wang@example.cn") == '<a class="mailto" href="mailto:wang@example.cn">wang@example.cn</a>'
    assert "<script>" not in mailto('<script>@x')
    assert mailto("not an address") == "not an address"


def test_menu_keeps_rare_sections_under_more(client, users):
    client.force_login(users["finance"])
    html = client.get("/fapiao/").content.decode()
    nav = html[html.index('<nav class="mainnav"'):html.index("</nav>")]
    more = nav[nav.index('<details class="navmore"'):]
    assert 'href="/fapiao/"' in more and 'href="/terms/"' in more and 'href="/write-offs/"' in more
    assert 'href="/customers/"' not in more
    assert '<summary aria-current="true">' in more  # the current section is under "More"
    assert 'aria-controls="navpanel"' in html  # the phone menu button


@pytest.mark.parametrize(("language", "title", "text"), [
    ("zh-hans", "页面不存在", "返回首页"),
    ("en", "Page not found", "Back to the dashboard"),
])
def test_404_is_styled_and_translated(client, users, settings, language, title, text):
    settings.DEBUG = False
    client.force_login(users["collector"])
    client.cookies["django_language"] = language
    r = client.get("/documents/999999/")
    assert r.status_code == 404
    html = r.content.decode()
    assert f"<h1>{title}</h1>" in html and text in html
    assert 'class="topbar"' in html  # inside the staff shell, menu and all


def test_403_is_styled_and_translated(client, users):
    client.force_login(users["auditor"])
    r = client.get("/payments/new/")
    assert r.status_code == 403
    html = r.content.decode()
    assert "<h1>无权访问</h1>" in html and 'class="code">403' in html


@pytest.mark.parametrize(("language", "title"), [("zh-hans", "出错了"), ("en", "Something went wrong")])
def test_500_is_styled_and_translated(language, title):
    with translation.override(language):
        r = server_error(RequestFactory().get("/"))
    html = r.content.decode()
    assert r.status_code == 500
    assert f"<h1>{title}</h1>" in html and "huikuan/app." in html


def test_500_through_the_stack(settings, users):
    settings.ROOT_URLCONF = __name__
    settings.DEBUG = False
    c = Client(raise_request_exception=False)
    r = c.get("/boom/")
    assert r.status_code == 500
    assert "<h1>出错了</h1>" in r.content.decode()


def test_csrf_failure_page_is_translated(users):
    c = Client(enforce_csrf_checks=True)
    c.force_login(users["finance"])
    c.cookies["django_language"] = "en"
    r = c.post("/payments/new/", {"amount": "1"})
    assert r.status_code == 403
    assert "<h1>The form had expired</h1>" in r.content.decode()
