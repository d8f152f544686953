// The menu button on small screens: without JavaScript every link shows; with it, the links fold
// behind one "Menu" button (aria-expanded tells screen readers whether they are open). Escape closes.
(function () {
  var nav = document.querySelector(".nav");
  var toggle = nav && nav.querySelector(".nav-toggle");
  if (!toggle) { return; }
  nav.classList.add("nav-ready");
  toggle.hidden = false;
  function set(open) {
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
    nav.classList.toggle("nav-open", open);
  }
  toggle.addEventListener("click", function () {
    set(toggle.getAttribute("aria-expanded") !== "true");
  });
  nav.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && nav.classList.contains("nav-open")) {
      set(false);
      toggle.focus();
    }
  });
})();
