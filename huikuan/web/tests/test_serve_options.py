"""gunicorn's settings for `huikuan serve --processes N` (issue 19: the 20-client p95 of the API)."""


def test_gunicorn_accepts_only_what_its_threads_can_take(monkeypatch):
    """Each worker accepts a connection only when a thread is free or about to be (threads + 1), so waiting
    connections stay in the kernel's queue shared by the workers in arrival order (docs/PERFORMANCE.md, issue 19);
    with keep-alive on, idle kept-alive connections count against the limit, so gunicorn's default stays."""
    from huikuan.web.management.commands.serve import gunicorn_options

    monkeypatch.delenv("HUIKUAN_WEB_KEEPALIVE", raising=False)
    monkeypatch.delenv("HUIKUAN_WEB_CONNECTIONS", raising=False)
    options = gunicorn_options(host="127.0.0.1", port=8000, processes=2, threads=2)
    assert (options["worker_connections"], options["keepalive"], options["workers"]) == (3, 0, 2)
    assert (options["worker_class"], options["threads"], options["bind"]) == ("gthread", 2, "127.0.0.1:8000")
    monkeypatch.setenv("HUIKUAN_WEB_KEEPALIVE", "5")
    assert gunicorn_options(host="127.0.0.1", port=8000, processes=2, threads=2)["worker_connections"] == 1000
    monkeypatch.setenv("HUIKUAN_WEB_CONNECTIONS", "50")
    assert gunicorn_options(host="127.0.0.1", port=8000, processes=2, threads=8)["worker_connections"] == 50
