// Live updates: the page listens to /events (server-sent events of the agent's tenant)
// and reloads the part it shows when something in it changed, unless the agent is typing.
(function () {
  // SLA countdowns: every element with data-due says how long is left, each 20 seconds.
  var countdown = function () {
    document.querySelectorAll("[data-due]").forEach(function (el) {
      var left = Math.round((Date.parse(el.dataset.due) - Date.now()) / 60000);
      var words = Math.abs(left) < 90 ? Math.abs(left) + " min" : Math.round(Math.abs(left) / 60) + " h";
      el.textContent = (el.classList.contains("sla") ? "SLA " : "") + (left >= 0 ? "in " + words : words + " ago");
      if (left < 0) el.classList.add("breached");
    });
  };
  setInterval(countdown, 20000);
  var live = document.body.dataset.live;
  if (!live || !window.EventSource) return;
  var typing = function () {
    var a = document.activeElement;
    return a && (a.tagName === "TEXTAREA" || a.tagName === "INPUT") && a.value;
  };
  var refresh = function () {
    if (typing()) return;
    fetch(location.href, { credentials: "same-origin" }).then(function (r) { return r.text(); }).then(function (html) {
      var doc = new DOMParser().parseFromString(html, "text/html");
      var next = doc.getElementById("main");
      if (next) document.getElementById("main").innerHTML = next.innerHTML;
      document.body.dataset.refreshed = String(Number(document.body.dataset.refreshed || 0) + 1);
    });
  };
  var source = new EventSource("/events");
  source.addEventListener("inbox", function () { if (live === "inbox" || live === "outbox") refresh(); });
  source.addEventListener("conversation", function (e) {
    if (live === "inbox" || live === "outbox" || e.data === live) refresh();
  });
})();
