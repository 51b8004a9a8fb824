// Share links' public pages: justified rows in the gallery, and the keyboard in the viewer.
// Everything works without this script; it only makes it nicer.
(function () {
  "use strict";

  // A tile grows in proportion to its image's shape (see sharing.css, `--r`).
  function sizeTiles(root) {
    root.querySelectorAll(".share-tile[data-width]:not([data-sized])").forEach(function (tile) {
      var width = Number(tile.dataset.width), height = Number(tile.dataset.height);
      if (width > 0 && height > 0) tile.style.setProperty("--r", (width / height).toFixed(4));
      tile.setAttribute("data-sized", "");
    });
  }
  document.addEventListener("DOMContentLoaded", function () { sizeTiles(document); });
  document.addEventListener("htmx:load", function (event) { sizeTiles(event.target.parentNode || document); });

  // In the viewer: ← newer, → older, Esc back to the gallery.
  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    if (event.target.closest("input, textarea, select, [contenteditable]")) return;
    var selector = { ArrowLeft: "[data-newer]", ArrowRight: "[data-older]", Escape: "[data-back]" }[event.key];
    var link = selector && document.querySelector(selector);
    if (link) {
      event.preventDefault();
      window.location.assign(link.href);
    }
  });
})();
