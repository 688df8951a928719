// Keyboard shortcuts and the CSRF header for htmx requests; no inline scripts (CSP).
(function () {
  "use strict";
  document.addEventListener("htmx:configRequest", function (event) {
    var token = document.body.dataset.csrf;
    if (token) { event.detail.headers["X-CSRF-Token"] = token; }
  });
  function typing(target) {
    var tag = target && target.tagName;
    return tag === "INPUT" && target.type !== "radio" && target.type !== "checkbox"
      || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    var control = document.querySelector('[data-key="' + CSS.escape(event.key) + '"]');
    if (!control) { return; }
    event.preventDefault();
    if (control.type === "radio") {
      // Choosing an outcome only selects it; Enter on the focused Decide button confirms.
      control.checked = true;
      var decide = document.getElementById("decide");
      if (control.value === "not_tvec") {
        document.getElementById("exclusion").focus();
      } else if (decide) {
        decide.focus();
      }
    } else {
      control.click();
    }
  });
})();
