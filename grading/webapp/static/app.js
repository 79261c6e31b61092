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
