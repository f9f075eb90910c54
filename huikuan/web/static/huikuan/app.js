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

// Responsive shell (issue 13): the menu button opens the collapsed menu on narrow screens; every
// list table gets its own horizontal scroll container and per-cell labels (shown when rows become
// cards on a phone). Runs on load and on every htmx swap.
(function () {
  function setupMenu() {
    const bar = document.getElementById("topbar");
    if (!bar) return;
    const btn = bar.querySelector(".navtoggle");
    const more = bar.querySelector(".navmore");
    btn.addEventListener("click", function () {
      const open = !bar.classList.contains("nav-open");
      bar.classList.toggle("nav-open", open);
      btn.setAttribute("aria-expanded", open ? "true" : "false");
      if (open && more) more.open = true;
    });
    document.addEventListener("click", function (e) {  // a click elsewhere closes the desk "More" list
      if (more && more.open && !bar.classList.contains("nav-open") && !more.contains(e.target)) more.open = false;
    });
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && more && more.open) more.open = false;
    });
  }
  function headerLabels(table) {
    const head = table.tHead && table.tHead.rows.length ? table.tHead.rows[table.tHead.rows.length - 1] : null;
    if (!head) return null;
    const labels = [];
    for (const th of head.cells) {
      const text = (th.getAttribute("data-label") || th.textContent || "").replace(/\s+/g, " ").trim();
      for (let i = 0; i < (th.colSpan || 1); i++) labels.push(text);
    }
    return labels;
  }
  function prepareTables(root) {
    const scope = root && root.querySelectorAll ? root : document;
    const tables = Array.from(scope.querySelectorAll("table.list"));
    if (scope.matches && scope.matches("table.list")) tables.push(scope);
    for (const table of tables) {
      const parent = table.parentElement;
      if (parent && !parent.classList.contains("table-scroll")) {
        // moving the table takes the focus from a field inside it: give it back, with its selection, in the same
        // task — a user (or a test) typing into a row just swapped in by htmx must not lose what they type
        const active = document.activeElement;
        const inside = active && active !== document.body && table.contains(active);
        let start = null, end = null;
        if (inside) { try { start = active.selectionStart; end = active.selectionEnd; } catch (err) { start = null; } }
        const wrap = document.createElement("div");
        wrap.className = "table-scroll";
        parent.insertBefore(wrap, table);
        wrap.appendChild(table);
        if (inside && document.activeElement !== active) {
          active.focus({ preventScroll: true });
          if (start !== null && active.setSelectionRange) { try { active.setSelectionRange(start, end); } catch (err) { /* not a text field */ } }
        }
      }
      const labels = headerLabels(table);
      if (!labels) continue;
      for (const body of [...table.tBodies, ...(table.tFoot ? [table.tFoot] : [])]) {
        for (const row of body.rows) {
          let col = 0;
          for (const cell of row.cells) {
            if (cell.tagName === "TD" && !cell.hasAttribute("data-label") && cell.colSpan === 1) {
              cell.setAttribute("data-label", labels[col] || "");
            }
            col += cell.colSpan || 1;
          }
        }
      }
    }
  }
  document.addEventListener("DOMContentLoaded", function () { setupMenu(); prepareTables(document); });
  document.addEventListener("htmx:load", function (e) { prepareTables(e.target); });
})();

// Payment apply (issue 13): live "being applied" / "left unapplied" totals as amounts are typed, the row
// typed above its open amount highlighted. Amounts are added as whole fen (integers), never as floats.
(function () {
  const lang = document.documentElement.lang || "zh-hans";
  const fmt = new Intl.NumberFormat(lang === "en" ? "en" : "zh-CN", {minimumFractionDigits: 2, maximumFractionDigits: 2});
  function fen(text) {  // "1,234.5" → 123450; "" → 0; not an amount → null
    const s = String(text || "").replace(/[\uFF10-\uFF19]/g, function (c) { return String.fromCharCode(c.charCodeAt(0) - 0xFEE0); })
      .replace(/[\s,，¥￥]/g, "").replace("．", ".");
    if (s === "") return 0;
    const m = /^(-?)(\d*)(?:\.(\d{0,2}))?$/.exec(s);
    if (!m || (m[2] === "" && !m[3])) return null;
    const v = parseInt(m[2] || "0", 10) * 100 + parseInt(((m[3] || "") + "00").slice(0, 2), 10);
    return m[1] ? -v : v;
  }
  function show(v) { return fmt.format(v / 100); }
  function update(form) {
    const unapplied = fen(form.getAttribute("data-unapplied"));
    let total = 0;
    for (const row of form.querySelectorAll("tr[data-open]")) {
      const input = row.querySelector("input[name^=amt_]");
      const v = fen(input.value);
      const over = v === null || v < 0 || v > fen(row.getAttribute("data-open"));
      row.classList.toggle("over", over && input.value.trim() !== "");
      const warn = row.querySelector(".row-warning");
      if (warn) warn.hidden = !(v !== null && v > fen(row.getAttribute("data-open")));
      if (v !== null && v > 0) total += v;
    }
    const left = unapplied - total;
    form.querySelector("[data-total=allocated]").textContent = show(total);
    const rem = form.querySelector("[data-total=remaining]");
    rem.textContent = show(left);
    rem.classList.toggle("neg", left < 0);
  }
  function bind(root) {
    for (const form of (root.querySelectorAll ? root : document).querySelectorAll("form.apply-form")) {
      if (form.dataset.bound) continue;
      form.dataset.bound = "1";
      form.addEventListener("input", function () { update(form); });
      update(form);
    }
  }
  document.addEventListener("DOMContentLoaded", function () { bind(document); });
  document.addEventListener("htmx:load", function (e) { bind(e.target.parentNode || document); });
})();

