// Progressive enhancement only: every page works without this script.
document.addEventListener("DOMContentLoaded", function () {
  // Move focus to the error summary so keyboard and screen-reader users hear it first.
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }

  // The header's "Administration" menu lies over the page: it closes when focus leaves it
  // (so it never hides the element that has focus) and on Escape (focus back on its summary).
  document.querySelectorAll(".nav-more details").forEach(function (menu) {
    menu.addEventListener("focusout", function (event) {
      if (menu.open && !menu.contains(event.relatedTarget)) { menu.open = false; }
    });
    menu.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && menu.open) {
        menu.open = false;
        menu.querySelector("summary").focus();
      }
    });
  });
});

// A form sent with POST is sent once: a second click (a double-click, or an impatient one
// while the answer loads) would send it again, and the page shown would be the answer to
// the second sending (a duplicate's refusal instead of a token shown once, a second draft).
// The form may be sent again after a few seconds (a download leaves the page in place) and
// when the page comes back from the browser's history.
(function () {
  var SENDING = "portalSending";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || (form.getAttribute("method") || "").toLowerCase() !== "post") { return; }
    if (form.dataset[SENDING]) { event.preventDefault(); return; }
    form.dataset[SENDING] = "1";
    setTimeout(function () { delete form.dataset[SENDING]; }, 5000);
  });
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-portal-sending]").forEach(function (form) { delete form.dataset[SENDING]; });
  });
})();
