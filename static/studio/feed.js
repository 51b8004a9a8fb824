// The project page's feed beyond what htmx does by itself: where a pushed job's card goes
// (or whether it goes at all, when the feed is filtered), the tab's title and icon while
// jobs run, and an opt-in notification when one's own job ends while the tab is hidden.
(function () {
  "use strict";

  var RUNNING = ["queued", "unconfirmed", "submitted", "processing"];
  var ENDED = ["completed", "failed", "canceled", "unknown"];

  // --- where a pushed card goes ------------------------------------------------------
  // A job's card comes (pushed to the project, in the submitter's answer, in the snapshot
  // after a reconnect) as a feed entry: a wrapper whose data-* say what a filter needs.
  // A card already shown is replaced where it stands. A new one goes where its date puts
  // it among the cards shown, if the feed's filters take it, unless it is older than all
  // of them while older pages are still to come (that page will bring it) or newer than
  // all of them on a page that starts further back.
  function filterState() {
    var results = document.getElementById("feed-results");
    return results && results.hasAttribute("data-filtered") ? results.dataset : null;
  }

  function matches(entry) {
    var filter = filterState();
    if (!filter) return true;
    var facts = entry.dataset;
    if (filter.member && filter.member !== facts.owner) return false;
    if (filter.operation && filter.operation !== facts.operation) return false;
    if (filter.mode && filter.mode !== facts.mode) return false;
    if (filter.state && filter.state !== facts.state) return false;
    var prompt = (facts.prompt || "").toLowerCase();
    return (filter.q || "").split(/\s+/).every(function (word) {
      return !word || prompt.indexOf(word.toLowerCase()) >= 0;
    });
  }

  // Newest first: by creation time, then by id (the server's order).
  function sortKey(card) {
    var time = Date.parse(card.dataset.created || "");
    return [isNaN(time) ? Infinity : time, parseInt(card.id.slice(4), 10) || 0];
  }
  function isNewer(a, b) { return a[0] > b[0] || (a[0] === b[0] && a[1] > b[1]); }

  function placeFor(card, list) {
    var key = sortKey(card);
    var newer = null;
    var shown = list.querySelectorAll(":scope > .job-card");
    for (var i = 0; i < shown.length; i++) {
      if (!isNewer(sortKey(shown[i]), key)) break;
      newer = shown[i];
    }
    if (!newer) {
      // A page that starts further back (no-JS "Show older", then reloaded) has no top.
      var results = document.getElementById("feed-results");
      return results && results.hasAttribute("data-older-only") ? null : "afterbegin:#job-list";
    }
    var olderPagesToCome = document.querySelector("#feed-more .more-link");
    if (newer === shown[shown.length - 1] && olderPagesToCome) return null;
    return "afterend:#" + newer.id;
  }

  function takeIn(entry, content, list) {
    var id = entry.dataset.feedEntry;
    Array.prototype.slice.call(content.children).forEach(function (child) {
      if (child.id === id && child.getAttribute("hx-swap-oob") === "delete") child.remove();
    });
    var card = entry.querySelector(".job-card");
    if (!card) return;
    var shown = document.getElementById(id);
    if (shown) {
      // A copy of an earlier state, overtaken on its way (the submitter's answer after
      // the push of the job being sent, say), never replaces a later one.
      if (+card.dataset.rank < +shown.dataset.rank) { entry.remove(); return; }
      card.setAttribute("hx-swap-oob", "true");
      entry.replaceWith(card);
      return;
    }
    var place = matches(entry) ? placeFor(card, list) : null;
    if (place) entry.setAttribute("hx-swap-oob", place);
    else entry.remove();
  }

  if (window.htmx) {
    window.htmx.defineExtension("feed", {
      transformResponse: function (text) {
        var list = document.getElementById("job-list");
        if (!list || text.indexOf("data-feed-entry") < 0) return text;
        var template = document.createElement("template");
        template.innerHTML = text;
        // Oldest first, as the server sends them: each lands against the cards shown now.
        Array.prototype.slice.call(template.content.children).forEach(function (child) {
          if (child.hasAttribute("data-feed-entry")) takeIn(child, template.content, list);
        });
        return template.innerHTML;
      }
    });
  }

  // --- the tab: title, icon, notifications -----------------------------------------------
  var plainTitle = document.title;
  var plainIcon = null;
  var statuses = null; // card id -> status, as last seen
  var endedWhileHidden = 0;
  var seenEnding = {}; // card ids counted since the tab was hidden: each job once
  var NOTIFY_KEY = "studio.notify";

  function page() { return document.querySelector(".project[data-user]"); }

  function notifying() {
    return "Notification" in window && Notification.permission === "granted" &&
      localStorage.getItem(NOTIFY_KEY) === "on";
  }

  function badgeIcon(text, colour) {
    var svg = '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">' +
      '<rect x="2" y="2" width="12" height="12" rx="3" fill="#1c1b19"/><rect x="18" y="2" width="12" height="12" rx="3" fill="#1c1b19"/>' +
      '<rect x="2" y="18" width="12" height="12" rx="3" fill="#1c1b19"/>' +
      '<circle cx="21" cy="21" r="11" fill="' + colour + '" stroke="#fff" stroke-width="1.5"/>' +
      '<text x="21" y="26.5" text-anchor="middle" font-family="system-ui,sans-serif" font-size="' + (text.length > 1 ? 12 : 16) +
      '" font-weight="700" fill="#fff">' + text + "</text></svg>";
    return "data:image/svg+xml," + encodeURIComponent(svg);
  }

  function showOnTab(running) {
    var counts = [];
    if (running) counts.push(String(running));
    if (endedWhileHidden) counts.push("✓" + endedWhileHidden);
    document.title = counts.length ? "(" + counts.join(" ") + ") " + plainTitle : plainTitle;
    var icon = document.querySelector("link[rel=icon]");
    if (!icon) return;
    if (plainIcon === null) plainIcon = icon.getAttribute("href");
    var href = plainIcon;
    if (endedWhileHidden) href = badgeIcon(endedWhileHidden > 9 ? "9+" : String(endedWhileHidden), "#2f9e62");
    else if (running) href = badgeIcon(running > 9 ? "9+" : String(running), "#5b5bd6");
    if (icon.getAttribute("href") !== href) icon.setAttribute("href", href);
  }

  function ended(card, status) {
    // A card seen ending twice (its copy replaced and shown again) is still one job.
    if (!document.hidden || seenEnding[card.id]) return;
    seenEnding[card.id] = true;
    endedWhileHidden += 1;
    var viewer = page();
    if (!notifying() || !viewer || card.dataset.owner !== viewer.dataset.user) return;
    var prompt = card.querySelector(".job-prompt");
    var notice = new Notification(status === "completed" ? "Your job is done" : "Your job ended: " + status, {
      body: prompt ? prompt.textContent.trim().slice(0, 180) : "",
      tag: card.id
    });
    notice.onclick = function () { window.focus(); notice.close(); };
  }

  function look() {
    if (!page()) return;
    var now = {};
    var running = 0;
    document.querySelectorAll("#job-list > .job-card[data-status]").forEach(function (card) {
      var status = card.dataset.status;
      var before = statuses && statuses[card.id];
      if (RUNNING.indexOf(status) >= 0) running += 1;
      if (before && RUNNING.indexOf(before) >= 0 && ENDED.indexOf(status) >= 0) ended(card, status);
      now[card.id] = status;
    });
    statuses = now;
    showOnTab(running);
  }

  // Looked at after each message on the socket and each answer, not later: a job that
  // runs and ends between two looks would not be seen ending.
  document.addEventListener("DOMContentLoaded", function () { look(); showBell(); });
  document.addEventListener("htmx:wsAfterMessage", look);
  document.addEventListener("htmx:afterSettle", look);
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) return;
    endedWhileHidden = 0;
    seenEnding = {};
    look();
  });

  // The bell: notifications are asked for only when it is clicked, and remembered.
  function showBell() {
    var bell = document.getElementById("notify-toggle");
    if (!bell || !("Notification" in window)) return;
    bell.hidden = false;
    bell.setAttribute("aria-pressed", notifying() ? "true" : "false");
  }

  document.addEventListener("click", function (event) {
    var bell = event.target.closest && event.target.closest("#notify-toggle");
    if (!bell) return;
    if (bell.getAttribute("aria-pressed") === "true") {
      localStorage.setItem(NOTIFY_KEY, "off");
      showBell();
      return;
    }
    Notification.requestPermission().then(function (permission) {
      localStorage.setItem(NOTIFY_KEY, permission === "granted" ? "on" : "off");
      showBell();
      if (permission === "denied") bell.title = "Notifications are blocked for this site in the browser's settings";
    });
  });
})();
