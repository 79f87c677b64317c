// Polls the open-item summary and says when new items arrive, so a console
// left open on the front desk does not sit on a stale queue.
(function () {
  "use strict";
  var notice = document.getElementById("new-items");
  if (!notice) { return; }
  var seen = null;
  function check() {
    fetch("/api/summary.json", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        if (seen !== null && data.new_total > seen) { notice.hidden = false; }
        seen = data.new_total;
      })
      .catch(function () {});
  }
  check();
  setInterval(check, 30000);
})();
