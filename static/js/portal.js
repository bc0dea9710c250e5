// Progressive enhancement only: every page works without this script.
document.addEventListener("DOMContentLoaded", function () {
  // Move focus to the error summary so keyboard and screen-reader users hear it first; or, on a
  // page whose step asks to confirm a change (the same form shown again below it), to that
  // confirmation, rather than leave them at the top to meet the form again before it.
  var summary = document.getElementById("error-summary") || document.getElementById("confirm-summary");
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

// A file larger than its input allows (data-max-bytes) is refused before it is sent, when it
// is chosen and when its form is sent: on a slow connection its upload would take minutes,
// only for the portal to refuse it then. The refusal is the one the portal gives
// (data-too-large, "{size}" standing for the file's size in MB), at the field and in an
// error summary as the page would show them (includes/field.html, includes/form_errors.html),
// with the words of the form's status (.form-sending). The portal checks the size again.
(function () {
  var MB = 1024 * 1024;
  function refusal(input) {
    var max = parseInt(input.getAttribute("data-max-bytes"), 10);
    var file = input.files && input.files[0];
    if (!max || !file || file.size <= max) { return null; }
    return (input.getAttribute("data-too-large") || "").replace("{size}", (file.size / MB).toFixed(1));
  }
  function words(form, name) {
    var status = form && form.querySelector(".form-sending");
    return (status && status.getAttribute(name)) || "";
  }
  function described(input, id, on) {
    var ids = (input.getAttribute("aria-describedby") || "").split(" ").filter(function (x) { return x && x !== id; });
    if (on) { ids.push(id); }
    if (ids.length) { input.setAttribute("aria-describedby", ids.join(" ")); } else { input.removeAttribute("aria-describedby"); }
  }
  // The refusal at the field, or none (a refusal of the page's own, from the portal, stays).
  function showAt(input, message) {
    var id = input.id + "_error";
    var error = document.getElementById(id);
    var field = input.closest(".mb-3") || input.parentNode;
    if (!message) {
      if (error && error.hasAttribute("data-portal-checked")) {
        error.remove();
        input.removeAttribute("aria-invalid");
        input.classList.remove("is-invalid");
        field.classList.remove("has-error");
        described(input, id, false);
      }
      return;
    }
    if (!error) {
      error = document.createElement("div");
      error.id = id;
      error.className = "invalid-feedback d-block";
      var help = document.getElementById(input.id + "_helptext");
      (help || input).insertAdjacentElement("afterend", error);
    }
    error.setAttribute("data-portal-checked", "");
    error.textContent = "";
    var hidden = document.createElement("span");
    hidden.className = "visually-hidden";
    hidden.textContent = words(input.form, "data-error") + " ";
    var text = document.createElement("span");
    text.className = "d-block";
    text.textContent = message;
    error.append(hidden, text);
    input.setAttribute("aria-invalid", "true");
    input.classList.add("is-invalid");
    field.classList.add("has-error");
    described(input, id, true);
  }
  function summarise(form, input, message) {
    var old = document.getElementById("error-summary");
    if (old) { old.remove(); }
    var summary = document.createElement("div");
    summary.className = "alert alert-danger error-summary";
    summary.id = "error-summary";
    summary.setAttribute("role", "alert");
    summary.tabIndex = -1;
    var heading = document.createElement("h2");
    heading.className = "h5";
    heading.textContent = words(form, "data-problem");
    var list = document.createElement("ul");
    list.className = "mb-0";
    var item = document.createElement("li");
    var link = document.createElement("a");
    link.className = "alert-link";
    link.href = "#" + input.id;
    var label = document.querySelector("label[for='" + input.id + "']");
    link.textContent = (label ? label.firstChild.textContent.trim() + ": " : "") + message;
    item.append(link);
    list.append(item);
    summary.append(heading, list);
    form.parentNode.insertBefore(summary, form);
    var word = words(form, "data-error");
    if (word && document.title.indexOf(word) !== 0) { document.title = word + " " + document.title; }
    summary.focus();
  }
  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input.type === "file" && input.hasAttribute("data-max-bytes")) { showAt(input, refusal(input)); }
  });
  // Before the guard against a second sending: a refused form is not being sent.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var inputs = form.querySelectorAll ? form.querySelectorAll("input[type=file][data-max-bytes]") : [];
    for (var i = 0; i < inputs.length; i++) {
      var message = refusal(inputs[i]);
      if (message) {
        event.preventDefault();
        showAt(inputs[i], message);
        summarise(form, inputs[i], message);
        return;
      }
    }
  }, true);
})();

