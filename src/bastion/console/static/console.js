// Keyboard shortcuts, the CSRF header for htmx requests, and visible htmx errors; no inline
// scripts (the CSP forbids them).
(function () {
  "use strict";
  document.addEventListener("htmx:configRequest", function (event) {
    var token = document.body.dataset.csrf;
    if (token) { event.detail.headers["X-CSRF-Token"] = token; }
  });
  // htmx swaps nothing on a 4xx/5xx; show the error page's message instead of failing silently.
  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    var page = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
    var found = page.querySelector(".error");
    var message = found ? found.textContent : "The request failed (" + xhr.status + ").";
    var box = document.getElementById("flash");
    if (!box) {
      box = document.createElement("p");
      box.id = "flash";
      box.className = "error";
      box.setAttribute("role", "alert");
      document.getElementById("main").prepend(box);
    }
    box.textContent = message + " Reload the page to see the case as it is now.";
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
  // Removal-order countdowns tick every second from the deadline the server rendered.
  function tick() {
    var now = Date.now();
    document.querySelectorAll("time.countdown[data-deadline]").forEach(function (el) {
      var left = Math.round((Date.parse(el.dataset.deadline) - now) / 1000);
      if (left >= 0) {
        var seconds = left % 60;
        el.textContent = Math.floor(left / 60) + ":" + (seconds < 10 ? "0" : "") + seconds + " left";
      } else {
        el.textContent = "overdue by " + Math.floor(-left / 60) + " min";
        el.classList.add("overdue");
      }
    });
  }
  if (document.querySelector("time.countdown")) {
    tick();
    setInterval(tick, 1000);
  }
})();
