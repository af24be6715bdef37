// docledger's UI: the viewer's box panel and the review queue's keys. User text is only
// ever set with textContent, never as HTML.
"use strict";
(function () {
  const cards = document.getElementById("cards");
  if (cards) {
    const data = JSON.parse(cards.textContent);
    const panel = document.getElementById("panel");
    document.querySelectorAll("rect.seg").forEach(function (rect) {
      rect.addEventListener("click", function () {
        const card = data[rect.dataset.id];
        document.querySelectorAll("rect.seg.selected").forEach(function (r) { r.classList.remove("selected"); });
        rect.classList.add("selected");
        document.getElementById("panel-kind").textContent = card.kind;
        document.getElementById("panel-confidence").textContent =
          card.confidence === null ? "" : "confidence " + card.confidence.toFixed(2);
        document.getElementById("panel-text").textContent = card.text;
        document.getElementById("panel-link").href = "/ui/segments/" + rect.dataset.id;
        panel.hidden = false;
      });
    });
  }
  const queue = document.getElementById("queue");
  if (queue) {
    const items = Array.from(queue.querySelectorAll("li.item"));
    let at = 0;
    function select(i) {
      if (!items.length) return;
      at = Math.max(0, Math.min(items.length - 1, i));
      items.forEach(function (item, j) { item.classList.toggle("current", j === at); });
      items[at].scrollIntoView({ block: "nearest" });
    }
    document.addEventListener("keydown", function (event) {
      if (event.target instanceof HTMLInputElement || event.ctrlKey || event.metaKey || event.altKey) return;
      const item = items[at];
      if (event.key === "j") { select(at + 1); }
      else if (event.key === "k") { select(at - 1); }
      else if (event.key === "a" && item) { const f = item.querySelector("form.accept"); if (f) f.submit(); }
      else if (event.key === "c" && item) {
        const input = item.querySelector("form.correct input[name=text]");
        if (input) { event.preventDefault(); input.focus(); input.select(); }
      } else { return; }
    });
  }
})();
