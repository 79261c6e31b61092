// Typing in a handwritten entry: the one answers box fills the per-question boxes as the judge types (one key
// per question; "-", "0", "." or a space for a blank), marking a key that is no option of its question. Tab and
// Enter are the browser's own (next field, send the form). Plain JS, no libraries.
(function () {
  "use strict";
  var input = document.getElementById("answers");
  var boxes = document.querySelectorAll("#answer-boxes li");
  var count = document.getElementById("answers-count");
  if (!input || !boxes.length) { return; }
  var BLANK = "-0. ";
  function update() {
    var text = input.value;
    for (var i = 0; i < boxes.length; i++) {
      var box = boxes[i], out = box.querySelector(".qa"), key = text.charAt(i);
      box.classList.remove("filled", "blank", "invalid", "current");
      if (i >= text.length) {
        out.textContent = "";
        if (i === text.length) { box.classList.add("current"); }
        continue;
      }
      if (BLANK.indexOf(key) >= 0) { out.textContent = "–"; box.classList.add("blank"); continue; }
      var letter = key.toUpperCase();
      out.textContent = letter;
      box.classList.add(box.getAttribute("data-letters").indexOf(letter) >= 0 ? "filled" : "invalid");
    }
    if (count) { count.textContent = Math.min(text.length, boxes.length) + "/" + boxes.length; }
  }
  input.addEventListener("input", update);
  update();
})();
