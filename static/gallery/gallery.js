// The gallery's behaviour on top of htmx: selection and the bulk bar, the lightbox
// (a <dialog> whose URL is linkable and whose ← → Esc keys work), and live tiles. The
// project's feed loads it too, for the same lightbox over its cards.
(function () {
  "use strict";

  var LIGHTBOX_PATH = /^\/images\/\d+\/view\/$/;
  var SELECTION = "input[name=images][form=bulk-form]";

  function notify(message) {
    var area = document.getElementById("notice");
    if (!area) return;
    var toast = document.createElement("div");
    toast.className = "toast";
    toast.setAttribute("role", "status");
    var text = document.createElement("span");
    text.textContent = message;
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("aria-label", "Dismiss");
    close.setAttribute("data-dismiss", "");
    close.textContent = "×";
    toast.append(text, close);
    area.replaceChildren(toast);
    setTimeout(function () { toast.remove(); }, 6000);
  }

  // --- selection -----------------------------------------------------------------------
  function boxes() { return Array.prototype.slice.call(document.querySelectorAll(SELECTION)); }
  function selected() { return boxes().filter(function (box) { return box.checked; }); }

  function updateSelection() {
    var gallery = document.getElementById("gallery");
    if (!gallery) return;
    var count = selected().length;
    gallery.classList.toggle("has-selection", count > 0);
    document.querySelectorAll("[data-selected-count]").forEach(function (counter) {
      counter.textContent = String(count);
    });
  }

  // Shift-click selects the run of tiles between the last two clicks.
  var lastClicked = null;
  document.addEventListener("click", function (event) {
    var box = event.target.closest && event.target.closest(SELECTION);
    if (!box) return;
    if (event.shiftKey && lastClicked && lastClicked !== box && document.contains(lastClicked)) {
      var all = boxes();
      var from = all.indexOf(lastClicked);
      var to = all.indexOf(box);
      all.slice(Math.min(from, to), Math.max(from, to) + 1).forEach(function (each) { each.checked = box.checked; });
    }
    lastClicked = box;
  });

  document.addEventListener("change", function (event) {
    if (event.target.matches(SELECTION)) updateSelection();
  });

  document.addEventListener("click", function (event) {
    var target = event.target.closest("[data-select-all], [data-select-none], [data-close-lightbox]");
    if (!target) return;
    if (target.hasAttribute("data-close-lightbox")) {
      var dialog = document.getElementById("lightbox");
      if (dialog && dialog.open) dialog.close();
      return;
    }
    var on = target.hasAttribute("data-select-all");
    boxes().forEach(function (box) { box.checked = on; });
    updateSelection();
  });

  // The ZIP is a plain form post (a file comes back); check the selection first.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.id !== "bulk-form") return;
    var count = selected().length;
    var limit = parseInt(form.dataset.zipLimit, 10) || 200;
    if (!count) {
      event.preventDefault();
      notify("Select the images to download first.");
    } else if (count > limit) {
      event.preventDefault();
      notify("A download holds at most " + limit + " images; you selected " + count + ".");
    } else {
      notify("Preparing a ZIP of " + count + " image" + (count === 1 ? "" : "s") + "…");
    }
  });

  // Enter in the bulk bar's tag box adds the tag (rather than downloading a ZIP).
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !event.target.matches("#bulk-form input[name=tag]")) return;
    event.preventDefault();
    var add = document.querySelector("#bulk-form [value=tag-add]");
    if (add) add.click();
  });

  // A tile pushed live may already be on the page (a retry, a page loaded meanwhile):
  // keep the first copy of each.
  function dropDuplicateTiles() {
    var seen = {};
    document.querySelectorAll(".tiles > .tile").forEach(function (tile) {
      if (seen[tile.id]) tile.remove();
      seen[tile.id] = true;
    });
  }

  document.addEventListener("htmx:afterSettle", updateSelection);
  document.addEventListener("htmx:oobAfterSwap", updateSelection);
  document.addEventListener("htmx:wsAfterMessage", function () { dropDuplicateTiles(); updateSelection(); });
  document.addEventListener("DOMContentLoaded", updateSelection);

  // A follow-up started from the lightbox: its result will land at the top, live (of the
  // gallery when it is done; of the feed, as a card, at once).
  document.addEventListener("htmx:afterRequest", function (event) {
    var elt = event.detail.elt;
    if (elt && elt.matches && elt.matches("#lightbox [data-follow-up]") && event.detail.xhr.status === 201) {
      var where = document.getElementById("job-list") ?
        "Its card is at the top of the feed." : "The result appears at the top of the gallery when it is ready.";
      notify(elt.dataset.followUp + ": started. " + where);
    }
  });

  // Use prompt, Use as reference, Use seed: the composer takes them, so the lightbox steps
  // aside first (capturing, before the composer's own handlers move the focus there).
  document.addEventListener("click", function (event) {
    var use = event.target.closest && event.target.closest("#lightbox [data-imagine], #lightbox [data-use-as], #lightbox [data-use-seed]");
    var dialog = lightbox();
    if (use && dialog && dialog.open && document.getElementById("composer")) dialog.close();
  }, true);

  // --- the lightbox ------------------------------------------------------------------------
  function lightbox() { return document.getElementById("lightbox"); }

  // Ctrl/Cmd/Shift-click or a middle click on a tile opens its page in a new tab, as a
  // link does: htmx never hears of it.
  document.addEventListener("click", function (event) {
    if ((event.ctrlKey || event.metaKey || event.shiftKey || event.button === 1) &&
        event.target.closest && event.target.closest(".tile-link, .quad-link, .viewer-nav")) {
      event.stopImmediatePropagation();
    }
  }, true);

  document.addEventListener("htmx:afterSwap", function (event) {
    var dialog = lightbox();
    if (!dialog || !event.detail.target || event.detail.target.id !== "lightbox-body") return;
    if (!dialog.open) dialog.showModal();
    var viewer = dialog.querySelector(".viewer");
    if (viewer) viewer.focus({ preventScroll: true });
  });

  // Closing (Esc, ×, a click beside the image) goes back to the gallery's URL: the
  // lightbox's own entry was pushed when it opened.
  var returning = false; // going back to the gallery's entry because the lightbox closed
  document.addEventListener("close", function (event) {
    if (event.target.id !== "lightbox") return;
    document.getElementById("lightbox-body").replaceChildren();
    if (LIGHTBOX_PATH.test(location.pathname)) {
      returning = true;
      history.back();
    }
  }, true);

  document.addEventListener("click", function (event) {
    var dialog = lightbox();
    if (dialog && dialog.open && event.target.classList && event.target.classList.contains("viewer-stage")) dialog.close();
  });

  // The back and forward buttons with a lightbox over the gallery: htmx would fetch the
  // page again; instead close the lightbox, or open it, over the gallery as it is.
  function overTheGallery(event) {
    var dialog = lightbox();
    var results = document.getElementById("gallery-results");
    if (!dialog || !results) return;
    var url = new URL(event.detail.path, location.origin);
    var galleryPath = new URL(results.dataset.url, location.origin).pathname;
    if (LIGHTBOX_PATH.test(url.pathname)) {
      event.preventDefault();
      htmx.ajax("GET", event.detail.path, { target: "#lightbox-body", swap: "innerHTML" });
    } else if ((dialog.open || returning) && url.pathname === galleryPath) {
      // The entry under the lightbox is the gallery as it is on the page.
      event.preventDefault();
      if (dialog.open) dialog.close();
    }
    returning = false;
  }
  document.addEventListener("htmx:historyCacheMiss", overTheGallery);
  document.addEventListener("htmx:historyCacheHit", overTheGallery);

  var stepping = false;
  var steps = [];
  function step(scope, direction) {
    var link = scope.querySelector("[data-nav=" + direction + "]");
    if (!link) { steps = []; return; }
    stepping = Boolean(lightbox());
    link.click();
  }
  document.addEventListener("htmx:afterSettle", function (event) {
    if (!event.detail.target || event.detail.target.id !== "lightbox-body") return;
    stepping = false;
    var dialog = lightbox();
    if (steps.length && dialog && dialog.open) step(dialog, steps.shift());
  });
  document.addEventListener("htmx:responseError", function () { stepping = false; steps = []; });
  document.addEventListener("htmx:sendError", function () { stepping = false; steps = []; });

  // ← and → step through the images in the gallery's order; Esc on a lightbox page goes
  // back to the gallery (in the dialog, Esc is the browser's own).
  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.target.closest && event.target.closest("input, textarea, select, [contenteditable]")) return;
    var dialog = lightbox();
    var scope = dialog && dialog.open ? dialog : document.querySelector(".viewer-standalone");
    if (!scope) return;
    if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
      event.preventDefault();
      var direction = event.key === "ArrowLeft" ? "prev" : "next";
      // Keys pressed while the next image loads are kept, and taken in turn.
      if (stepping) steps.push(direction);
      else step(scope, direction);
    } else if (event.key === "Escape" && !dialog) {
      var back = scope.querySelector("[data-close]");
      if (back) back.click();
    }
  });
})();
