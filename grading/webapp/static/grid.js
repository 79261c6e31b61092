// The grid review (grid.html): one key decides the focused cell and moves on; decisions are POSTed with the page's
// CSRF token (fetch, no page load). Keys: the layout's labels (a b c d…, any case) = that answer, 0 = blank,
// Enter = the machine's reading (or the answers picked with Shift+letter), Esc = drop the picked answers,
// arrows / h j k l = move. When every cell is decided, Enter or n loads the next batch. "The machine read every
// cell right" is enabled only once every cell has been on screen (IntersectionObserver). Every few seconds the
// grid asks which of its cells other judges decided, and skips them. Plain JS, no libraries.
(function () {
  "use strict";
  var grid = document.getElementById("grid");
  if (!grid) { return; }
  var cells = Array.prototype.slice.call(grid.querySelectorAll(".cell"));
  var csrf = grid.getAttribute("data-csrf");
  var acceptAll = document.getElementById("accept-all");
  var unseen = document.getElementById("unseen");
  var done = document.getElementById("grid-done");
  var nextBatch = document.getElementById("next-batch");
  var current = 0, seen = 0, finished = false;
  var picked = {};           // flag id → the answers picked with Shift+letter

  function isOpen(c) { var s = c.getAttribute("data-state"); return s === "open" || s === "error"; }
  function options(c) { return (c.getAttribute("data-options") || "").split(" ").filter(Boolean); }
  // the key that picks an option: its letter without diacritics, lower case (Đúng/Sai: "Đ" → d, "S" → s)
  function keyOf(o) { return o.replace(/[Đđ]/g, "d").normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase(); }
  function shown(value) { return value === "" ? "bỏ trống" : value; }

  function focusCell(i) {
    if (!cells.length) { return; }
    current = Math.max(0, Math.min(cells.length - 1, i));
    cells[current].focus({preventScroll: true});
    cells[current].scrollIntoView({block: "nearest"});
  }
  function columns() {
    var top = cells[0].offsetTop, n = 0;
    while (n < cells.length && cells[n].offsetTop === top) { n++; }
    return Math.max(1, n);
  }
  function nextOpen(from) {
    for (var k = 1; k <= cells.length; k++) {
      var i = (from + k) % cells.length;
      if (isOpen(cells[i])) { return i; }
    }
    return -1;
  }
  function setState(c, state, text) {
    c.setAttribute("data-state", state);
    c.querySelector(".status").textContent = text;
    updateAcceptAll();
  }
  function showPicked(c) {
    var p = picked[c.getAttribute("data-id")] || [];
    c.querySelector(".status").textContent = p.length ? "Đã chọn: " + p.join("") + " (Enter để ghi, Esc để bỏ)" : "";
  }
  function checkDone() {
    if (finished || !cells.every(function (c) { var s = c.getAttribute("data-state"); return s === "done" || s === "taken"; })) {
      return;
    }
    finished = true;
    done.hidden = false;
    if (nextBatch) { nextBatch.focus(); }
  }
  function show(c, d) {
    if (d.status === 200) {
      setState(c, "done", "Đã ghi: " + shown(d.value) + " (" + d.who + ")" +
               (d.total ? ". Điểm mới của bài: " + d.total + " / " + d.max_total : ""));
    } else if (d.status === 409) {
      setState(c, "taken", "Đã được " + d.who + " quyết định (" + shown(d.value) + "); quyết định của bạn không được ghi.");
    } else if (d.status === 403) {
      setState(c, "error", "Bị từ chối (403): phiên hoặc mã chống giả mạo không còn đúng. Hãy tải lại trang.");
    } else {
      setState(c, "error", (d.message || "Lỗi " + d.status) + " Chưa ghi: hãy thử lại.");
    }
    checkDone();
  }
  function post(url, body) {
    body.append("csrf", csrf);
    return fetch(url, {method: "POST", body: body, credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (d) { d.status = r.status; return d; });
      });
  }
  function decide(i, value) {          // value null: the machine's reading
    var c = cells[i];
    if (!isOpen(c)) { return; }
    var body = new URLSearchParams();
    body.append("flag", c.getAttribute("data-id"));
    if (value === null) { body.append("machine", "1"); } else { body.append("value", value); }
    delete picked[c.getAttribute("data-id")];
    setState(c, "sending", "Đang ghi…");
    post("/flags/grid/decide", body).then(function (d) { show(c, d); }, function () {
      setState(c, "error", "Mất kết nối: chưa ghi. Hãy thử lại.");
    });
    var n = nextOpen(i);
    if (n >= 0) { focusCell(n); }
  }
  function acceptEverything() {
    var open = cells.filter(isOpen);
    if (!open.length || seen < cells.length) { return; }
    var body = new URLSearchParams();
    open.forEach(function (c) { body.append("flag", c.getAttribute("data-id")); setState(c, "sending", "Đang ghi…"); });
    post("/flags/grid/accept", body).then(function (d) {
      var byId = {};
      (d.results || []).forEach(function (r) { byId[String(r.id)] = r; });
      open.forEach(function (c) {
        var r = byId[c.getAttribute("data-id")];
        show(c, r || {status: d.status, message: d.message});
      });
    }, function () {
      open.forEach(function (c) { setState(c, "error", "Mất kết nối: chưa ghi. Hãy thử lại."); });
    });
  }
  function updateAcceptAll() {
    if (!acceptAll) { return; }
    var left = cells.length - seen, open = cells.filter(isOpen).length;
    acceptAll.disabled = left > 0 || open === 0;
    unseen.textContent = left > 0 ? "Còn " + left + " câu chưa hiện trên màn hình: cuộn xem hết để bật nút này."
      : (open ? "Ghi điều máy đọc cho " + open + " câu chưa quyết định, từng câu một." : "");
  }
  function markSeen(c) {
    if (c.getAttribute("data-seen")) { return; }
    c.setAttribute("data-seen", "1");
    seen++;
    updateAcceptAll();
  }

  if ("IntersectionObserver" in window) {
    var io = new IntersectionObserver(function (entries) {
      entries.forEach(function (e) {
        var tall = e.intersectionRect.height >= 0.5 * (e.rootBounds ? e.rootBounds.height : window.innerHeight);
        if (e.isIntersecting && (e.intersectionRatio >= 0.5 || tall)) { markSeen(e.target); io.unobserve(e.target); }
      });
    }, {threshold: [0, 0.25, 0.5, 0.75, 1]});
    cells.forEach(function (c) { io.observe(c); });
  }
  if (acceptAll) { acceptAll.addEventListener("click", acceptEverything); }
  cells.forEach(function (c, i) { c.addEventListener("focus", function () { current = i; }); });

  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
    var t = ev.target;
    if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT")) { return; }
    var key = ev.key || "", lower = key.toLowerCase();
    if (finished && (key === "Enter" || lower === "n") && nextBatch) {
      if (key !== "Enter" || t !== nextBatch) { ev.preventDefault(); window.location.href = nextBatch.href; }
      return;        // Enter on the focused link follows it by itself
    }
    var i = cells.indexOf(document.activeElement);
    if (i < 0) {
      if (/^Arrow/.test(key) || "hjkl".indexOf(lower) >= 0 && lower.length === 1) { ev.preventDefault(); focusCell(current); }
      return;
    }
    var c = cells[i], id = c.getAttribute("data-id");
    var label = options(c).filter(function (o) { return keyOf(o) === lower; })[0];
    if (label && isOpen(c)) {
      ev.preventDefault();
      if (ev.shiftKey) {
        var p = picked[id] || (picked[id] = []);
        var at = p.indexOf(label);
        if (at >= 0) { p.splice(at, 1); } else { p.push(label); }
        p.sort(function (a, b) { return options(c).indexOf(a) - options(c).indexOf(b); });
        showPicked(c);
      } else { decide(i, label); }
      return;
    }
    var move = {ArrowLeft: -1, h: -1, ArrowRight: 1, l: 1, ArrowUp: -columns(), k: -columns(), ArrowDown: columns(),
                j: columns()}[key.length === 1 ? lower : key];
    if (move) { ev.preventDefault(); focusCell(i + move); return; }
    if (!isOpen(c)) { return; }
    if (key === "0") { ev.preventDefault(); decide(i, ""); }
    else if (key === "Enter") { ev.preventDefault(); decide(i, picked[id] && picked[id].length ? picked[id].join("") : null); }
    else if (key === "Escape") { delete picked[id]; showPicked(c); }
  });

  // cells other judges decided meanwhile: greyed out and skipped before this judge reaches them
  function poll() {
    var open = cells.filter(isOpen);
    if (!open.length || document.hidden) { return; }
    var q = open.map(function (c) { return "flag=" + encodeURIComponent(c.getAttribute("data-id")); }).join("&");
    fetch("/flags/grid/decided?" + q, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : {decided: []}; })
      .then(function (d) {
        (d.decided || []).forEach(function (x) {
          var c = document.getElementById("cell-" + x.id);
          if (!c || !isOpen(c)) { return; }
          setState(c, "taken", "Đã được " + x.who + " quyết định (" + shown(x.value) + "); câu này được bỏ qua.");
          if (document.activeElement === c) {
            var n = nextOpen(cells.indexOf(c));
            if (n >= 0) { focusCell(n); }
          }
        });
        checkDone();
      }, function () { /* offline for a moment: asked again at the next tick */ });
  }
  setInterval(poll, parseInt(grid.getAttribute("data-poll"), 10) || 4000);

  updateAcceptAll();
  if (cells.length) { focusCell(0); }
})();
