// Console behaviour that HTMX attributes cannot express. No eval, no inline handlers.
function embedToken() {
  var meta = document.querySelector('meta[name="embed-token"]');
  return meta ? meta.content : "";
}

// The page's own strings in its language: base.html hands them over as JSON in a <meta>
// (web/i18n.py extracts every t("…") of this file for the catalogues). Unknown text shows as
// written.
var uiMessages = null;
function t(text) {
  if (uiMessages === null) {
    var data = document.querySelector('meta[name="ui-messages"]');
    try {
      uiMessages = data ? JSON.parse(data.content) : {};
    } catch (_) {
      uiMessages = {};
    }
  }
  return Object.prototype.hasOwnProperty.call(uiMessages, text) ? uiMessages[text] : text;
}

(function () {
  "use strict";
  // A failed HTMX request is not swapped (see htmx-config); say so instead of failing silently.
  document.addEventListener("htmx:responseError", function (event) {
    var box = document.getElementById("request-error");
    if (!box) return;
    var xhr = event.detail.xhr;
    var message = t("请求失败（{status}）").replace("{status}", xhr.status);
    try {
      var body = JSON.parse(xhr.responseText);
      if (body && body.error && body.error.message) message += t("：") + body.error.message;
    } catch (_) {
      // An HTML error page: its message (parsed inertly, never inserted as markup).
      var page = new DOMParser().parseFromString(xhr.responseText, "text/html");
      var text = page.querySelector("#error p");
      if (text && text.textContent) message += t("：") + text.textContent;
    }
    box.textContent = message;
    box.hidden = false;
  });
  // An embedded panel has no cookie (web/embed.py): its token rides on every HTMX request.
  document.addEventListener("htmx:configRequest", function (event) {
    var token = embedToken();
    if (token) event.detail.headers["X-Embed-Token"] = token;
    // A fragment comes back in the page's language, whatever the cookie (web/i18n.py).
    event.detail.headers["X-UI-Language"] = document.documentElement.lang;
  });
  document.addEventListener("htmx:beforeRequest", function () {
    var box = document.getElementById("request-error");
    if (box) box.hidden = true;
  });
})();

