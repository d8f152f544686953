/* Live preview of an email template in the admin (templates/notifications/admin/emailtemplate_change_form.html):
   each edit of key, subject or bodies posts the form to the preview URL and shows the answer. */
(function () {
  "use strict";
  var box = document.getElementById("live-preview");
  if (!box) { return; }
  var form = box.closest("form");
  var names = ["key", "subject", "text_template", "html_template"];
  var timer = null, sequence = 0;
  function field(name) { return form.querySelector("[name=" + name + "]"); }
  function refresh() {
    var body = new FormData();
    names.forEach(function (name) { var el = field(name); body.append(name, el ? el.value : ""); });
    body.append("csrfmiddlewaretoken", form.querySelector("[name=csrfmiddlewaretoken]").value);
    var mine = ++sequence;
    document.getElementById("live-preview-status").textContent = "Updating…";
    fetch(box.dataset.url, {method: "POST", body: body, credentials: "same-origin"})
      .then(function (response) { return response.json(); })
      .then(function (data) {
        if (mine !== sequence) { return; }
        var errors = document.getElementById("live-preview-errors");
        errors.innerHTML = "";
        data.errors.forEach(function (message) {
          var li = document.createElement("li"); li.textContent = message; errors.appendChild(li);
        });
        errors.hidden = data.errors.length === 0;
        document.getElementById("live-preview-subject").textContent = data.subject;
        document.getElementById("live-preview-html").srcdoc = data.html;
        document.getElementById("live-preview-text").textContent = data.text || "(no plain-text part)";
        document.getElementById("live-preview-status").textContent =
          data.errors.length ? "Fix the problems listed before saving." : "Preview is up to date.";
      })
      .catch(function () {
        document.getElementById("live-preview-status").textContent = "Could not update the preview.";
      });
  }
  names.forEach(function (name) {
    var el = field(name);
    if (el) { el.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(refresh, 300); }); }
  });
  refresh();
})();
