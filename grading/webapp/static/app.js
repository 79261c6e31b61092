// Keyboard shortcuts on a flag page: a/b/c/d… pick that answer, 0 = blank. Plain JS, no libraries.
(function () {
  "use strict";
  var form = document.getElementById("resolve-form");
  if (!form) { return; }
  function submitWith(button) {
    if (form.dataset.sent) { return; }
    form.dataset.sent = "1";
    if (form.requestSubmit) { form.requestSubmit(button); } else { button.click(); }
  }
  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
    var t = ev.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA")) { return; }
    var key = (ev.key || "").toLowerCase();
    var buttons = form.querySelectorAll("button[data-key]");
    for (var i = 0; i < buttons.length; i++) {
      if (buttons[i].getAttribute("data-key") === key) {
        ev.preventDefault();
        submitWith(buttons[i]);
        return;
      }
    }
  });
})();

// Roster search on a participant flag: type an id prefix, a name or a unit (with or without diacritics), pick a
// participant (click, or ↑/↓ then Enter) and the flag is resolved with that id through the normal form (CSRF).
(function () {
  "use strict";
  var box = document.getElementById("roster-q");
  var list = document.getElementById("roster-results");
  var count = document.getElementById("roster-count");
  var form = document.getElementById("resolve-form");
  var value = document.getElementById("value");
  if (!box || !list || !form || !value) { return; }
  var timer = null, asked = 0, active = -1;

  function buttons() { return list.querySelectorAll("button"); }
  function highlight(i) {
    var b = buttons();
    if (!b.length) { active = -1; return; }
    active = (i + b.length) % b.length;
    for (var k = 0; k < b.length; k++) { b[k].classList.toggle("active", k === active); }
    b[active].scrollIntoView({block: "nearest"});
  }
  function pick(id) {
    if (form.dataset.sent) { return; }
    value.value = id;
    form.dataset.sent = "1";
    if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
  }
  function show(data) {
    list.textContent = "";
    active = -1;
    data.hits.forEach(function (h) {
      var li = document.createElement("li");
      var b = document.createElement("button");
      b.type = "button";
      b.dataset.id = h.id;
      var id = document.createElement("span"); id.className = "rid"; id.textContent = h.id;
      var name = document.createElement("span"); name.className = "rname"; name.textContent = " " + h.name;
      var unit = document.createElement("span"); unit.className = "runit"; unit.textContent = h.unit ? " — " + h.unit : "";
      b.appendChild(id); b.appendChild(name); b.appendChild(unit);
      b.addEventListener("click", function () { pick(h.id); });
      li.appendChild(b);
      list.appendChild(li);
    });
    if (!box.value.trim()) { count.textContent = ""; }
    else if (!data.total) { count.textContent = "Không tìm thấy thí sinh nào."; }
    else if (data.total > data.hits.length) {
      count.textContent = "Tìm thấy " + data.total + " thí sinh, hiện " + data.hits.length + " người đầu; gõ thêm để thu hẹp.";
    } else { count.textContent = "Tìm thấy " + data.total + " thí sinh."; }
    if (data.hits.length) { highlight(0); }
  }
  function search() {
    var q = box.value.trim(), mine = ++asked;
    if (!q) { show({hits: [], total: 0}); return; }
    fetch("/roster/search?q=" + encodeURIComponent(q), {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { if (!r.ok) { throw new Error(String(r.status)); } return r.json(); })
      .then(function (data) { if (mine === asked) { show(data); } })
      .catch(function () { if (mine === asked) { count.textContent = "Không tìm được (mất kết nối?). Hãy gõ số báo danh vào ô trên."; } });
  }
  box.addEventListener("input", function () {
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(search, 120);
  });
  box.addEventListener("keydown", function (ev) {
    if (ev.key === "ArrowDown") { ev.preventDefault(); highlight(active + 1); }
    else if (ev.key === "ArrowUp") { ev.preventDefault(); highlight(active - 1); }
    else if (ev.key === "Enter") {
      ev.preventDefault();
      var b = buttons();
      if (active >= 0 && b[active]) { pick(b[active].dataset.id); }
    }
  });
})();
