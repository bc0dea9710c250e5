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
// A form without a file may be sent again after a few seconds (its answer may be a download,
// which leaves the page in place). A form sending a file stays guarded until the page is
// left: on a slow connection its upload takes minutes, and sending it again would abort the
// upload under way and start it from nothing. Its button is disabled and its status
// (.form-sending, whose words the page gives in its language) says the file is being sent.
// Both may be sent again when the page comes back from the browser's history.
(function () {
  var SENDING = "portalSending";
  function sendsAFile(form) {
    return Array.prototype.some.call(form.querySelectorAll("input[type=file]"), function (input) {
      return input.files && input.files.length > 0;
    });
  }
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || (form.getAttribute("method") || "").toLowerCase() !== "post") { return; }
    if (form.dataset[SENDING]) { event.preventDefault(); return; }
    form.dataset[SENDING] = "1";
    if (!sendsAFile(form)) {
      setTimeout(function () { delete form.dataset[SENDING]; }, 5000);
      return;
    }
    var button = event.submitter;
    var status = form.querySelector(".form-sending");
    // After this task: a button disabled now would leave the form's data without it.
    setTimeout(function () {
      if (!form.dataset[SENDING]) { return; }
      if (button) { button.disabled = true; button.setAttribute("data-portal-disabled", ""); }
      if (status) { status.textContent = status.getAttribute("data-sending"); }
    }, 0);
  });
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-portal-sending]").forEach(function (form) { delete form.dataset[SENDING]; });
    document.querySelectorAll("[data-portal-disabled]").forEach(function (button) {
      button.disabled = false;
      button.removeAttribute("data-portal-disabled");
    });
    document.querySelectorAll(".form-sending").forEach(function (status) { status.textContent = ""; });
  });
})();

// Changing the language loads the page again in the language chosen: what was typed into
// the page's forms and not yet sent (or sent and shown back with an error) would be lost.
// The switch keeps it in this tab for the page it returns to, which puts it back and says
// so; not a file, a secret or a box that confirms an irreversible action (named so, or marked
// data-portal-confirms by its form: portal.forms.confirming_keys).
(function () {
  var KEY = "portalTypedAcrossLanguageSwitch";
  var KEEP_SECONDS = 120;
  var NOT_TYPED = ["file", "password", "hidden", "submit", "button", "reset", "image"];
  var NOT_RESTORED = /^(csrfmiddlewaretoken|confirm|confirmed|code|key|otp|otp_code|recovery_code|totp)$|password|secret|token/i;

  function pageForms() {
    return Array.prototype.filter.call(document.querySelectorAll("main form"), function (form) {
      return (form.getAttribute("method") || "").toLowerCase() === "post";
    });
  }
  function typedFields(form) {
    return Array.prototype.filter.call(form.elements, function (field) {
      return field.name && !field.disabled && NOT_TYPED.indexOf(field.type) < 0 && !NOT_RESTORED.test(field.name) &&
        !field.hasAttribute("data-portal-confirms");
    });
  }
  function valueOf(field) {
    if (field.type === "checkbox" || field.type === "radio") { return field.checked; }
    if (field.tagName === "SELECT") {
      return Array.prototype.filter.call(field.options, function (o) { return o.selected; }).map(function (o) { return o.value; });
    }
    return field.value;
  }
  function put(field, value) {
    if (field.type === "checkbox" || field.type === "radio") {
      if (typeof value !== "boolean" || field.checked === value) { return false; }
      field.checked = value;
      return true;
    }
    if (field.tagName === "SELECT") {
      if (!Array.isArray(value) || JSON.stringify(valueOf(field)) === JSON.stringify(value)) { return false; }
      Array.prototype.forEach.call(field.options, function (o) { o.selected = value.indexOf(o.value) >= 0; });
      return true;
    }
    if (typeof value !== "string" || field.value === value) { return false; }
    field.value = value;
    return true;
  }
  // A field is known by its form (its place among the page's forms and the address it is
  // sent to), its name and, for a box or a choice, its value: the page loaded again in
  // another language has the same forms and fields.
  function keyOf(form, index, field) {
    var key = index + " " + (form.getAttribute("action") || "") + " " + field.name;
    return (field.type === "checkbox" || field.type === "radio") ? key + " " + field.value : key;
  }

  document.addEventListener("submit", function (event) {
    var language = event.target;
    if (!language.classList || !language.classList.contains("language-switch")) { return; }
    var typed = {};
    pageForms().forEach(function (form, index) {
      typedFields(form).forEach(function (field) { typed[keyOf(form, index, field)] = valueOf(field); });
    });
    try {
      sessionStorage.setItem(KEY, JSON.stringify({ page: location.pathname + location.search, at: Date.now(), typed: typed }));
    } catch (e) { /* storage full or refused: the page loads again without it */ }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var kept;
    try {
      kept = JSON.parse(sessionStorage.getItem(KEY) || "null");
      sessionStorage.removeItem(KEY);
    } catch (e) { return; }
    if (!kept || kept.page !== location.pathname + location.search || !(Date.now() - kept.at < KEEP_SECONDS * 1000)) { return; }
    var restored = 0;
    pageForms().forEach(function (form, index) {
      typedFields(form).forEach(function (field) {
        var key = keyOf(form, index, field);
        if (Object.prototype.hasOwnProperty.call(kept.typed, key) && put(field, kept.typed[key])) { restored += 1; }
      });
    });
    var notice = document.getElementById("typed-kept");
    if (restored && notice) { notice.className = "alert alert-info"; notice.hidden = false; }
  });
})();
