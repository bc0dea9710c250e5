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
