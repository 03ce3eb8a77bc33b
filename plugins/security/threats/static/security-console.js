// Security dashboard: ask for alerts newer than the page every few seconds and add them to the
// active-alerts table without a reload. Text goes in through textContent only (never HTML).
"use strict";
(function () {
  const table = document.getElementById("active-alerts");
  if (!table) {
    return;
  }
  const body = table.querySelector("tbody");
  const banner = document.getElementById("new-alerts");
  const counter = document.getElementById("active-count");
  const detailBase = table.dataset.detailUrl;
  const interval = Math.max(2, parseInt(table.dataset.interval, 10) || 10) * 1000;
  let afterId = parseInt(table.dataset.afterId, 10) || 0;
  let fresh = 0;

  function cell(text) {
    const td = document.createElement("td");
    td.textContent = text;
    return td;
  }

  function row(alert) {
    const tr = document.createElement("tr");
    tr.className = "fresh";
    tr.dataset.alertId = String(alert.id);
    tr.appendChild(cell(String(alert.id)));
    const severity = cell("");
    const badge = document.createElement("span");
    badge.className = "sev sev-" + String(alert.severity).toLowerCase();
    badge.textContent = alert.severity;
    severity.appendChild(badge);
    tr.appendChild(severity);
    const title = cell("");
    const link = document.createElement("a");
    link.href = detailBase + encodeURIComponent(alert.id);
    link.textContent = alert.title;
    title.appendChild(link);
    tr.appendChild(title);
    tr.appendChild(cell(alert.status));
    tr.appendChild(cell(String(alert.event_count)));
    tr.appendChild(cell(String(alert.last_occurrence || "").replace("T", " ").slice(0, 16)));
    return tr;
  }

  function poll() {
    const url = table.dataset.pollUrl + "&after_id=" + encodeURIComponent(afterId);
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (data) {
        if (!data || !data.alerts || data.alerts.length === 0) {
          return;
        }
        const empty = document.getElementById("no-alerts");
        if (empty) {
          empty.remove();
        }
        data.alerts.slice().reverse().forEach(function (alert) {
          if (!body.querySelector('tr[data-alert-id="' + alert.id + '"]')) {
            body.insertBefore(row(alert), body.firstChild);
            fresh += 1;
          }
          afterId = Math.max(afterId, alert.id);
        });
        counter.textContent = String(body.rows.length);
        banner.textContent = fresh + (fresh === 1 ? " new alert" : " new alerts") + " since this page opened.";
        banner.hidden = false;
      })
      .catch(function () {
        // A network blip: the next poll tries again.
      });
  }

  window.setInterval(poll, interval);
})();
