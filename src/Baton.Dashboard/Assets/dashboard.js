// Baton dashboard: live updates over server-sent events. No framework, no build step.
(function () {
  "use strict";
  var root = document.querySelector("[data-live-run], [data-live-runs]");
  if (!root || !window.EventSource) { return; }
  // The dashboard's URL root as the page was served: /ui, or under the host's path base (/baton/ui).
  var live = document.body.getAttribute("data-dashboard-root") + "/live/runs";

  function setStatus(el, status) {
    if (!el) { return; }
    el.textContent = status;
    el.className = "status status-" + status;
  }

  var runId = root.getAttribute("data-live-run");
  if (runId) {
    var startedTerminal = root.getAttribute("data-terminal") === "true";
    var since = root.getAttribute("data-rendered-at");
    var source = new EventSource(live + "/" + encodeURIComponent(runId) + (since ? "?since=" + encodeURIComponent(since) : ""));
    source.onmessage = function (e) {
      var run = JSON.parse(e.data);
      setStatus(document.querySelector("[data-live=status]"), run.status);
      var phase = document.querySelector("[data-live=phase]");
      if (phase) { phase.textContent = run.phase || "–"; }
      var missing = false;
      run.bars.forEach(function (bar) {
        var el = document.querySelector('[data-bar="' + CSS.escape(bar.name) + '"]');
        if (!el) { missing = true; return; }
        var progress = el.querySelector("progress");
        progress.max = bar.total;
        progress.value = bar.done;
        el.querySelector("[data-bar-done]").textContent = bar.done + " / " + bar.total;
        el.querySelector("[data-bar-rate]").textContent = bar.rate;
        el.querySelector("[data-bar-eta]").textContent = bar.eta;
      });
      // A new counter or the end of the run changes more than the live parts: render the page again once.
      if (missing || (run.terminal && !startedTerminal)) { source.close(); window.location.reload(); }
    };
    function element(html) {
      var template = document.createElement("template");
      template.innerHTML = html.trim();
      return template.content.firstElementChild;
    }

    // The timeline's new or changed entries, each a server-rendered <tbody data-entry=key> placed after its predecessor;
    // the children and events sections replaced whole when they changed.
    source.addEventListener("timeline", function (e) {
      var table = document.getElementById("timeline");
      if (!table) { return; }
      var update = JSON.parse(e.data);
      update.sections.forEach(function (section) {
        var old = document.querySelector('[data-section="' + CSS.escape(section.id) + '"]');
        var replacement = element(section.html);
        if (old && replacement) { old.replaceWith(replacement); }
      });
      update.entries.forEach(function (entry) {
        var body = element(entry.html);
        if (!body) { return; }
        var old = table.querySelector('tbody[data-entry="' + CSS.escape(entry.key) + '"]');
        if (old) { old.replaceWith(body); return; }
        var empty = table.querySelector("tbody[data-entry-empty]");
        if (empty) { empty.remove(); }
        var after = entry.after === null ? table.tHead : table.querySelector('tbody[data-entry="' + CSS.escape(entry.after) + '"]');
        if (after) { after.after(body); } else { table.appendChild(body); }
      });
      // A long timeline is a window (its first and last entries, the running ones, a gap row for the rest): rows that
      // are no longer in it are removed, so the page does not grow for as long as it is open.
      if (update.keep) {
        var keep = new Set(update.keep);
        Array.prototype.forEach.call(table.querySelectorAll("tbody[data-entry]"), function (body) {
          if (!keep.has(body.getAttribute("data-entry"))) { body.remove(); }
        });
      }
    });
    source.addEventListener("end", function () { source.close(); });
    // The session ended while the page was open (expired, or the key changed): reloading leads to the sign-in page.
    source.addEventListener("signin", function () { source.close(); window.location.reload(); });
    return;
  }

  var ids = root.getAttribute("data-live-runs");
  if (ids) {
    var list = new EventSource(live + "?ids=" + encodeURIComponent(ids));
    list.onmessage = function (e) {
      var run = JSON.parse(e.data);
      var row = document.querySelector('tr[data-run="' + CSS.escape(run.id) + '"]');
      if (!row) { return; }
      setStatus(row.querySelector("[data-live=status]"), run.status);
      var phase = row.querySelector("[data-live=phase]");
      if (phase) { phase.textContent = run.phase || ""; }
    };
    list.addEventListener("end", function () { list.close(); });
    list.addEventListener("signin", function () { list.close(); window.location.reload(); });
  }
})();
