/* Slide player: one slide at a time, arrow keys, counts slides seen and time on the page.
   Without JavaScript every slide is shown and the "Mark complete" form still works. */
(function () {
  "use strict";
  var box = document.querySelector("[data-slides]");
  var form = document.querySelector("[data-progress-form]");
  var slides = box ? Array.prototype.slice.call(box.querySelectorAll(".slide")) : [];
  var seen = {};
  var current = 0;
  var activeSince = Date.now();
  var banked = 0;
  var submitted = false;

  function elapsed() {
    var now = Date.now();
    if (!document.hidden) { banked += now - activeSince; }
    activeSince = now;
    return Math.round(banked / 1000);
  }
  function seenList() { return Object.keys(seen).join(","); }

  function show(index) {
    if (!slides.length) { return; }
    current = Math.max(0, Math.min(index, slides.length - 1));
    slides.forEach(function (slide, i) { slide.hidden = i !== current; });
    seen[current] = true;
    var status = document.querySelector("[data-slide-status]");
    if (status) { status.textContent = "Slide " + (current + 1) + " of " + slides.length; }
    document.querySelector("[data-slide-prev]").disabled = current === 0;
    document.querySelector("[data-slide-next]").disabled = current === slides.length - 1;
  }

  if (slides.length) {
    box.classList.add("js-player");
    document.querySelector("[data-slide-controls]").hidden = false;
    var hint = document.querySelector("[data-slide-hint]");
    if (hint) { hint.hidden = false; }
    document.querySelector("[data-slide-prev]").addEventListener("click", function () { show(current - 1); });
    document.querySelector("[data-slide-next]").addEventListener("click", function () { show(current + 1); });
    document.addEventListener("keydown", function (event) {
      var tag = (event.target.tagName || "").toLowerCase();
      if (tag === "input" || tag === "textarea" || tag === "select" || event.altKey || event.ctrlKey || event.metaKey) { return; }
      if (event.key === "ArrowRight" || event.key === "PageDown") { show(current + 1); event.preventDefault(); }
      if (event.key === "ArrowLeft" || event.key === "PageUp") { show(current - 1); event.preventDefault(); }
    });
    show(parseInt(box.getAttribute("data-start"), 10) || 0);
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { elapsed(); } else { activeSince = Date.now(); }
  });

  if (form) {
    form.addEventListener("submit", function () {
      submitted = true;
      form.elements.time_spent_seconds.value = elapsed();
      form.elements.slides_seen.value = seenList();
      form.elements.slide_index.value = current;
    });
    window.addEventListener("pagehide", function () {
      if (submitted || !navigator.sendBeacon) { return; }
      var data = new FormData();
      data.append("csrfmiddlewaretoken", form.elements.csrfmiddlewaretoken.value);
      data.append("time_spent_seconds", elapsed());
      data.append("slides_seen", seenList());
      data.append("slide_index", current);
      navigator.sendBeacon(form.action, data);
      banked = 0;
    });
  }
})();
