// Keyboard shortcuts: "/" focuses the page's search box; "g" then a letter follows a nav link.
(function () {
  let pending = null;
  document.addEventListener("keydown", function (e) {
    const t = e.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable)) return;
    if (e.key === "/") {
      const box = document.querySelector("[data-search]");
      if (box) { e.preventDefault(); box.focus(); box.select && box.select(); }
      return;
    }
    if (pending) {
      const link = document.querySelector('[data-key="' + pending + " " + e.key + '"]');
      pending = null;
      if (link) { e.preventDefault(); link.click(); }
      return;
    }
    if (e.key === "g") { pending = "g"; setTimeout(function () { pending = null; }, 1200); }
  });
})();
