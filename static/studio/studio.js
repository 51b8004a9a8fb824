// Small enhancements on top of htmx. Everything that matters works without them,
// except what cannot: copying to the clipboard and uploading reference images.
(function () {
  "use strict";

  function csrfToken() {
    var headers = document.body.getAttribute("hx-headers");
    try { return JSON.parse(headers)["X-CSRFToken"]; } catch (e) { return ""; }
  }

  // The composer's panel is read again as the member types (hx-sync "replace"): a
  // reading overtaken by a newer one is aborted on purpose, so that the answer shown is
  // always the newest. htmx reports each such abort with console.error (its
  // afterRequest and sendAbort), which is not an error here. Only while htmx aborts (its
  // htmx:abort event, handled on the body, between these two listeners) are those two
  // kept out; a request that truly fails is still reported.
  var aborting = false;
  document.addEventListener("htmx:abort", function () { aborting = true; }, true);
  window.addEventListener("htmx:abort", function () { aborting = false; });
  var consoleError = console.error.bind(console);
  console.error = function (first) {
    var overtaken = aborting && arguments.length === 1 && /^htmx:(afterRequest|sendAbort)\b/.test(String(first));
    if (!overtaken) consoleError.apply(null, arguments);
  };

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

  // Ctrl/Cmd+Enter in a composer sends its form (not past a Generate the budgets disabled).
  document.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && event.target.matches(".composer textarea")) {
      event.preventDefault();
      var submit = event.target.form.querySelector("button[type=submit]");
      if (!submit || !submit.disabled) event.target.form.requestSubmit();
    }
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
      var button = input.closest(".ref-add");
      button.classList.add("busy");
      addReferences(input.dataset.uploadInto, Array.prototype.slice.call(input.files))
        .finally(function () { button.classList.remove("busy"); input.value = ""; });
    }
  }, true);

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

  // Every push to a project's page is numbered, one above the push before it, and the
  // state sent on (re)connecting carries the latest number (studio/realtime/sequence.py).
  // A number skipped is a push lost on its way (a full channel drops them silently): the
  // page takes the push it got and asks for the current state again, once until it
  // comes. A push numbered no higher than the state shown is already in it. The check
  // that follows a burst of pushes finds a push lost last. A page that never got a
  // state (the gallery) has nothing to ask for again.
  var LIVE_MARK = /^<!--live-(push|snapshot|check) (\d+)-->/;
  document.addEventListener("htmx:wsBeforeMessage", function (event) {
    var mark = LIVE_MARK.exec(event.detail.message);
    if (!mark) return;
    var socket = event.target;
    var kind = mark[1];
    var number = Number(mark[2]);
    if (kind === "snapshot") {
      socket.dataset.liveNumber = String(number);
      delete socket.dataset.liveAsked;
      return;
    }
    if (kind === "check") event.preventDefault(); // nothing in it to swap
    if (socket.dataset.liveNumber === undefined) return;
    var last = Number(socket.dataset.liveNumber);
    if (kind === "push" && number <= last) { event.preventDefault(); return; }
    if (number > last + (kind === "push" ? 1 : 0) && socket.dataset.liveAsked === undefined) {
      socket.dataset.liveAsked = "";
      event.detail.socketWrapper.send("resync");
    }
    if (kind === "push") socket.dataset.liveNumber = String(number);
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

  // ---------------------------------------------------------------------------------
  // The composer (issue 11): the character counter, the prompt history, images dropped
  // or pasted on it, references as thumbnails, and "use as" / "use seed" links.
  // The server stays the one reader of the prompt: everything here fills the form's
  // own fields (the reference textareas are the truth the thumbnails mirror) and lets
  // the panel be read again.
  // ---------------------------------------------------------------------------------

  function promptField() { return document.getElementById("id_prompt"); }

  // The counter sits outside the panel that each reading of the prompt replaces. Past
  // the limit it counts the excess; the panel's one error says what is wrong.
  function updateCounter(textarea) {
    var counter = document.getElementById(textarea.dataset.counter);
    if (!counter) return;
    var limit = parseInt(textarea.dataset.limit, 10) || 2500;
    var length = textarea.value.length;
    var over = length > limit;
    counter.classList.toggle("over", over);
    if (!length) counter.textContent = "";
    else if (over) counter.textContent = (length - limit).toLocaleString() + " characters over the limit";
    else counter.textContent = (limit - length).toLocaleString() + " characters left";
  }
  document.addEventListener("input", function (event) {
    if (event.target.dataset && event.target.dataset.counter) updateCounter(event.target);
  });
  function countAll() {
    document.querySelectorAll("textarea[data-counter]").forEach(updateCounter);
  }
  document.addEventListener("DOMContentLoaded", countAll);
  document.addEventListener("htmx:load", countAll);

  // Put a text into the prompt as if typed: the panel reads it, the counter follows.
  function fillPrompt(text) {
    var prompt = promptField();
    if (!prompt) return false;
    var tab = document.getElementById("tab-imagine");
    if (tab) tab.checked = true;
    prompt.value = text;
    prompt.dispatchEvent(new Event("input", { bubbles: true }));
    return true;
  }

  // Prompt history: ↑ in an empty prompt (or one still as recalled) steps back through
  // the member's recent prompts, ↓ forward and back to empty; "Recent" lists them.
  var recall = { index: -1, text: null };
  function recentPrompts() {
    return Array.prototype.map.call(document.querySelectorAll("#recent-menu [data-recall]"), function (item) {
      return item.getAttribute("data-recall");
    });
  }
  document.addEventListener("keydown", function (event) {
    var prompt = event.target;
    if (prompt.id !== "id_prompt" || event.altKey || event.ctrlKey || event.metaKey || event.shiftKey) return;
    if (event.key !== "ArrowUp" && event.key !== "ArrowDown") return;
    var untouched = prompt.value === "" || prompt.value === recall.text;
    if (!untouched) { recall.index = -1; return; }
    var history = recentPrompts();
    if (!history.length) return;
    var next = recall.index + (event.key === "ArrowUp" ? 1 : -1);
    if (prompt.value === "") next = event.key === "ArrowUp" ? 0 : -1;
    if (next >= history.length || (next < 0 && prompt.value === "")) return;
    event.preventDefault();
    recall.index = next;
    recall.text = next < 0 ? "" : history[next];
    fillPrompt(recall.text);
    prompt.setSelectionRange(prompt.value.length, prompt.value.length);
  });
  document.addEventListener("click", function (event) {
    var item = event.target.closest("[data-recall]");
    if (!item) return;
    var menu = item.closest("details");
    if (menu) menu.open = false;
    recall = { index: recentPrompts().indexOf(item.getAttribute("data-recall")), text: item.getAttribute("data-recall") };
    if (fillPrompt(recall.text)) promptField().focus();
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var menu = document.querySelector("#recent-menu[open]");
    if (menu) { menu.open = false; menu.querySelector("summary").focus(); }
  });
  document.addEventListener("click", function (event) {
    var menu = document.querySelector("#recent-menu[open]");
    if (menu && !menu.contains(event.target)) menu.open = false;
  });

  // A reading of the panel that failed (a busy server, a dropped connection) is asked
  // again, a few times, so that the price and the "Sends" line never stay behind what
  // the member chose.
  var previewRetries = 0;
  function previewFailed(event) {
    var elt = event.detail && event.detail.elt;
    if (!elt || !(elt.id === "prompt-controls" || elt.id === "id_prompt")) return;
    if (previewRetries >= 3) return;
    previewRetries += 1;
    setTimeout(function () {
      var controls = document.getElementById("prompt-controls");
      if (controls && window.htmx) window.htmx.trigger(controls, "change");
    }, 600 * previewRetries);
  }
  document.addEventListener("htmx:responseError", previewFailed);
  document.addEventListener("htmx:sendError", previewFailed);
  document.addEventListener("htmx:afterRequest", function (event) {
    var elt = event.detail && event.detail.elt;
    if (elt && (elt.id === "prompt-controls" || elt.id === "id_prompt") && event.detail.successful) {
      previewRetries = 0;
    }
  });

  // The folded "Sends" line stays as the member left it across readings of the panel.
  var sendsOpen = false;
  document.addEventListener("toggle", function (event) {
    if (event.target.id === "final-prompt") sendsOpen = event.target.open;
  }, true);
  document.addEventListener("htmx:afterSwap", function () {
    var sends = document.getElementById("final-prompt");
    if (sends && sendsOpen) sends.open = true;
  });

  function openDrawer() {
    var drawer = document.getElementById("param-drawer");
    if (drawer) drawer.open = true;
    drawerOpen = true;
  }

  // Links go into a reference field (one per line) and the panel is read again: it
  // answers with the thumbnails, the weights and the "Sends" line.
  function addReferenceLinks(field, urls) {
    var textarea = document.querySelector("#prompt-form textarea[name=" + field + "]");
    if (!textarea) return;
    var lines = textarea.value.split("\n").map(function (line) { return line.trim(); }).filter(Boolean);
    urls.forEach(function (url) { if (lines.indexOf(url) < 0) lines.push(url); });
    textarea.value = lines.join("\n");
    openDrawer();
    var tab = document.getElementById("tab-imagine");
    if (tab) tab.checked = true;
    textarea.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function postForImage(url, body) {
    return fetch(url, { method: "POST", body: body, headers: { "X-CSRFToken": csrfToken() } })
      .then(function (response) {
        return response.json().then(function (data) {
          if (!response.ok) throw new Error(data.error || "The image could not be added.");
          return data;
        }, function () { throw new Error("The image could not be added (" + response.status + ")."); });
      }, function () { throw new Error("The upload failed; check your connection."); });
  }

  // Upload files one after another (the server keeps one copy of equal bytes).
  function addReferences(field, files) {
    var composer = document.getElementById("composer");
    var urls = [];
    var chain = Promise.resolve();
    files.forEach(function (file) {
      chain = chain.then(function () {
        var body = new FormData();
        body.append("image", file);
        return postForImage(composer.dataset.uploadUrl, body).then(function (data) { urls.push(data.url); });
      });
    });
    return chain.then(function () { addReferenceLinks(field, urls); return true; }, function (error) {
      if (urls.length) addReferenceLinks(field, urls);
      showNotice(error.message);
      return false;
    });
  }

  document.addEventListener("click", function (event) {
    var remove = event.target.closest("[data-remove-ref]");
    if (!remove) return;
    var textarea = document.querySelector("#prompt-form textarea[name=" + remove.dataset.from + "]");
    if (!textarea) return;
    var gone = remove.getAttribute("data-remove-ref");
    textarea.value = textarea.value.split("\n").filter(function (line) { return line.trim() && line.trim() !== gone; }).join("\n");
    var field = remove.closest("[data-ref-field]");
    textarea.dispatchEvent(new Event("change", { bubbles: true }));
    // Focus stays in the field whose thumbnail went (the panel is re-rendered).
    var name = field && field.dataset.refField;
    document.addEventListener("htmx:afterSwap", function refocus() {
      document.removeEventListener("htmx:afterSwap", refocus);
      var add = document.querySelector("[data-ref-field=" + name + "] .ref-add input");
      var next = document.querySelector("[data-ref-field=" + name + "] .ref-remove") || (add && add.closest("li"));
      if (next && next.focus) next.focus();
    });
  });

  // An image dropped or pasted anywhere on the composer: a small chooser asks what it
  // is for. References upload and show as thumbnails; Describe and Blend get the file
  // in their own file inputs.
  var dropped = { files: [], preview: "" };
  function chooser() { return document.getElementById("drop-chooser"); }
  function imageFiles(list) {
    return Array.prototype.filter.call(list || [], function (file) { return /^image\//.test(file.type); });
  }
  function openChooser(files) {
    var box = chooser();
    if (!box || !files.length) return;
    closeChooser();
    dropped.files = files;
    dropped.preview = URL.createObjectURL(files[0]);
    document.getElementById("drop-preview").src = dropped.preview;
    document.getElementById("drop-name").textContent = files.length > 1 ? files.length + " images" : "the image";
    document.getElementById("drop-status").textContent = "";
    box.querySelectorAll("[data-drop-as], [data-drop-work]").forEach(function (button) { button.disabled = false; });
    box.hidden = false;
    box.querySelector("[data-drop-as]").focus();
  }
  function closeChooser() {
    var box = chooser();
    if (box) box.hidden = true;
    if (dropped.preview) URL.revokeObjectURL(dropped.preview);
    dropped = { files: [], preview: "" };
  }
  function placeFiles(input, files, keep) {
    var transfer = new DataTransfer();
    if (keep) Array.prototype.forEach.call(input.files, function (file) { transfer.items.add(file); });
    files.forEach(function (file) { transfer.items.add(file); });
    input.files = transfer.files;
    input.dispatchEvent(new Event("change", { bubbles: true }));
  }
  document.addEventListener("click", function (event) {
    var box = chooser();
    if (!box || box.hidden) return;
    if (event.target.closest("[data-drop-cancel]") || !event.target.closest("#drop-chooser")) { closeChooser(); return; }
    var work = event.target.closest("[data-drop-work]");
    if (work) { makeFromDropped(box, work); return; }
    var choice = event.target.closest("[data-drop-as]");
    if (!choice) return;
    var as = choice.dataset.dropAs;
    var files = dropped.files;
    if (as === "describe" || as === "blend") {
      document.getElementById("tab-" + as).checked = true;
      var input = document.querySelector(as === "describe" ? "#describe-form input[name=image]" : "#blend-form input[name=images]");
      placeFiles(input, as === "describe" ? files.slice(0, 1) : files, as === "blend");
      closeChooser();
      input.closest("form").querySelector("button[type=submit]").focus();
      return;
    }
    box.querySelectorAll("[data-drop-as]").forEach(function (button) { button.disabled = true; });
    document.getElementById("drop-status").textContent = "Uploading…";
    addReferences(as, files).then(function () { closeChooser(); var p = promptField(); if (p) p.focus(); });
  });
  // Animate, Retexture, Remove background, Edit: the image is stored as one of the
  // project's uploads first, then named by its id ("input:<id>"), as a result is. Animate
  // and Retexture open their dialog, Edit its canvas page; Remove background is made.
  function makeFromDropped(box, button) {
    var composer = document.getElementById("composer");
    var operation = button.dataset.dropWork, url = button.dataset.workUrl;
    box.querySelectorAll("[data-drop-as], [data-drop-work]").forEach(function (each) { each.disabled = true; });
    document.getElementById("drop-status").textContent = "Uploading…";
    var body = new FormData();
    body.append("image", dropped.files[0]);
    postForImage(composer.dataset.uploadUrl, body).then(function (data) {
      var source = "input:" + data.id;
      var query = "?source=" + encodeURIComponent(source);
      closeChooser();
      if (operation === "edit") window.location.assign(url + query);
      else if (operation === "remove_bg") window.htmx.ajax("POST", url, { source: composer, values: { source: source }, swap: "none" });
      else window.htmx.ajax("GET", url + query, { source: composer, target: "body", swap: "beforeend" });
    }, function (error) {
      closeChooser();
      showNotice(error.message);
    });
  }
  document.addEventListener("keydown", function (event) {
    var box = chooser();
    if (event.key === "Escape" && box && !box.hidden) { closeChooser(); var p = promptField(); if (p) p.focus(); }
  });

  function carriesFiles(event) {
    return event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types, "Files") >= 0;
  }
  ["dragenter", "dragover"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      var composer = event.target.closest && event.target.closest("#composer");
      if (!composer || !carriesFiles(event)) return;
      // A file dropped on Describe's or Blend's own file button goes there as before.
      event.preventDefault();
      event.dataTransfer.dropEffect = "copy";
      composer.classList.add("dragging");
    });
  });
  document.addEventListener("dragleave", function (event) {
    var composer = document.getElementById("composer");
    if (composer && !composer.contains(event.relatedTarget)) composer.classList.remove("dragging");
  });
  document.addEventListener("drop", function (event) {
    var composer = event.target.closest && event.target.closest("#composer");
    if (!composer || !carriesFiles(event)) return;
    event.preventDefault();
    composer.classList.remove("dragging");
    var files = imageFiles(event.dataTransfer.files);
    if (files.length) openChooser(files);
    else showNotice("Only images can be used here: JPG, PNG, GIF or WebP.");
  });
  document.addEventListener("paste", function (event) {
    if (!event.target.closest || !event.target.closest("#composer")) return;
    var files = imageFiles(event.clipboardData && event.clipboardData.files);
    if (!files.length) return; // text (a link, a prompt) pastes as usual
    event.preventDefault();
    openChooser(files);
  });

  // "Use as image prompt / style / character reference" on a result (the lightbox, a
  // card's menu) and "Use this seed": with a composer on the page they fill it; without
  // one (the gallery) the link opens the project's page, whose composer starts so.
  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-use-as], a[data-use-seed]");
    var composer = document.getElementById("composer");
    if (!link || !composer || !document.getElementById("prompt-form")) return;
    event.preventDefault();
    var dialog = link.closest("dialog");
    if (dialog && dialog.open) dialog.close();
    if (link.hasAttribute("data-use-seed")) {
      var seed = document.querySelector("#prompt-form input[name=seed]");
      if (!seed) return;
      openDrawer();
      seed.value = link.getAttribute("data-use-seed");
      seed.dispatchEvent(new Event("change", { bubbles: true }));
      composer.scrollIntoView({ behavior: "smooth", block: "start" });
      return;
    }
    var url = composer.dataset.fromResultUrl.replace(/\/0\/$/, "/" + encodeURIComponent(link.dataset.resultImage) + "/");
    postForImage(url, new FormData()).then(function (data) {
      addReferenceLinks(link.dataset.useAs, [data.url]);
      composer.scrollIntoView({ behavior: "smooth", block: "start" });
    }, function (error) { showNotice(error.message); });
  });
  // --- clips: a card's or a tile's clip plays its small preview while pointed at or
  // focused, and shows its poster again when left. Not for people who asked for less
  // motion: the lightbox still plays a clip they open.
  var lessMotion = window.matchMedia("(prefers-reduced-motion: reduce)");

  function clipOf(target) {
    var clip = target && target.closest ? target.closest("[data-clip]") : null;
    return clip && clip.querySelector("video") ? clip : null;
  }

  function playClip(clip) {
    if (lessMotion.matches) return;
    var video = clip.querySelector("video");
    clip.classList.add("is-playing");
    var playing = video.play();
    // A play() cut short by a pause() (the pointer passed over) is no error.
    if (playing && playing.catch) playing.catch(function () {});
  }

  function stopClip(clip) {
    var video = clip.querySelector("video");
    clip.classList.remove("is-playing");
    if (video.paused && video.readyState === 0) return;
    video.pause();
    // load() shows the poster again; with preload="none" it fetches nothing until the
    // next play (which the browser's cache answers).
    video.load();
  }

  document.addEventListener("pointerover", function (event) {
    var clip = clipOf(event.target);
    if (clip && !clip.contains(event.relatedTarget) && event.pointerType !== "touch") playClip(clip);
  });
  document.addEventListener("pointerout", function (event) {
    var clip = clipOf(event.target);
    if (clip && !clip.contains(event.relatedTarget) && clip !== document.activeElement) stopClip(clip);
  });
  document.addEventListener("focusin", function (event) {
    var clip = clipOf(event.target);
    if (clip && clip === event.target && !clip.classList.contains("is-playing")) playClip(clip);
  });
  document.addEventListener("focusout", function (event) {
    var clip = clipOf(event.target);
    if (clip && clip === event.target && !clip.matches(":hover")) stopClip(clip);
  });
})();