// --- Assist panel (/assist) ----------------------------------------------------------------
// Copy / insert a reply, one-click feedback, keyboard shortcuts. Text is read from the DOM
// (textContent), never put into markup, so nothing the knowledge base holds can run here.
(function () {
  "use strict";
  var form = document.getElementById("assist-form");
  if (!form) return;
  var box = document.getElementById("assist-conversation");
  var draft = document.getElementById("assist-reply");
  var statusBox = document.getElementById("assist-status");
  var statusTimer = 0;
  var draftId = "";  // the suggestion on screen, while it is a draft (see configRequest below)

  function say(message) {
    statusBox.textContent = message;
    statusBox.hidden = false;
    window.clearTimeout(statusTimer);
    statusTimer = window.setTimeout(function () { statusBox.hidden = true; }, 2500);
  }

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  function recordFeedback(itemId, action) {
    var results = document.getElementById("suggestions");
    if (!results || !results.dataset.suggestionId) return;
    draftId = "";  // acted on: no longer a draft
    var body = new URLSearchParams();
    body.set("suggestion_id", results.dataset.suggestionId);
    body.set("item_id", itemId);
    body.set("action", action);
    // keepalive: the agent may close the panel right after copying.
    fetch(results.dataset.feedbackUrl, {
      method: "POST", body: body, keepalive: true, credentials: "same-origin",
      headers: { "HX-Request": "true", "X-CSRF-Token": csrfToken(), "X-Embed-Token": embedToken() }
    }).catch(function () { /* feedback is best effort; the reply is what matters */ });
  }

  function copyFallback(text) {
    // Clipboard API needs a secure context (and clipboard-write in an iframe): fall back.
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.top = "-1000px";
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (_) { ok = false; }
    document.body.removeChild(area);
    return ok;
  }

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).then(
        function () { return true; },
        function () { return copyFallback(text); }
      );
    }
    return Promise.resolve(copyFallback(text));
  }

  function insert(text) {
    draft.value = text;
    draft.focus();
    if (window.parent !== window) {
      window.parent.postMessage({ type: "assistkb:insert", text: text }, "*");
    }
  }

  function act(button) {
    var source = document.getElementById(button.dataset.text);
    if (!source) return;
    var text = source.textContent.trim();
    var itemId = button.dataset.itemId;
    if (button.dataset.assist === "insert") {
      insert(text);
      recordFeedback(itemId, "inserted");
      say(t("已插入回复草稿"));
    } else {
      copy(text).then(function (ok) {
        say(ok ? t("已复制") : t("复制失败，请手动选择文字复制"));
        if (ok) recordFeedback(itemId, "copied");
      });
    }
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-assist]");
    if (button) act(button);
  });

  function replyButton(n, kind) {
    var replies = document.querySelectorAll("#suggestions .replies .reply");
    var reply = replies[n];
    return reply ? reply.querySelector('[data-assist="' + kind + '"]') : null;
  }

  function typing(target) {
    return target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName);
  }

  document.addEventListener("keydown", function (event) {
    if (event.altKey && !event.ctrlKey && !event.metaKey) {
      // event.code, not key: Alt+1 types "¡" on a Mac keyboard.
      var digit = /^Digit([1-3])$/.exec(event.code);
      var button = digit ? replyButton(Number(digit[1]) - 1, "copy")
        : event.code === "KeyI" ? replyButton(0, "insert") : null;
      if (digit || event.code === "KeyI") event.preventDefault();
      if (button) act(button);
      return;
    }
    if (event.key === "/" && !typing(event.target) && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      box.focus();
      box.select();
    }
  });

  // Live fields ask as the agent types, but not while an input method is composing: the box
  // then holds pinyin or zhuyin, not words, and each key of it would cost a request. The form's
  // hx-trigger listens for "assist:typed" (with a short delay) instead of raw input events.
  document.querySelectorAll("[data-live]").forEach(function (field) {
    var sent = field.value;
    function typed(event) {
      if (event.isComposing || field.value === sent) return;
      sent = field.value;
      field.form.dispatchEvent(new CustomEvent("assist:typed"));
    }
    field.addEventListener("input", typed);
    field.addEventListener("compositionend", typed);
  });

  // A suggestion made while the agent was still typing is a draft: the next request tells the
  // server to overwrite it in the log (see kb.assist.suggest._log). Pressing Enter, switching
  // script or acting on a suggestion makes it final. The server also refuses to overwrite old or
  // rated ones. The id comes from the response's X-Suggestion-Id header, as soon as it arrives:
  // a request queued behind it (hx-sync) is sent right after the swap, before the settle, and
  // until then the swapped-in block still wears the old one's attributes. Read at send time
  // (configRequest), so a request always names the suggestion that was on screen when it left.
  document.addEventListener("htmx:configRequest", function (event) {
    if (event.detail.elt === form) event.detail.parameters.supersedes = draftId;
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var config = event.detail.requestConfig;
    if (!config || config.elt !== form) return;
    var typed = config.triggeringEvent && config.triggeringEvent.type === "assist:typed";
    draftId = typed ? event.detail.xhr.getResponseHeader("X-Suggestion-Id") || "" : "";
  });
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.elt.closest("#suggestions")) draftId = "";  // a thumb
  });

  box.addEventListener("keydown", function (event) {
    // Enter while an input method is composing picks a candidate: it must not submit.
    if (event.key !== "Enter" || event.isComposing || event.keyCode === 229) return;
    if (event.shiftKey && !(event.ctrlKey || event.metaKey)) return;
    event.preventDefault();
    form.requestSubmit();
  });
})();

// --- Analytics period (/kb/analytics) ------------------------------------------------------
// A preset range applies at once; a custom one once both dates are complete (a date input's value
// stays "" until it is), so nobody is told "choose a date" before having had the chance; typing a
// date means a custom range. The form is never swapped (see analytics.html), so each date field's
// invalid state follows the message that the response put next to it.
(function () {
  "use strict";
  var form = document.getElementById("period");
  if (!form) return;
  var range = form.elements.namedItem("range");
  var dates = [form.elements.namedItem("start"), form.elements.namedItem("end")];

  form.addEventListener("change", function (event) {
    if (dates.indexOf(event.target) >= 0) range.value = "custom";
    var complete = dates.every(function (field) { return field.value !== ""; });
    if (range.value !== "custom" || complete) form.dispatchEvent(new CustomEvent("period:chosen"));
  });

  // afterSettle, not afterSwap: until it settles, a swapped-in message wears the old one's class.
  document.addEventListener("htmx:afterSettle", function (event) {
    var config = event.detail.requestConfig;
    if (!config || config.elt !== form) return;
    dates.forEach(function (field) {
      var message = document.getElementById(field.id + "-msg");
      var invalid = Boolean(message && message.classList.contains("field-error"));
      field.closest(".field").classList.toggle("invalid", invalid);
      if (invalid) field.setAttribute("aria-invalid", "true");
      else field.removeAttribute("aria-invalid");
    });
  });
})();
