// Live updates without a full reload: a #live region with data-live="ms" is re-fetched
// (the same URL, with X-Partial: 1) and swapped in. Also: the upload form of the objects page,
// and a confirm() before submitting a form with data-confirm. Pages carry no inline script
// (the Content-Security-Policy forbids it): behaviour lives here.
(function () {
  "use strict";

  function poll(region) {
    var every = parseInt(region.dataset.live, 10);
    var tail = region.dataset.tail === "1";
    function tick() {
      if (document.hidden) { return setTimeout(tick, every); }
      fetch(location.href, {headers: {"X-Partial": "1"}, credentials: "same-origin"})
        .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
        .then(function (html) {
          var doc = new DOMParser().parseFromString(html, "text/html");
          var fresh = doc.getElementById("live");
          var current = document.getElementById("live");
          if (!fresh || !current) { return; }
          var atBottom = window.innerHeight + window.scrollY >= document.body.scrollHeight - 40;
          current.innerHTML = fresh.innerHTML;
          current.dataset.live = fresh.dataset.live || "";
          if (tail && atBottom) { window.scrollTo(0, document.body.scrollHeight); }
          var stamp = document.getElementById("updated");
          if (stamp) { stamp.textContent = "Last updated " + new Date().toLocaleTimeString() + ". Updates every " + every / 1000 + " s."; }
          if (fresh.dataset.live) { setTimeout(tick, every); }
        })
        .catch(function () { setTimeout(tick, every * 2); });
    }
    setTimeout(tick, every);
  }

  function upload(form) {
    var file = document.getElementById("upload-file");
    var key = document.getElementById("upload-key");
    var status = document.getElementById("upload-status");
    var csrf = document.querySelector("main").dataset.csrf;
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var f = file.files[0];
      if (!f) { return; }
      var name = key.value && !key.value.endsWith("/") ? key.value : (key.value || "") + f.name;
      status.textContent = "Uploading " + name + "…";
      fetch(form.dataset.action + "?key=" + encodeURIComponent(name), {
        method: "POST", body: f, credentials: "same-origin",
        headers: {"X-CSRF-Token": csrf, "X-Content-Type": f.type || "", "Content-Type": "application/octet-stream"}
      }).then(function (r) {
        // A refusal before the upload handler (an expired form) is an HTML page: show its text.
        return r.text().then(function (body) {
          if ((r.headers.get("content-type") || "").indexOf("application/json") === 0) {
            return [r.ok, JSON.parse(body)];
          }
          var page = new DOMParser().parseFromString(body, "text/html");
          var text = (page.querySelector("main") || page.body).textContent.replace(/\s+/g, " ").trim();
          return [false, {error: text || "HTTP " + r.status}];
        });
      })
        .then(function (res) {
          status.textContent = res[0] ? "Uploaded " + res[1].key + " (" + res[1].size + " bytes, ETag " + res[1].etag + ")" : "Failed: " + res[1].error;
          status.className = res[0] ? "ok" : "error";
          if (res[0]) { setTimeout(function () { location.reload(); }, 800); }
        })
        .catch(function (e) { status.textContent = "Failed: " + e; status.className = "error"; });
    });
  }

  document.addEventListener("submit", function (ev) {
    var question = ev.target.dataset && ev.target.dataset.confirm;
    if (question && !window.confirm(question)) { ev.preventDefault(); }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var region = document.getElementById("live");
    if (region && region.dataset.live) { poll(region); }
    var form = document.getElementById("upload");
    if (form) { upload(form); }
  });
})();
