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
