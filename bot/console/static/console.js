// Every signed-in page polls the small summary endpoint (login required) with
// the baseline it was rendered with (the highest item ids and the time): open
// items that arrived since put a count in the tab title, show a notice and, if
// staff turned them on, raise a browser notification (counts only, nothing about
// the person). The crisis banner's count follows the open escalations.
(function () {
  "use strict";
  var body = document.body;
  var summaryUrl = body.dataset.summaryUrl;
  if (!summaryUrl) { return; }
  var POLL_MS = 20000;
  var notice = document.getElementById("new-items");
  var baseTitle = document.title;
  var query = new URLSearchParams({
    after_escalation: body.dataset.afterEscalation || "0",
    after_handoff: body.dataset.afterHandoff || "0",
    after_lead: body.dataset.afterLead || "0",
    since: body.dataset.since || ""
  }).toString();
  var announced = 0;
  var timer = null;

  function plural(n, one, many) { return n + " " + (n === 1 ? one : many); }

  function describe(a) {
    var parts = [];
    if (a.escalation) { parts.push(plural(a.escalation, "crisis escalation", "crisis escalations")); }
    if (a.crisis_updates) { parts.push(plural(a.crisis_updates, "new crisis message", "new crisis messages")); }
    if (a.handoff) { parts.push(plural(a.handoff, "handoff", "handoffs")); }
    if (a.lead) { parts.push(plural(a.lead, "lead", "leads")); }
    return parts.join(", ");
  }

  function notify(a, crisis) {
    if (!("Notification" in window) || Notification.permission !== "granted") { return; }
    try {
      var note = new Notification(crisis ? "Crisis: reach out now" : "New in the inbox", {
        body: describe(a) + " since you opened the console page.",
        tag: "clinic-console",
        requireInteraction: crisis > 0
      });
      note.onclick = function () { window.focus(); window.location.href = body.dataset.inboxUrl; };
    } catch (e) { /* some browsers only allow notifications from a service worker */ }
  }

  function show(data) {
    var a = data.arrived || {};
    var n = data.arrived_total || 0;
    var crisis = (a.escalation || 0) + (a.crisis_updates || 0);
    document.title = n ? "(" + n + ") " + (crisis ? "Crisis · " : "") + baseTitle : baseTitle;
    if (notice && n) {
      notice.hidden = false;
      notice.classList.toggle("notice-crisis", crisis > 0);
      notice.querySelector(".what").textContent = "New since this page opened: " + describe(a) + ".";
    }
    if (n > announced) { notify(a, crisis); }
    announced = n;
    var count = document.getElementById("crisis-count");
    if (count && typeof data.crisis_open === "number") { count.textContent = String(data.crisis_open); }
  }

  function check() {
    fetch(summaryUrl + "?" + query, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (r.status === 401) {
          window.clearInterval(timer);
          if (notice) {
            notice.hidden = false;
            notice.querySelector(".what").textContent = "Your session ended: reload to sign in again.";
          }
          return null;
        }
        return r.ok ? r.json() : null;
      })
      .then(function (data) { if (data) { show(data); } })
      .catch(function () {});
  }

  var enable = document.getElementById("notify-enable");
  if (enable && "Notification" in window && Notification.permission === "default") {
    enable.hidden = false;
    enable.addEventListener("click", function () {
      Notification.requestPermission().then(function () { enable.hidden = true; });
    });
  }

  check();
  timer = window.setInterval(check, POLL_MS);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { check(); } });
})();

// A conversation page follows its conversation: new messages (the person's
// replies during a takeover, staff messages, the crisis reply) are appended as
// they arrive; a change of who holds it asks for a reload.
(function () {
  "use strict";
  var live = document.getElementById("live-transcript");
  if (!live) { return; }
  var POLL_MS = 2000;
  var url = live.dataset.url;
  var cursor = live.dataset.cursor || "0";
  var hold = document.getElementById("hold-state");
  var baseTitle = document.title;

  function list() {
    var ol = live.querySelector("ol.transcript");
    if (!ol) {
      var empty = live.querySelector(".empty");
      if (empty) { live.removeChild(empty); }
      ol = document.createElement("ol");
      ol.className = "transcript";
      live.appendChild(ol);
    }
    return ol;
  }

  function line(l) {
    var li = document.createElement("li");
    li.className = "msg msg-" + l.speaker +
      (l.kind === "crisis" ? " msg-crisis" : l.kind === "with_staff" ? " msg-receipt" : "");
    li.dataset.event = String(l.event_id);
    var meta = document.createElement("div");
    meta.className = "meta";
    meta.textContent = l.who + " · " + l.at + (l.intent ? " · intent " + l.intent : "") +
      (l.kind && l.speaker === "bot" ? " · " + l.kind : "");
    var text = document.createElement("div");
    text.className = "text";
    text.textContent = l.text;
    li.appendChild(meta);
    li.appendChild(text);
    return li;
  }

  function poll() {
    fetch(url + "?after=" + encodeURIComponent(cursor), {
      credentials: "same-origin", headers: { Accept: "application/json" }
    })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        var ol = data.lines.length ? list() : null;
        data.lines.forEach(function (l) {
          if (ol.querySelector('[data-event="' + l.event_id + '"]')) { return; }
          ol.appendChild(line(l));
          if (l.kind === "crisis") { document.title = "Crisis · " + baseTitle; }
        });
        cursor = String(data.cursor);
        if (hold && (data.held_by || "") !== hold.dataset.held) {
          hold.textContent = data.held_by
            ? data.held_by + " now holds this conversation: reload the page to reply."
            : "The assistant answers this conversation again: reload the page.";
          hold.dataset.held = data.held_by || "";
        }
      })
      .catch(function () {});
  }
  window.setInterval(poll, POLL_MS);
})();
