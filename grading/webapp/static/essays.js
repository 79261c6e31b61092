// Essay pages: the running total of the rubric form (accepts 7,5 and 7.5), one submission per click or Enter,
// and "n" on the list page to take the next essay. Plain JS, no libraries.
(function () {
  "use strict";
  function parse(text) {
    var t = (text || "").trim();
    if (!t) { return null; }
    if (t.indexOf(",") >= 0 && t.indexOf(".") < 0 && t.indexOf("/") < 0) { t = t.replace(",", "."); }
    var m = /^(-?\d+)\/(\d+)$/.exec(t);
    if (m) { return Number(m[2]) ? Number(m[1]) / Number(m[2]) : NaN; }
    return /^-?\d*\.?\d+$/.test(t) ? Number(t) : NaN;
  }
  var form = document.getElementById("score-form");
  if (form) {
    var inputs = form.querySelectorAll("input.points");
    var out = document.getElementById("sum");
    var update = function () {
      var sum = 0, complete = true, bad = false;
      for (var i = 0; i < inputs.length; i++) {
        var v = parse(inputs[i].value), max = parse(inputs[i].getAttribute("data-max"));
        if (v === null) { complete = false; continue; }
        if (isNaN(v) || v < 0 || v > max) { bad = true; inputs[i].classList.add("invalid"); continue; }
        inputs[i].classList.remove("invalid");
        sum += v;
      }
      if (out) {
        out.textContent = bad ? "điểm không hợp lệ" : (Math.round(sum * 1000) / 1000).toString().replace(".", ",") +
          (complete ? "" : " (chưa đủ)");
      }
    };
    for (var i = 0; i < inputs.length; i++) { inputs[i].addEventListener("input", update); }
    update();
    form.addEventListener("submit", function (ev) {
      if (form.dataset.sent) { ev.preventDefault(); return; }
      form.dataset.sent = "1";
    });
  }
  var next = document.getElementById("next-form");
  if (next) {
    document.addEventListener("keydown", function (ev) {
      if (ev.ctrlKey || ev.metaKey || ev.altKey) { return; }
      var t = ev.target;
      if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT")) { return; }
      if ((ev.key || "").toLowerCase() === "n" && !next.dataset.sent) {
        ev.preventDefault();
        next.dataset.sent = "1";
        if (next.requestSubmit) { next.requestSubmit(); } else { next.submit(); }
      }
    });
  }
})();
