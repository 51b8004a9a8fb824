// What is made from one image (Animate…, Retexture…): each button asks the server for its
// dialog, which lands at the end of the page and opens here as a modal. Its form answers
// in its own place: a refusal shows inside the dialog (the form's target), a job made
// closes it (the new card arrives by the answer and the push). Cancel, × and Esc close it,
// and a closed dialog goes.
(function () {
  "use strict";

  function workDialog(element) {
    return element && element.closest ? element.closest("dialog[data-work-dialog]") : null;
  }

  document.addEventListener("htmx:load", function (event) {
    var dialog = event.target;
    if (!dialog.matches || !dialog.matches("dialog[data-work-dialog]")) return;
    document.querySelectorAll("dialog[data-work-dialog]").forEach(function (other) {
      if (other !== dialog) other.remove();
    });
    dialog.addEventListener("close", function () { dialog.remove(); });
    // Keys typed here are the dialog's: the lightbox under it steps with ← and → otherwise.
    dialog.addEventListener("keydown", function (key) {
      if (key.key === "ArrowLeft" || key.key === "ArrowRight") key.stopPropagation();
    });
    dialog.showModal();
  });

  document.addEventListener("click", function (event) {
    var close = event.target.closest && event.target.closest("[data-close-dialog]");
    if (close && workDialog(close)) workDialog(close).close();
  });

  document.addEventListener("htmx:afterRequest", function (event) {
    var dialog = workDialog(event.target);
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    if (dialog && event.target.matches("form") && status >= 200 && status < 300) dialog.close();
  });

  // A loop ends where it began, so it cannot also end on another image: choosing one
  // takes the other back (the server refuses both together).
  document.addEventListener("change", function (event) {
    var input = event.target;
    var form = input.closest && input.closest(".animate-form");
    if (!form) return;
    if (input.name === "loop" && input.checked) {
      var none = form.querySelector("input[name=end][value='']");
      if (none) none.checked = true;
    } else if (input.name === "end" && input.value) {
      form.querySelector("input[name=loop]").checked = false;
    }
    var refusal = form.querySelector("#work-refusal");
    if (refusal) refusal.replaceChildren();
  });
})();
