/* The "payment processing" page (templates/billing/checkout_return.html) asks again every few
   seconds and reloads once the answer is no longer "processing". Without JavaScript the page's
   "Check again" link does the same by hand. The element [data-payment-poll] names the URL to
   ask (the page itself) and the interval in seconds. */
(function () {
  "use strict";
  var box = document.querySelector("[data-payment-poll]");
  if (!box) { return; }
  var url = box.getAttribute("data-payment-poll");
  var seconds = parseInt(box.getAttribute("data-poll-seconds"), 10) || 3;
  var status = box.querySelector("[data-poll-status]");

  function ask() {
    fetch(url, {credentials: "same-origin", headers: {"Accept": "text/html"}, cache: "no-store"})
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.text();
      })
      .then(function (html) {
        if (html.indexOf("data-payment-poll") === -1) { window.location.reload(); return; }
        window.setTimeout(ask, seconds * 1000);
      })
      .catch(function () {
        if (status) { status.textContent = "We could not check just now; we will try again in a moment."; }
        window.setTimeout(ask, seconds * 2000);
      });
  }
  window.setTimeout(ask, seconds * 1000);
})();
