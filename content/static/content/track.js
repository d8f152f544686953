// Page-view beacon for the blog (content.views.analytics_event). No cookies: the journey id
// lives in this tab's sessionStorage and ends when the tab closes.
(function () {
  "use strict";
  var el = document.currentScript;
  if (!el || !window.fetch) { return; }
  var key = "bloom-journey";
  var journey = null;
  try {
    journey = window.sessionStorage.getItem(key);
    if (!journey) {
      journey = (window.crypto && window.crypto.randomUUID) ? window.crypto.randomUUID() : String(Date.now()) + "-" + String(Math.random()).slice(2, 10);
      window.sessionStorage.setItem(key, journey);
    }
  } catch (err) { journey = ""; }
  var body = {
    event: el.dataset.event || "page_view",
    category: el.dataset.category || "page_view",
    session_id: journey,
    path: window.location.pathname,
    referrer: document.referrer ? document.referrer.slice(0, 500) : "",
    post_id: el.dataset.postId || null
  };
  fetch(el.dataset.endpoint, {
    method: "POST",
    credentials: "same-origin",
    keepalive: true,
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body)
  }).catch(function () {});
})();