// Customer pickers (issue 13): every input[data-customer-picker] asks the server (data-pick-url) as the user
// types — code, name, short name, pinyin (initials or full, any position), phone or 信用代码 — and lists up
// to 20 matches: arrows move, Enter or a click picks (the box then holds the code, the name shows beside
// it), Escape closes. A miss lists nothing and never clears what was typed.
(function () {
  function setup(input) {
    const url = input.getAttribute("data-pick-url");
    if (!url || input.dataset.pickerBound) return;
    input.dataset.pickerBound = "1";
    const wrap = document.createElement("span");
    wrap.className = "picker";
    input.parentNode.insertBefore(wrap, input);
    wrap.appendChild(input);
    const list = document.createElement("ul");
    list.className = "picker-list";
    list.id = (input.id || input.name) + "-matches";
    list.setAttribute("role", "listbox");
    list.hidden = true;
    wrap.appendChild(list);
    const chosen = document.createElement("small");
    chosen.className = "picker-name muted";
    chosen.setAttribute("aria-live", "polite");
    wrap.appendChild(chosen);
    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-controls", list.id);
    input.setAttribute("aria-expanded", "false");
    let items = [], active = -1, timer = null, seq = 0;

    function close() { list.hidden = true; input.setAttribute("aria-expanded", "false"); active = -1; }
    function highlight(i) {
      active = i;
      list.querySelectorAll("li[data-i]").forEach(function (li) {
        const on = Number(li.dataset.i) === i;
        li.classList.toggle("active", on);
        li.setAttribute("aria-selected", on ? "true" : "false");
        if (on) { li.scrollIntoView({block: "nearest"}); input.setAttribute("aria-activedescendant", li.id); }
      });
    }
    function render() {
      list.replaceChildren();
      if (!items.length) {
        const li = document.createElement("li");
        li.className = "picker-none muted";
        li.textContent = input.getAttribute("data-none") || "—";
        list.appendChild(li);
      }
      items.forEach(function (c, i) {
        const li = document.createElement("li");
        li.id = list.id + "-" + i;
        li.dataset.i = String(i);
        li.setAttribute("role", "option");
        const code = document.createElement("b");
        code.textContent = c.code;
        li.appendChild(code);
        li.appendChild(document.createTextNode(" " + c.name + (c.short_name ? " (" + c.short_name + ")" : "")));
        if (c.status) {
          const st = document.createElement("span");
          st.className = "badge";
          st.textContent = c.status;
          li.appendChild(document.createTextNode(" "));
          li.appendChild(st);
        }
        list.appendChild(li);
      });
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
      highlight(items.length ? 0 : -1);
    }
    function pick(i) {
      const c = items[i];
      if (!c) return;
      input.value = c.code;
      chosen.textContent = c.name;
      close();
      input.dispatchEvent(new Event("change", {bubbles: true}));
    }
    function ask(q, nameOnly) {
      const n = ++seq;
      fetch(url + "?q=" + encodeURIComponent(q), {headers: {Accept: "application/json"}, credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.json() : {results: []}; })
        .then(function (data) {
          if (n !== seq) return;  // an older answer arriving late
          items = data.results || [];
          if (nameOnly) {
            const hit = items.find(function (c) { return c.code.toUpperCase() === q.toUpperCase(); });
            chosen.textContent = hit ? hit.name : "";
          } else {
            render();
          }
        })
        .catch(function () { /* offline: the typed code is still checked when the form is sent */ });
    }
    input.addEventListener("input", function () {
      chosen.textContent = "";
      clearTimeout(timer);
      const q = input.value.trim();
      if (!q) { seq++; close(); return; }
      timer = setTimeout(function () { ask(q, false); }, 150);
    });
    input.addEventListener("keydown", function (e) {
      if (list.hidden) return;
      if (e.key === "ArrowDown" && items.length) { e.preventDefault(); highlight((active + 1) % items.length); }
      else if (e.key === "ArrowUp" && items.length) { e.preventDefault(); highlight((active - 1 + items.length) % items.length); }
      else if (e.key === "Enter" && active >= 0) { e.preventDefault(); pick(active); }
      else if (e.key === "Escape") { e.preventDefault(); close(); }
    });
    input.addEventListener("blur", function () { setTimeout(close, 150); });
    list.addEventListener("mousedown", function (e) {
      const li = e.target.closest("li[data-i]");
      if (li) { e.preventDefault(); pick(Number(li.dataset.i)); }
    });
    if (input.value.trim()) ask(input.value.trim(), true);
  }
  function bind(root) {
    (root && root.querySelectorAll ? root : document).querySelectorAll("input[data-customer-picker]").forEach(setup);
  }
  document.addEventListener("DOMContentLoaded", function () { bind(document); });
  document.addEventListener("htmx:load", function (e) { bind(e.target.parentNode || document); });
})();

