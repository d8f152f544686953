/* Bloom's two Stripe.js forms; Stripe.js itself loads from https://js.stripe.com/v3/ as Stripe
   requires. Each form carries the publishable key, the client secret and the return URL in data-
   attributes, and shows Stripe's message in its role="alert" paragraph:
   - #card-form (templates/billing/card_add.html) saves a card with the Payment Element and a
     SetupIntent; Stripe returns the member to the return URL;
   - #confirm-form (templates/billing/payment_complete.html) confirms a payment her bank asked
     about, then goes to the return URL. */
(function () {
  "use strict";
  var form = document.querySelector("[data-stripe-form]");
  if (!form) { return; }
  var errors = form.querySelector("[role=alert]");
  if (typeof Stripe === "undefined") { errors.textContent = form.dataset.unavailable; return; }
  var stripe = Stripe(form.dataset.publishableKey);
  var confirm;

  if (form.dataset.stripeForm === "card") {
    var elements = stripe.elements({clientSecret: form.dataset.clientSecret});
    elements.create("payment").mount("#payment-element");
    confirm = function () {
      return stripe.confirmSetup({elements: elements, confirmParams: {return_url: form.dataset.returnUrl}});
    };
  } else {
    confirm = function () {
      return stripe.confirmCardPayment(form.dataset.clientSecret, {return_url: form.dataset.returnUrl}).then(function (result) {
        if (!result.error) { window.location = form.dataset.returnUrl; }
        return result;
      });
    };
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    confirm().then(function (result) {
      if (result && result.error) { errors.textContent = result.error.message; }
    });
  });
})();
