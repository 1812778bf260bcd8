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
    // A refused rating is said beside its answer (the assist panel's code below).
    var elt = event.detail.elt;
    if (!box || (elt && elt.closest && elt.closest("form.rate"))) return;
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
  // Feedback already sent: Alt+1 held down or pressed again copies again but reports once, so
  // keys pressed as fast as a person can never spend the per-minute request limit.
  var reported = new Set();

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
    var once = [results.dataset.suggestionId, itemId, action].join(" ");
    if (reported.has(once)) return;
    reported.add(once);
    var body = new URLSearchParams();
    body.set("suggestion_id", results.dataset.suggestionId);
    body.set("item_id", itemId);
    body.set("action", action);
    // keepalive: the agent may close the panel right after copying.
    fetch(results.dataset.feedbackUrl, {
      method: "POST", body: body, keepalive: true, credentials: "same-origin",
      headers: { "HX-Request": "true", "X-CSRF-Token": csrfToken(), "X-Embed-Token": embedToken() }
    }).then(function (response) {
      if (response.ok) return;
      reported.delete(once);  // not recorded: the next copy reports it again
      return response.text().then(function (text) {
        var actions = itemActions(itemId);
        if (actions) showRefused(actions, refusedReason(response.status, text));
      });
    }).catch(function () { /* offline: feedback is best effort; the reply is what matters */ });
  }

  function itemActions(itemId) {
    var buttons = document.querySelectorAll("#suggestions [data-assist][data-item-id]");
    for (var i = 0; i < buttons.length; i++) {
      if (buttons[i].dataset.itemId === itemId) return buttons[i].closest(".item-actions");
    }
    return null;
  }

  // Feedback the server refused (an item that suggestion no longer offers, 429, an expired
  // CSRF token) is said beside the item, never dropped silently: the agent must not take it
  // for recorded. The buttons stay, to try again. Text only, never markup.
  function refusedReason(status, text) {
    var reason = "";
    try {
      var body = JSON.parse(text);
      reason = (body && body.error && body.error.message) || "";
    } catch (_) {
      var page = new DOMParser().parseFromString(text, "text/html");
      var said = page.querySelector(".rate-refused");
      if (said && said.textContent) return said.textContent.trim();
      var shown = page.querySelector("#error p");
      reason = shown ? shown.textContent.trim() : "";
    }
    return reason ? t("未记录：{reason}").replace("{reason}", reason)
      : t("未记录（{status}）").replace("{status}", status);
  }

  function showRefused(item, message) {
    var notice = item.querySelector(".rate-refused");
    if (!notice) {
      notice = document.createElement("p");
      notice.className = "rate-refused";
      notice.setAttribute("role", "alert");
      item.appendChild(notice);
    }
    notice.textContent = message;
  }

  // A rating refused by the feedback route comes back as the thumbs with the reason
  // (X-Feedback-Refused): shown in place. Any other error answer (429, 403) keeps the thumbs
  // and says why beside them.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var elt = event.detail.elt;
    var rate = elt && elt.closest ? elt.closest("form.rate") : null;
    var xhr = event.detail.xhr;
    if (!rate || xhr.status < 400) return;
    if (xhr.getResponseHeader("X-Feedback-Refused")) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
      return;
    }
    event.detail.shouldSwap = false;
    showRefused(rate, refusedReason(xhr.status, xhr.responseText));
  });

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

  // Live fields ask when the agent pauses or ends a sentence, never while an input method is
  // composing (the box then holds pinyin or zhuyin, not words). PAUSE_MS is longer than the gap
  // between keys of a word and shorter than a pause to think (README, "Assist panel and
  // console"); MIN_GAP_MS spaces every request of the live forms, so however fast the keys come
  // they ask at most 60000 / MIN_GAP_MS times a minute, under KB_RATE_LIMIT_USER_PER_MINUTE.
  var PAUSE_MS = 600;
  var MIN_GAP_MS = 500;
  // 。？！?!.… or a line break, then perhaps closing quotes or brackets and spaces.
  var SENTENCE_END = /[\u3002\uff1f\uff01?!.\u2026\n][\u201d\u2019"'\uff09)\u300d\u300f\]]*[ \t]*$/;
  var asked = new Map();  // live field -> the text its form last sent (or had on the page)
  var composing = new Set();  // live fields an input method is composing in
  var lastSent = -Infinity;
  var waiting = [];  // requests waiting for MIN_GAP_MS, oldest first
  var pumping = 0;  // the timer that sends the first of them
  var OPENING_WAIT_MS = 3000;
  var opening = null;  // xhr of the suggest request in flight that opens a draft (see blocked)
  var openingSince = 0;
  var sending = null;  // the request htmx is configuring now (see htmx:configRequest)
  var finals = 0;  // final requests asked so far (see htmx:afterRequest)
  var finalsAt = new WeakMap();  // xhr of a typed request -> finals when it left
  var sentText = new WeakMap();  // xhr -> the live field's text it sent

  function liveField(elt) {
    return elt && elt.tagName === "FORM" ? elt.querySelector("[data-live]") : null;
  }

  document.querySelectorAll("[data-live]").forEach(function (field) {
    var timer = 0;
    asked.set(field, field.value);
    function ask() {
      timer = 0;
      if (field.value !== asked.get(field)) field.form.dispatchEvent(new CustomEvent("assist:typed"));
    }
    function typed(event) {
      window.clearTimeout(timer);  // a pause that ends in pinyin is no pause in the words
      timer = 0;
      if (event.type === "compositionend") composing.delete(field);
      if (event.isComposing || composing.has(field)) return;
      if (field.value === asked.get(field)) return;  // e.g. a letter typed and deleted again
      timer = window.setTimeout(ask, SENTENCE_END.test(field.value) ? 0 : PAUSE_MS);
    }
    field.addEventListener("compositionstart", function (event) {
      composing.add(field);
      typed(event);
    });
    field.addEventListener("input", typed);
    field.addEventListener("compositionend", typed);
    field.form.addEventListener("htmx:beforeRequest", function (event) {
      var text = event.detail.requestConfig.parameters[field.name];
      sentText.set(event.detail.xhr, text);
      asked.set(field, text);
      if (text === field.value) {  // else the newer words still wait for their pause
        window.clearTimeout(timer);
        timer = 0;
      }
    });
  });

  // Every request of a live form leaves at least MIN_GAP_MS after the one before, typed, Enter
  // or a click alike. A waiting typed request gives way to any newer one of its form; a final
  // one (Enter, the script switch) keeps its place and the text the box held when it was asked.
  //
  // One suggest request is never aborted: the first draft of a message, whose answer names the
  // row of the suggestion log that later drafts overwrite (aborted, it would run on the server
  // all the same and leave a row nobody overwrites). Requests of that form wait for its answer,
  // for OPENING_WAIT_MS at most: a server that does not answer must not stall the panel.
  function blocked(request) {
    return request.elt === form && opening !== null && openingWait() > 0;
  }
  function openingWait() {
    return openingSince + OPENING_WAIT_MS - performance.now();
  }
  function pump() {
    window.clearTimeout(pumping);
    pumping = 0;
    var next = waiting.findIndex(function (w) { return !blocked(w); });
    if (next < 0) {  // the opening draft's answer pumps again (htmx:afterRequest)
      if (waiting.length) pumping = window.setTimeout(pump, openingWait());
      return;
    }
    var wait = lastSent + MIN_GAP_MS - performance.now();
    if (wait > 0) {
      pumping = window.setTimeout(pump, wait);
      return;
    }
    sending = waiting.splice(next, 1)[0];
    lastSent = performance.now();
    sending.issue(true);  // true: past htmx:confirm, straight to the request
    if (waiting.length) pumping = window.setTimeout(pump, MIN_GAP_MS);
  }
  document.addEventListener("htmx:confirm", function (event) {
    var elt = event.detail.elt;
    var field = liveField(elt);
    if (!field) return;
    var trigger = event.detail.triggeringEvent;
    var request = {
      elt: elt,
      issue: event.detail.issueRequest,
      typed: Boolean(trigger && trigger.type === "assist:typed"),
      text: null,  // a typed request sends what the box holds when it leaves
      supersedes: null,
    };
    if (!request.typed) {
      request.text = field.value;
      if (elt === form) {
        // A final request ends the draft the moment it is asked: nothing typed after it may
        // overwrite that row, even if this request is aborted before the server has it.
        request.supersedes = draftId;
        request.awaits = draftId ? null : opening;  // the draft's id is on its way
        draftId = "";
        finals += 1;
      }
    }
    waiting = waiting.filter(function (w) {
      if (w.elt !== elt) return true;
      if (w.typed) return false;
      if (w.text !== request.text) return true;
      if (!request.supersedes) request.supersedes = w.supersedes;  // the same final, again
      return false;
    });
    if (!waiting.length && !blocked(request) && lastSent + MIN_GAP_MS <= performance.now()) {
      lastSent = performance.now();
      sending = request;
      return;
    }
    event.preventDefault();
    waiting.push(request);
    pump();
  });

  // What the request sends: a final one its text, the suggest form the draft it may overwrite
  // (see kb.assist.suggest._log). A request that would send half-composed pinyin is dropped;
  // the end of the composition asks again.
  document.addEventListener("htmx:configRequest", function (event) {
    var elt = event.detail.elt;
    var field = liveField(elt);
    if (!field) return;
    var request = sending && sending.elt === elt ? sending : null;
    sending = null;
    var params = event.detail.parameters;
    if (request && request.text !== null) {
      params[field.name] = request.text;
    } else if (composing.has(field)) {
      event.preventDefault();
      asked.set(field, null);
      return;
    }
    if (elt === form) params.supersedes = request && !request.typed ? request.supersedes : draftId;
  });

  // A newer request aborts the one in flight (hx-sync "this:replace"); and an answer is shown
  // only for the text the box holds when it arrives. The suggest response names the text it
  // answers (X-Suggestion-For, see textTag); any other answer's request recorded its text.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var field = liveField(event.detail.requestConfig && event.detail.requestConfig.elt);
    if (!field) return;
    var xhr = event.detail.xhr;
    var answered = xhr.getResponseHeader("X-Suggestion-For");
    var current = answered === null ? sentText.get(xhr) === field.value
      : answered === textTag(field.value);
    if (current) return;
    event.detail.shouldSwap = false;
    asked.set(field, null);  // the box's text is not on screen: its next change must ask
  });

  // FNV-1a over UTF-16 code units, then the length: web/pages/assist.py computes the same.
  function textTag(text) {
    var hash = 0x811c9dc5;
    for (var i = 0; i < text.length; i++) {
      hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193);
    }
    return ("0000000" + (hash >>> 0).toString(16)).slice(-8) + "-" + text.length;
  }

  // A suggestion made while the agent was still typing is a draft: the next request tells the
  // server to overwrite it in the log (see kb.assist.suggest._log). Pressing Enter, switching
  // script or acting on a suggestion makes it final. The server also refuses to overwrite old or
  // rated ones. The id comes from the response's X-Suggestion-Id header as soon as it arrives,
  // also when the answer is not shown (the box moved on): its row is the draft to overwrite,
  // unless a final request was asked since it left. An aborted request (status 0) never told
  // its id, so the draft stays the one known before.
  function typedRequest(config) {
    return Boolean(config.triggeringEvent && config.triggeringEvent.type === "assist:typed");
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    var config = event.detail.requestConfig;
    if (event.detail.elt === form) {
      finalsAt.set(event.detail.xhr, finals);
      if (typedRequest(config) && !config.parameters.supersedes) {
        opening = event.detail.xhr;
        openingSince = performance.now();
      }
    }
    if (event.detail.elt.closest("#suggestions")) draftId = "";  // a thumb
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var config = event.detail.requestConfig;
    var xhr = event.detail.xhr;
    if (!config || config.elt !== form) return;
    if (xhr === opening) {
      opening = null;
      var opened = xhr.getResponseHeader("X-Suggestion-Id") || "";
      waiting.forEach(function (w) { if (w.awaits === xhr) w.supersedes = opened; });
      window.setTimeout(pump, 0);
    }
    if (xhr.status === 0) return;
    var typed = typedRequest(config);
    if (!typed) draftId = "";
    else if (finalsAt.get(xhr) === finals) draftId = xhr.getResponseHeader("X-Suggestion-Id") || "";
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

// --- Cited sources in the panel (/assist/sources/…) ----------------------------------------
// A citation loads its passage as a <dialog> at the end of <body> (web/templates/source.html):
// shown modal over the panel, inside an embedding CRM's iframe too, closed by its button or Esc
// and then removed; one open at a time.
(function () {
  "use strict";
  document.addEventListener("htmx:load", function (event) {
    var dialog = event.target;
    if (!(dialog instanceof HTMLDialogElement) || !dialog.classList.contains("source-dialog")) return;
    document.querySelectorAll("dialog.source-dialog").forEach(function (other) {
      if (other !== dialog) other.remove();
    });
    dialog.addEventListener("close", function () { dialog.remove(); });
    if (!dialog.open) dialog.showModal();
    var current = dialog.querySelector(".source-passage.current");
    if (current) current.scrollIntoView({ block: "center" });
  });
})();
