/* Messages with the care team (templates/content/chat/messages_thread.html): every 15 seconds
   ask the thread's JSON endpoint for messages newer than the last one shown and add them to the
   list (text only, never HTML). Without JavaScript, reloading the page shows them. The list
   [data-chat-poll] names the URL; [data-chat-after] holds the newest message's time. */
(function () {
  "use strict";
  var list = document.querySelector("[data-chat-poll]");
  if (!list) { return; }
  var url = list.getAttribute("data-chat-poll");
  var after = list.getAttribute("data-chat-after") || "";
  var seconds = 15;

  function add(message) {
    var item = document.createElement("li");
    item.className = "card chat-message chat-" + message.sender;
    var meta = document.createElement("p");
    meta.className = "help";
    var who = document.createElement("strong");
    who.textContent = message.who;
    meta.appendChild(who);
    meta.appendChild(document.createTextNode(" · just now"));
    var body = document.createElement("p");
    body.textContent = message.body;
    item.appendChild(meta);
    item.appendChild(body);
    list.appendChild(item);
  }

  function ask() {
    var query = after ? "?after=" + encodeURIComponent(after) : "";
    fetch(url + query, {credentials: "same-origin", headers: {"Accept": "application/json"}, cache: "no-store"})
      .then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      })
      .then(function (data) {
        data.messages.forEach(function (message) { add(message); after = message.created_at; });
        window.setTimeout(ask, seconds * 1000);
      })
      .catch(function () { window.setTimeout(ask, seconds * 4000); });
  }
  window.setTimeout(ask, seconds * 1000);
})();
