// Small enhancements on top of htmx. Everything works without them.
(function () {
  "use strict";

  // Ctrl/Cmd+Enter in the prompt sends the form.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.matches(".composer textarea")) {
      event.preventDefault();
      event.target.form.requestSubmit();
    }
  });

  // A live character count under the prompt limit.
  function updateCounter(textarea) {
    var counter = document.getElementById(textarea.dataset.counter);
    if (!counter) return;
    var left = textarea.maxLength - textarea.value.length;
    counter.textContent = textarea.value.length ? left + " characters left" : "";
  }
  document.addEventListener("input", function (event) {
    if (event.target.dataset && event.target.dataset.counter) updateCounter(event.target);
  });

  // The "Live" badge shows whether the websocket is connected.
  document.addEventListener("htmx:wsOpen", function (event) {
    event.target.classList.add("ws-open");
  });
  document.addEventListener("htmx:wsClose", function (event) {
    event.target.classList.remove("ws-open");
  });
})();
