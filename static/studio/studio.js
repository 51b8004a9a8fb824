// Small enhancements on top of htmx. Everything that matters works without them,
// except what cannot: copying to the clipboard and uploading reference images.
(function () {
  "use strict";

  function csrfToken() {
    var headers = document.body.getAttribute("hx-headers");
    try { return JSON.parse(headers)["X-CSRFToken"]; } catch (e) { return ""; }
  }

  // A push goes to everyone watching the project, whatever page they have open (the
  // feed, a job's tree, the gallery): each page swaps in the fragments it holds and
  // quietly leaves the others (htmx would log each one missing as an error). An answer
  // likewise, for what it names as maybe missing — a deletion, or a swap aimed by
  // selector (a new card's node in a family tree; a favourite's heart in the lightbox);
  // its plain fragments are the page's own.
  function presentOnly(text, isAnswer) {
    if (text.indexOf("hx-swap-oob") < 0) return text;
    var template = document.createElement("template");
    template.innerHTML = text;
    var dropped = false;
    Array.prototype.slice.call(template.content.children).forEach(function (child) {
      var oob = child.getAttribute("hx-swap-oob") || "";
      var colon = oob.indexOf(":");
      if (isAnswer && oob !== "delete" && colon < 0) return;
      var target = colon >= 0 ? oob.slice(colon + 1) : (child.id ? "#" + CSS.escape(child.id) : "");
      if (target && !document.querySelector(target)) { child.remove(); dropped = true; }
    });
    return dropped ? template.innerHTML : text;
  }
  if (window.htmx) {
    window.htmx.defineExtension("present-only", {
      transformResponse: function (text, xhr) { return presentOnly(text, Boolean(xhr)); }
    });
  }

  // A form's refusal ("you picked 1") is about what the form held when it was sent:
  // once its fields change, it no longer applies and goes.
  function clearStaleRefusal(event) {
    var form = event.target.closest && event.target.closest("form");
    if (!form) return;
    form.querySelectorAll(".field-error[data-stale-on-change]").forEach(function (error) {
      error.remove();
    });
  }
  document.addEventListener("change", clearStaleRefusal);
  document.addEventListener("input", clearStaleRefusal);

  function showNotice(message) {
    var area = document.getElementById("notice");
    if (!area) return;
    var toast = document.createElement("div");
    toast.className = "toast";
    toast.setAttribute("role", "alert");
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
  }

  // Ctrl/Cmd+Enter in a composer sends its form.
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.matches(".composer textarea")) {
      event.preventDefault();
      event.target.form.requestSubmit();
    }
  });

  // A live character count under the prompt limit.
  document.addEventListener("input", function (event) {
    var textarea = event.target;
    if (!textarea.dataset || !textarea.dataset.counter) return;
    var counter = document.getElementById(textarea.dataset.counter);
    if (!counter) return;
    var left = textarea.maxLength - textarea.value.length;
    counter.textContent = textarea.value.length ? left + " characters left" : "";
  });

  document.addEventListener("click", function (event) {
    var target = event.target.closest("[data-imagine], [data-copy], [data-dismiss]");
    if (!target) return;
    if (target.hasAttribute("data-imagine")) {
      // "Imagine this": the prompt goes into the composer, whose panel then reads it.
      var tab = document.getElementById("tab-imagine");
      var prompt = document.getElementById("id_prompt");
      if (!prompt) return; // no composer on this page: the link opens the project's
      event.preventDefault();
      if (tab) tab.checked = true;
      prompt.value = target.getAttribute("data-imagine");
      prompt.dispatchEvent(new Event("input", { bubbles: true }));
      prompt.scrollIntoView({ behavior: "smooth", block: "center" });
      prompt.focus();
    } else if (target.hasAttribute("data-copy")) {
      navigator.clipboard.writeText(target.getAttribute("data-copy")).then(function () {
        var label = target.textContent;
        target.textContent = "Copied";
        setTimeout(function () { target.textContent = label; }, 1500);
      }, function () { showNotice("Copying was refused by the browser; select the text instead."); });
    } else {
      target.closest(".toast").remove();
    }
  });

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (input.matches("input[type=file][data-show-name]")) {
      var names = Array.prototype.map.call(input.files, function (file) { return file.name; });
      var label = input.closest("form").querySelector(".file-name");
      if (label) label.textContent = names.join(", ") || label.textContent;
    }
    if (input.matches("input[type=file][data-upload-into]") && input.files.length) {
      event.stopPropagation(); // the panel refreshes once the link is in place
      uploadReference(input);
    }
  }, true);

  // Reference images: upload, then put the image's link into the field.
  function uploadReference(input) {
    var body = new FormData();
    body.append("image", input.files[0]);
    var button = input.closest(".upload-btn");
    button.classList.add("busy");
    fetch(input.dataset.uploadUrl, { method: "POST", body: body, headers: { "X-CSRFToken": csrfToken() } })
      .then(function (response) { return response.json().then(function (data) { return [response.ok, data]; }); })
      .then(function (result) {
        if (!result[0]) { showNotice(result[1].error || "The upload failed."); return; }
        var field = input.closest("form").querySelector("[name=" + input.dataset.uploadInto + "]");
        field.value = (field.value.trim() ? field.value.trim() + "\n" : "") + result[1].url;
        field.dispatchEvent(new Event("change", { bubbles: true }));
      })
      .catch(function () { showNotice("The upload failed; check your connection."); })
      .finally(function () { button.classList.remove("busy"); input.value = ""; });
  }

  // The provider picker says where the next job goes. The composer offers only what
  // that provider runs: its modes (a mode it lacks is switched to Fast, and the page
  // says so), and Shorten where it has one. The Imagine panel is then read again by the
  // server, so that its price and "Sends" line follow.
  document.addEventListener("change", function (event) {
    var choice = event.target;
    if (!choice.matches("#provider-pick input[name=provider]")) return;
    var modes = (choice.dataset.modes || "").split(" ");
    var work = (choice.dataset.work || "").split(" ");
    var composer = document.getElementById("composer");
    if (!composer) return;
    var switched = "";
    composer.querySelectorAll("select[name=mode]").forEach(function (select) {
      Array.prototype.forEach.call(select.options, function (option) {
        var offered = modes.indexOf(option.value) >= 0;
        option.disabled = !offered;
        option.hidden = !offered;
      });
      var selected = select.options[select.selectedIndex];
      if (selected && selected.disabled) {
        switched = switched || selected.textContent;
        select.value = modes.indexOf("fast") >= 0 ? "fast" : modes[0];
        select.closest(".select").classList.add("just-switched");
      }
    });
    composer.querySelectorAll("[data-mode]").forEach(function (element) {
      var other = element.dataset.provider && element.dataset.provider !== choice.value;
      element.hidden = other || modes.indexOf(element.dataset.mode) < 0;
    });
    composer.querySelectorAll("[data-needs-work]").forEach(function (element) {
      element.hidden = work.indexOf(element.dataset.needsWork) < 0;
    });
    var note = document.getElementById("provider-note");
    if (note) {
      var now = composer.querySelector("#prompt-form select[name=mode]");
      var to = now ? now.options[now.selectedIndex].textContent : "Fast";
      note.textContent = switched ? choice.dataset.label + " has no " + switched + " mode: switched to " + to + "." : "";
    }
    var controls = document.getElementById("prompt-controls");
    if (controls && window.htmx) window.htmx.trigger(controls, "change");
  });

  // A card re-rendered live (a push, the snapshot after a reconnect) keeps the image
  // picked in it and what was typed into its prompt and zoom fields.
  var kept = {};
  document.addEventListener("change", function (event) {
    if (event.target.matches(".image-pick input")) kept[event.target.name] = event.target.value;
  });
  document.addEventListener("input", function (event) {
    if (event.target.matches(".remix-input, .zoom-input")) kept[event.target.id] = event.target.value;
  });
  document.addEventListener("htmx:load", function (event) {
    var root = event.target;
    if (!root.querySelectorAll) return;
    root.querySelectorAll(".image-pick input").forEach(function (radio) {
      if (kept[radio.name] === radio.value) radio.checked = true;
    });
    root.querySelectorAll(".remix-input, .zoom-input").forEach(function (field) {
      if (kept[field.id] !== undefined) field.value = kept[field.id];
    });
  });

  // The parameter drawer stays as the user left it when the panel is re-rendered.
  var drawerOpen = null;
  document.addEventListener("toggle", function (event) {
    if (event.target.id === "param-drawer") drawerOpen = event.target.open;
  }, true);
  document.addEventListener("htmx:afterSwap", function () {
    var drawer = document.getElementById("param-drawer");
    if (drawer && drawerOpen !== null && !drawer.open) drawer.open = drawerOpen;
  });

  // On a job's page, its node in the family tree stays marked.
  function markCurrent() {
    var page = document.querySelector("[data-current-job]");
    if (!page) return;
    var row = document.getElementById("tree-row-" + page.dataset.currentJob);
    if (row) row.setAttribute("aria-current", "page");
  }
  document.addEventListener("DOMContentLoaded", markCurrent);
  document.addEventListener("htmx:oobAfterSwap", markCurrent);

  // The "Live" badge shows whether the websocket is connected. How Studio ends a socket
  // (studio/realtime/groups.py): 4012, reconnect now (a new role, or a socket's hourly
  // renewal); 4403, no longer a member; 4401, the session ended. The ws extension
  // reconnects by itself only after 1006, 1011, 1012 and 1013.
  var socketEndings = {
    4403: "You no longer have access to this project: live updates have stopped.",
    4401: "Your session has ended: live updates have stopped. Reload the page to sign in again."
  };
  document.addEventListener("htmx:wsOpen", function (event) { event.target.classList.add("ws-open"); });
  document.addEventListener("htmx:wsClose", function (event) {
    event.target.classList.remove("ws-open");
    var code = event.detail.event.code;
    if (code === 4012) event.detail.socketWrapper.reconnect();
    else if (socketEndings[code]) showNotice(socketEndings[code]);
  });

  // A request refused for its size (413) never reached a page that could answer with a
  // fragment: the server's plain sentence becomes a notice.
  // (htmx-config answers 413 without an error, so htmx logs nothing of it.)
  document.addEventListener("htmx:beforeSwap", function (event) {
    var xhr = event.detail.xhr;
    if (xhr.status !== 413) return;
    var plain = (xhr.getResponseHeader("Content-Type") || "").indexOf("text/plain") === 0;
    showNotice(plain && xhr.responseText.trim() ? xhr.responseText.trim() : "That is too large to send.");
  });

  // A refusal is aimed at the notice area (HX-Retarget) and shows there whatever its
  // status (a 403, say): htmx does not swap error statuses in, and in development
  // django-htmx would show the answer as a whole error page instead (from a listener on
  // the document, which this one, capturing on the window, comes before).
  function isRefusal(xhr) {
    return xhr.status >= 400 && xhr.getResponseHeader("HX-Retarget") === "#notice";
  }
  // Shown here rather than swapped by htmx: the element that asked may be gone by the
  // time the answer comes (its card re-rendered by a push), and htmx cannot re-target
  // from a detached element.
  function showRefusal(event) {
    var xhr = event.detail.xhr;
    if (!isRefusal(xhr)) return;
    event.stopPropagation();
    event.preventDefault();
    var area = document.getElementById("notice");
    if (!area) return;
    area.innerHTML = xhr.responseText;
    leaveLater(area);
  }
  window.addEventListener("htmx:beforeOnLoad", showRefusal, true);
  // An element taken out of the page while its request was out (a card re-rendered by
  // the snapshot a new socket receives) hears its answer alone: the window does not, and
  // htmx would look for the answer's targets inside the detached card. Its refusal goes
  // to the notice area, its out-of-band fragments (a new card on top) to the page.
  function answerDetached(event) {
    var xhr = event.detail.xhr;
    if (event.detail.elt.isConnected || !window.htmx) return;
    if (isRefusal(xhr)) { showRefusal(event); return; }
    if (xhr.status < 200 || xhr.status >= 300) return;
    event.preventDefault();
    window.htmx.swap(document.body, presentOnly(xhr.responseText, true), { swapStyle: "none" });
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    event.detail.elt.addEventListener("htmx:beforeOnLoad", answerDetached);
  });

  // Job cards are the same for everyone (they are pushed to the whole project), so a
  // Cancel button says whose job it is and the page says who is looking: admins may
  // cancel any job, members their own, viewers none. The server refuses the rest anyway.
  document.addEventListener("htmx:load", function (event) {
    var page = document.querySelector("[data-may-cancel]");
    var root = event.target;
    if (!page || !root.querySelectorAll) return;
    var buttons = Array.prototype.slice.call(root.querySelectorAll("button.cancel[data-owner]"));
    if (root.matches("button.cancel[data-owner]")) buttons.push(root);
    var scope = page.dataset.mayCancel;
    buttons.forEach(function (button) {
      button.hidden = !(scope === "any" || (scope === "own" && button.dataset.owner === page.dataset.user));
    });
  });

  // --- job cards: running time -------------------------------------------------------
  // A running job's card says how long it has been going ("0:42"), from the <time
  // data-elapsed datetime="…"> the server rendered; the clock ticks here, between pushes.
  function clock(seconds) {
    var hours = Math.floor(seconds / 3600);
    var minutes = Math.floor((seconds % 3600) / 60);
    var rest = seconds % 60;
    var mm = hours ? String(minutes).padStart(2, "0") : String(minutes);
    return (hours ? hours + ":" : "") + mm + ":" + String(rest).padStart(2, "0");
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("time[data-elapsed]").forEach(function (time) {
      var since = Date.parse(time.getAttribute("datetime"));
      if (!isNaN(since)) time.textContent = clock(Math.max(0, Math.floor((now - since) / 1000)));
    });
  }
  setInterval(tick, 1000);
  document.addEventListener("htmx:load", tick);

  // Toasts leave by themselves.
  function leaveLater(area) {
    var toast = area.querySelector(".toast");
    setTimeout(function () { if (toast) toast.remove(); }, 9000);
  }
  document.addEventListener("htmx:afterSwap", function (event) {
    if (event.target.id === "notice") leaveLater(event.target);
  });
})();
