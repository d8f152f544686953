/* A "Print" button ([data-print-button]) that opens the browser's print dialog. It is hidden
   in the HTML and shown here, so a browser without JavaScript shows no button that does nothing. */
(function () {
  "use strict";
  document.querySelectorAll("[data-print-button]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
})();
