/* A "Copy link" button ([data-copy-target] = the id of a read-only field). It is hidden in the
   HTML and shown here, so a browser without JavaScript (or without a clipboard) shows no button
   that does nothing; the field can still be selected and copied by hand. */
(function () {
  "use strict";
  if (!navigator.clipboard) { return; }
  document.querySelectorAll("[data-copy-target]").forEach(function (button) {
    var field = document.getElementById(button.getAttribute("data-copy-target"));
    if (!field) { return; }
    var label = button.textContent;
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(field.value).then(function () {
        button.textContent = button.getAttribute("data-copied-text") || label;
        window.setTimeout(function () { button.textContent = label; }, 2000);
      }, function (error) {
        // No clipboard for this page: select the text so she can copy it herself.
        console.warn("copy-link: " + error);
        field.focus();
        field.select();
      });
    });
  });
})();
