/* Confirming a payment the bank asked about (templates/billing/payment_complete.html). The form
   carries the publishable key, the PaymentIntent's client secret and the return URL in data-
   attributes; Stripe.js itself loads from https://js.stripe.com/v3/ as Stripe requires. */
(function () {
  "use strict";
  var form = document.getElementById("confirm-form");
  var errors = document.getElementById("confirm-errors");
  if (!form) { return; }
  if (typeof Stripe === "undefined") { errors.textContent = "The payment form could not load."; return; }
  var stripe = Stripe(form.dataset.publishableKey);
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    stripe.confirmCardPayment(form.dataset.clientSecret, {return_url: form.dataset.returnUrl}).then(function (result) {
      if (result.error) { errors.textContent = result.error.message; }
      else { window.location = form.dataset.returnUrl; }
    });
  });
})();
