// Typing in a handwritten entry: the one answers box fills the per-question boxes as the judge types (one key
// per question; "-", "0", "." or a space for a blank; "[AB]" or "(AB)" when the entrant chose several options),
// marking a key that is no option of its question. Tab and Enter are the browser's own (next field, send the
// form). Plain JS, no libraries.
(function () {
  "use strict";
  var input = document.getElementById("answers");
  var boxes = document.querySelectorAll("#answer-boxes li");
  var count = document.getElementById("answers-count");
  if (!input || !boxes.length) { return; }
  var BLANK = "-0. ", CLOSE = { "[": "]", "(": ")" };
  // the typed text as one token per question: {text, group, open} (open: a group not closed yet)
  function tokens(text) {
    var out = [], i = 0;
    while (i < text.length) {
      var c = text.charAt(i);
      if (!CLOSE[c]) { out.push({ text: c, group: false, open: false }); i += 1; continue; }
      var end = text.indexOf(CLOSE[c], i + 1);
      if (end < 0) { out.push({ text: text.slice(i + 1), group: true, open: true }); break; }
      out.push({ text: text.slice(i + 1, end), group: true, open: false });
      i = end + 1;
    }
    return out;
  }
  function valid(tok, letters) {
    if (!tok.group) { return letters.indexOf(tok.text.toUpperCase()) >= 0; }
    var t = tok.text.replace(/\s/g, "").toUpperCase();
    if (!t.length) { return false; }
    for (var k = 0; k < t.length; k++) { if (letters.indexOf(t.charAt(k)) < 0) { return false; } }
    return true;
  }
  function update() {
    var toks = tokens(input.value), last = toks[toks.length - 1];
    var next = last && last.open ? -1 : toks.length;      // the box the next key fills (none inside a group)
    for (var i = 0; i < boxes.length; i++) {
      var box = boxes[i], out = box.querySelector(".qa"), tok = toks[i];
      box.classList.remove("filled", "blank", "invalid", "current");
      if (!tok) {
        out.textContent = "";
        if (i === next) { box.classList.add("current"); }
        continue;
      }
      if (!tok.group && BLANK.indexOf(tok.text) >= 0) { out.textContent = "–"; box.classList.add("blank"); continue; }
      out.textContent = tok.text.replace(/\s/g, "").toUpperCase();
      if (tok.open) { box.classList.add("current"); continue; }
      box.classList.add(valid(tok, box.getAttribute("data-letters")) ? "filled" : "invalid");
    }
    if (count) { count.textContent = Math.min(toks.length, boxes.length) + "/" + boxes.length; }
  }
  input.addEventListener("input", update);
  update();
})();
