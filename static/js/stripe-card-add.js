/* Saving a card with Stripe's Payment Element (templates/billing/card_add.html). The form
   carries the publishable key, the SetupIntent's client secret and the return URL in data-
   attributes; Stripe.js itself loads from https://js.stripe.com/v3/ as Stripe requires. */
(function () {
  "use strict";
  var form = document.getElementById("card-form");
  var errors = document.getElementById("card-errors");
  if (!form) { return; }
  if (typeof Stripe === "undefined") { errors.textContent = "The card form could not load."; return; }
  var stripe = Stripe(form.dataset.publishableKey);
  var elements = stripe.elements({clientSecret: form.dataset.clientSecret});
  elements.create("payment").mount("#payment-element");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    stripe.confirmSetup({elements: elements, confirmParams: {return_url: form.dataset.returnUrl}}).then(function (result) {
      if (result.error) { errors.textContent = result.error.message; }
    });
  });
})();
