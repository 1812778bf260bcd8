// Console behaviour that HTMX attributes cannot express. No eval, no inline handlers.
(function () {
  "use strict";
  // A failed HTMX request is not swapped (see htmx-config); say so instead of failing silently.
  document.addEventListener("htmx:responseError", function (event) {
    var box = document.getElementById("request-error");
    if (!box) return;
    var xhr = event.detail.xhr;
    var message = "请求失败（" + xhr.status + "）";
    try {
      var body = JSON.parse(xhr.responseText);
      if (body && body.error && body.error.message) message += "：" + body.error.message;
    } catch (_) { /* an HTML error page: the status is enough */ }
    box.textContent = message;
    box.hidden = false;
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

  function say(message) {
    statusBox.textContent = message;
    statusBox.hidden = false;
    window.clearTimeout(statusTimer);
    statusTimer = window.setTimeout(function () { statusBox.hidden = true; }, 2500);
  }

  function recordFeedback(itemId, action) {
    var results = document.getElementById("suggestions");
    if (!results || !results.dataset.suggestionId) return;
    var body = new URLSearchParams();
    body.set("suggestion_id", results.dataset.suggestionId);
    body.set("item_id", itemId);
    body.set("action", action);
    // keepalive: the agent may close the panel right after copying.
    fetch(results.dataset.feedbackUrl, {
      method: "POST", body: body, keepalive: true, credentials: "same-origin",
      headers: { "HX-Request": "true" }
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
      say("已插入回复草稿");
    } else {
      copy(text).then(function (ok) {
        say(ok ? "已复制" : "复制失败，请手动选择文字复制");
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

  box.addEventListener("keydown", function (event) {
    // Enter while an input method is composing picks a candidate: it must not submit.
    if (event.key !== "Enter" || event.isComposing || event.keyCode === 229) return;
    if (event.shiftKey && !(event.ctrlKey || event.metaKey)) return;
    event.preventDefault();
    form.requestSubmit();
  });
})();