// Bank review queue (issue 13): j / k move the current line, x selects it for the bulk confirm, Enter
// confirms its first suggestion, o opens it. The bulk button counts the selection; the header box
// selects every line of the page that has a suggestion.
(function () {
  function setup(table) {
    if (table.dataset.queueBound) return;
    table.dataset.queueBound = "1";
    const rows = function () { return Array.from(table.querySelectorAll("tbody tr[data-line]")); };
    const button = document.getElementById("bulk-confirm");
    const count = document.querySelector("[data-selected-count]");
    const all = table.querySelector("[data-select-all]");
    let current = -1;
    function refresh() {
      const n = table.querySelectorAll("input[data-select]:checked").length;
      if (count) count.textContent = String(n);
      if (button) button.disabled = n === 0;
    }
    function move(i) {
      const list = rows();
      if (!list.length) return;
      current = Math.max(0, Math.min(list.length - 1, i));
      list.forEach(function (tr, k) { tr.classList.toggle("current", k === current); });
      list[current].focus({preventScroll: true});
      list[current].scrollIntoView({block: "nearest"});
    }
    table.addEventListener("change", function (e) { if (e.target.matches("input[data-select]")) refresh(); });
    if (all) all.addEventListener("change", function () {
      table.querySelectorAll("input[data-select]").forEach(function (box) { box.checked = all.checked; });
      refresh();
    });
    table.addEventListener("click", function (e) {
      const tr = e.target.closest("tr[data-line]");
      if (tr) { current = rows().indexOf(tr); rows().forEach(function (r) { r.classList.toggle("current", r === tr); }); }
    });
    document.addEventListener("keydown", function (e) {
      const t = e.target;
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable)) return;
      if (t && (t.tagName === "BUTTON" || t.tagName === "A") && e.key === "Enter") return;
      const list = rows();
      if (e.key === "j") { e.preventDefault(); move(current + 1); }
      else if (e.key === "k") { e.preventDefault(); move(current < 0 ? 0 : current - 1); }
      else if (current >= 0 && list[current]) {
        const tr = list[current];
        if (e.key === "x") {
          const box = tr.querySelector("input[data-select]");
          if (box) { e.preventDefault(); box.checked = !box.checked; refresh(); }
        } else if (e.key === "Enter") {
          const form = tr.querySelector("form[data-confirm]");
          if (form) { e.preventDefault(); form.requestSubmit ? form.requestSubmit() : form.submit(); }
        } else if (e.key === "o") {
          const link = tr.querySelector("a[data-open]");
          if (link) { e.preventDefault(); link.click(); }
        }
      }
    });
    refresh();
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("table[data-queue]").forEach(setup);
  });
})();

// Worklist (issue 13): the header box ticks every customer of the page for "Assign collector".
document.addEventListener("change", function (e) {
  if (!e.target.matches || !e.target.matches("input[data-tick-all]")) return;
  const table = e.target.closest("table");
  if (table) table.querySelectorAll("input[name=customer][form=assign]").forEach(function (b) { b.checked = e.target.checked; });
});