// Changing the language loads the page again in the language chosen: what was typed into
// the page's forms and not yet sent (or sent and shown back with an error) would be lost.
// The switch keeps it in this tab for the page it returns to, which puts it back and says
// so; not a file, a secret or a box that confirms an irreversible action (named so, or marked
// data-portal-confirms by its form: portal.forms.confirming_keys). A confirmation's hidden input
// marked data-portal-kept holds what was typed on the form before it: kept too, for that form,
// where it goes back into the field of its name (a text, a list, or the choice of its value).
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
      var typed = NOT_TYPED.indexOf(field.type) < 0 || (field.type === "hidden" && field.hasAttribute("data-portal-kept"));
      return field.name && !field.disabled && typed && !NOT_RESTORED.test(field.name) &&
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
  function nameKey(form, index, field) {
    return index + " " + (form.getAttribute("action") || "") + " " + field.name;
  }
  function keyOf(form, index, field) {
    var key = nameKey(form, index, field);
    return (field.type === "checkbox" || field.type === "radio") ? key + " " + field.value : key;
  }
  function has(object, key) { return Object.prototype.hasOwnProperty.call(object, key); }
  // What a kept hidden input held, for the field of its name on the page loaded again: a
  // box or a choice is ticked when its value is the one kept; a list chooses it.
  function fromKept(field, value) {
    if (field.type === "checkbox" || field.type === "radio") { return value === field.value; }
    if (field.tagName === "SELECT") { return [value]; }
    return value;
  }

  document.addEventListener("submit", function (event) {
    var language = event.target;
    if (!language.classList || !language.classList.contains("language-switch")) { return; }
    var typed = {};
    pageForms().forEach(function (form, index) {
      typedFields(form).forEach(function (field) { typed[keyOf(form, index, field)] = valueOf(field); });
    });
    // The page it returns to: this one, or the one the switch names (a confirmation shown
    // in answer to a post names the address that shows it again: language_next).
    var pages = [location.pathname + location.search];
    var next = language.querySelector("input[name=next]");
    try {
      var named = new URL(next ? next.value : "", location.href);
      if (named.origin === location.origin) { pages.push(named.pathname + named.search); }
    } catch (e) { /* no address named: this page */ }
    try {
      sessionStorage.setItem(KEY, JSON.stringify({ pages: pages, at: Date.now(), typed: typed }));
    } catch (e) { /* storage full or refused: the page loads again without it */ }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var kept;
    try {
      kept = JSON.parse(sessionStorage.getItem(KEY) || "null");
      sessionStorage.removeItem(KEY);
    } catch (e) { return; }
    if (!kept || !Array.isArray(kept.pages) || kept.pages.indexOf(location.pathname + location.search) < 0 ||
        !(Date.now() - kept.at < KEEP_SECONDS * 1000)) { return; }
    var restored = 0;
    pageForms().forEach(function (form, index) {
      typedFields(form).forEach(function (field) {
        var key = keyOf(form, index, field);
        var named = nameKey(form, index, field);
        var value = has(kept.typed, key) ? kept.typed[key] : has(kept.typed, named) ? kept.typed[named] : undefined;
        if (typeof value === "string" && (key !== named || field.tagName === "SELECT")) { value = fromKept(field, value); }
        if (value !== undefined && put(field, value)) { restored += 1; }
      });
    });
    var notice = document.getElementById("typed-kept");
    if (restored && notice) { notice.className = "alert alert-info"; notice.hidden = false; }
  });
})();

// A control in a table's scrolling box (.table-responsive) that takes focus while partly out of
// the box's sight (a link in the last column of a table wider than a phone) stays cut off, its
// focus ring too: the browser scrolls a focused element into view only when none of it shows.
// The box is scrolled to show it whole, with the room around it for its focus ring (its
// scroll-margin, portal.css).
document.addEventListener("focusin", function (event) {
  var control = event.target;
  var box = control.closest ? control.closest(".table-responsive") : null;
  if (box && box !== control) { control.scrollIntoView({block: "nearest", inline: "nearest"}); }
});
