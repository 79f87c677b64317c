/*
 * Clinic assistant chat widget. Embed with one tag:
 *   <script src="https://bot.example.org/webhooks/widget/widget.js"
 *           data-server="https://bot.example.org" defer></script>
 * Optional: data-title, data-crisis-line (default 988), data-emergency (911).
 *
 * Safety rule: text from the server is NEVER parsed as HTML. Every node is
 * built with createElement/textContent; only paragraphs, "- " bullets and
 * [text](https://...) links are rendered, links only for http(s).
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script || window.__clinicChatWidget) return;
  window.__clinicChatWidget = true;

  var base = new URL(script.src, location.href);
  var server = (script.getAttribute("data-server") || base.origin).replace(/\/+$/, "");
  var endpoint = server + "/webhooks/widget/webhook";
  var updatesUrl = server + "/webhooks/widget/updates";
  // Staff messages (takeover) are polled; faster while staff hold the conversation.
  var POLL_MS = 5000, HELD_POLL_MS = 2000;
  var title = script.getAttribute("data-title") || "Ask about ketamine treatment";
  var crisisLine = script.getAttribute("data-crisis-line") || "988";
  var emergency = script.getAttribute("data-emergency") || "911";
  var STORE_KEY = "clinicChat:" + server;
  var MAX_ITEMS = 200;
  // Any length goes to the server, which reads crisis language in all of it and
  // answers the rest; the history keeps at most this much of a long message.
  var MAX_SHOWN = 4000;
  var TIMEOUT_MS = 60000;
  var ERRORS = {
    network: "We couldn't reach the assistant. Check your connection and try again. " +
      "In an emergency call " + emergency + ".",
    busy: "The assistant is unavailable right now. Please try again in a moment.",
    tooLong: "That message is too long. Please shorten it and send again.",
    refused: "This chat isn't available on this website.",
    empty: "The assistant didn't reply. Please try again."
  };

  // ---- storage (conversation id + history survive reloads and pages) -------
  var memory = {};
  function storeGet() {
    try { return JSON.parse(localStorage.getItem(STORE_KEY) || "null"); } catch (e) { return memory.v || null; }
  }
  function storeSet(value) {
    try { localStorage.setItem(STORE_KEY, JSON.stringify(value)); } catch (e) { memory.v = value; }
  }
  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = crypto.getRandomValues(new Uint8Array(16)), h = [];
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    for (var i = 0; i < 16; i++) h.push((b[i] + 256).toString(16).slice(1));
    h = h.join("");
    return [h.slice(0, 8), h.slice(8, 12), h.slice(12, 16), h.slice(16, 20), h.slice(20)].join("-");
  }
  function freshState() { return { id: uuid(), items: [], open: false, cursor: 0, unread: 0, staff: null }; }
  var state = storeGet();
  if (!state || typeof state.id !== "string" || !Array.isArray(state.items)) state = freshState();
  function save() {
    if (state.items.length > MAX_ITEMS) state.items = state.items.slice(-MAX_ITEMS);
    storeSet(state);
  }

  // ---- DOM helpers ---------------------------------------------------------
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    for (var k in attrs || {}) {
      if (k === "className") node.className = attrs[k];
      else node.setAttribute(k, attrs[k]);
    }
    if (text != null) node.textContent = text;
    return node;
  }
  function link(href, text, external) {
    var a = el("a", { href: href }, text);
    if (external) { a.target = "_blank"; a.rel = "noopener noreferrer"; }
    return a;
  }
  function srOnly(text) { return el("span", { className: "kcw-sr" }, text); }

  // Plain text, with the crisis and emergency numbers made tappable.
  var phoneRe = new RegExp("(^|[^0-9$])(" + esc(crisisLine) + "|" + esc(emergency) + ")(?![0-9])", "g");
  function esc(s) { return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); }
  function appendText(parent, text) {
    var last = 0, m;
    phoneRe.lastIndex = 0;
    while ((m = phoneRe.exec(text))) {
      var start = m.index + m[1].length;
      parent.appendChild(document.createTextNode(text.slice(last, start)));
      parent.appendChild(link("tel:" + m[2], m[2]));
      last = start + m[2].length;
    }
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  // [text](https://...) links; anything else stays text.
  var linkRe = /\[([^\]\n]{1,200})\]\((https?:\/\/[^\s()<>]{1,500})\)/g;
  function appendInline(parent, text) {
    var last = 0, m;
    linkRe.lastIndex = 0;
    while ((m = linkRe.exec(text))) {
      appendText(parent, text.slice(last, m.index));
      var url = null;
      try { url = new URL(m[2]); } catch (e) { url = null; }
      if (url && (url.protocol === "https:" || url.protocol === "http:")) {
        parent.appendChild(link(url.href, m[1], true));
      } else {
        appendText(parent, m[0]);
      }
      last = m.index + m[0].length;
    }
    appendText(parent, text.slice(last));
  }

  // One message, one bubble: each line is a paragraph, "- " lines are bullets
  // (consecutive ones form one list); blank lines are ignored.
  function appendRich(parent, text) {
    var list = null;
    String(text).replace(/\r\n?/g, "\n").split("\n").forEach(function (line) {
      var bullet = /^\s*[-\u2022]\s+(.*)$/.exec(line);
      if (bullet) {
        if (!list) { list = el("ul"); parent.appendChild(list); }
        var li = el("li");
        appendInline(li, bullet[1]);
        list.appendChild(li);
      } else if (line.trim()) {
        list = null;
        var para = el("p");
        appendInline(para, line.trim());
        parent.appendChild(para);
      }
    });
  }

  // ---- build the widget ----------------------------------------------------
  var css = el("link", { rel: "stylesheet", href: new URL("widget.css", base).href });
  document.head.appendChild(css);

  var root = el("div", { className: "kcw-root" });
  var launcher = el("button", {
    type: "button", className: "kcw-launcher", "aria-expanded": "false",
    "aria-controls": "kcw-panel", "aria-label": "Open chat: " + title
  });
  launcher.appendChild(el("span", { className: "kcw-launcher-icon", "aria-hidden": "true" }));
  launcher.appendChild(el("span", { className: "kcw-launcher-text" }, "Questions? Chat"));
  var badge = el("span", { className: "kcw-badge", "aria-hidden": "true" });
  launcher.appendChild(badge);

  var panel = el("section", {
    id: "kcw-panel", className: "kcw-panel", role: "dialog",
    "aria-modal": "false", "aria-labelledby": "kcw-title"
  });
  panel.hidden = true;
  var header = el("div", { className: "kcw-header" });
  header.appendChild(el("h2", { id: "kcw-title", className: "kcw-title" }, title));
  var clearBtn = el("button", {
    type: "button", className: "kcw-hbtn",
    "aria-label": "Start a new conversation (clears this chat from this device)"
  }, "New chat");
  var closeBtn = el("button", { type: "button", className: "kcw-hbtn kcw-close", "aria-label": "Close chat" }, "\u00d7");
  header.appendChild(clearBtn);
  header.appendChild(closeBtn);

  // Always visible; "not medical advice" is said once per conversation by the
  // server's notice and in one short line under each answer.
  var notice = el("p", { className: "kcw-notice" }, "In an emergency call ");
  notice.appendChild(link("tel:" + emergency, emergency));
  notice.appendChild(document.createTextNode(". In crisis, call or text "));
  notice.appendChild(link("tel:" + crisisLine, crisisLine));
  notice.appendChild(document.createTextNode("."));

  var log = el("div", {
    className: "kcw-log", role: "log", "aria-live": "polite",
    "aria-relevant": "additions", "aria-label": "Conversation", tabindex: "0"
  });
  var typing = el("div", { className: "kcw-typing", role: "status" });
  var errorBox = el("div", { className: "kcw-error", role: "alert" });
  errorBox.hidden = true;
  var errorText = el("p");
  var retryBtn = el("button", { type: "button", className: "kcw-retry" }, "Retry");
  errorBox.appendChild(errorText);
  errorBox.appendChild(retryBtn);

  var form = el("form", { className: "kcw-form" });
  form.appendChild(el("label", { "for": "kcw-input", className: "kcw-sr" }, "Type your question"));
  var input = el("textarea", {
    id: "kcw-input", className: "kcw-input", rows: "2",
    placeholder: "Type your question\u2026", autocomplete: "off"
  });
  var sendBtn = el("button", { type: "submit", className: "kcw-send" }, "Send");
  form.appendChild(input);
  form.appendChild(sendBtn);

  [header, notice, log, typing, errorBox, form].forEach(function (n) { panel.appendChild(n); });
  root.appendChild(panel);
  root.appendChild(launcher);

  // ---- rendering -----------------------------------------------------------
  function clock(at) {
    var d = new Date(at);
    return isNaN(d) ? "" : d.toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
  }
  function renderItem(item, live, active) {
    if (item.receipt || item.notice) {  // status lines, not bubbles
      var line = el("p", { className: item.receipt ? "kcw-receipt" : "kcw-event" }, item.text);
      if (item.at) line.appendChild(el("time", { className: "kcw-time" }, " \u00b7 " + clock(item.at)));
      log.appendChild(line);
      return line;
    }
    var kind = item.from === "user" ? "user" : item.from === "staff" ? "staff" : "bot";
    var box = el("div", { className: "kcw-msg kcw-" + kind });
    box.appendChild(srOnly(kind === "user" ? "You said: " : kind === "staff" ? "" : "Assistant: "));
    if (kind === "staff") {
      box.appendChild(el("p", { className: "kcw-who" }, "Clinic staff \u00b7 " + (item.name || "")));
      appendRich(box, item.text);
    } else if (kind === "user") {
      box.appendChild(el("p", null, item.text));
    } else {
      if (item.crisis) {
        box.classList.add("kcw-crisis");
        if (live) box.setAttribute("role", "alert");
      }
      if (item.text) appendRich(box, item.text);
      if (item.meta) {  // an FAQ answer ends with its one-line "not medical advice"
        var last = box.lastElementChild;
        if (last && last.tagName === "P") last.className = "kcw-fine";
      }
      if (item.crisis) box.appendChild(crisisActions());
      if (item.meta) box.appendChild(metaNode(item.meta));
      if (item.buttons && item.buttons.length) box.appendChild(buttonsNode(item.buttons, active));
    }
    if (item.at) box.appendChild(el("time", { className: "kcw-time" }, clock(item.at)));
    log.appendChild(box);
    return box;
  }
  function crisisActions() {
    var row = el("div", { className: "kcw-actions" });
    row.appendChild(link("tel:" + crisisLine, "Call " + crisisLine));
    row.appendChild(link("sms:" + crisisLine, "Text " + crisisLine));
    row.appendChild(link("tel:" + emergency, "Call " + emergency));
    return row;
  }
  function metaNode(meta) {
    var box = el("div", { className: "kcw-meta" });
    var sources = (meta.sources || []).filter(function (s) { return typeof s === "string"; });
    if (sources.length === 1) box.appendChild(el("p", null, "Source: " + sources[0]));
    if (sources.length > 1) {
      box.appendChild(el("p", null, "Sources:"));
      var list = el("ul");
      sources.forEach(function (src) { list.appendChild(el("li", null, src)); });
      box.appendChild(list);
    }
    if (meta.reviewed_on) box.appendChild(el("p", null, "Reviewed " + String(meta.reviewed_on)));
    return box;
  }
  function buttonsNode(buttons, active) {
    var group = el("div", { className: "kcw-buttons", role: "group", "aria-label": "Suggested replies" });
    buttons.forEach(function (b) {
      var btn = el("button", { type: "button", className: "kcw-choice" }, b.title);
      btn.disabled = !active;
      btn.addEventListener("click", function () {
        send(b.payload, b.title);
        input.focus();  // the clicked button is now disabled: keep focus in the panel
      });
      group.appendChild(btn);
    });
    return group;
  }
  function disableChoices() {
    var all = log.querySelectorAll(".kcw-choice");
    for (var i = 0; i < all.length; i++) all[i].disabled = true;
  }
  function scrollDown() { log.scrollTop = log.scrollHeight; }
  function renderAll() {
    log.textContent = "";
    if (!state.items.length) {
      log.appendChild(el("p", { className: "kcw-hint" },
        "Ask about how ketamine treatment works, side effects, cost, or booking a consultation."));
    }
    state.items.forEach(function (item, i) { renderItem(item, false, i === state.items.length - 1); });
    scrollDown();
  }

  // Rasa's message list -> history items. A custom payload describes the
  // text message just before it (FAQ source/review date, crisis reply).
  function toItems(messages) {
    var items = [], lastText = null;
    (Array.isArray(messages) ? messages : []).forEach(function (m) {
      if (!m || typeof m !== "object") return;
      if (typeof m.text === "string" && m.text) {
        lastText = { from: "bot", text: m.text, at: Date.now() };
        items.push(lastText);
      }
      if (Array.isArray(m.buttons) && m.buttons.length) {
        var target = lastText || (lastText = { from: "bot", text: "" }, items.push(lastText), lastText);
        target.buttons = m.buttons.filter(function (b) {
          return b && typeof b.title === "string" && typeof b.payload === "string";
        }).map(function (b) { return { title: b.title, payload: b.payload }; });
      }
      var c = m.custom;
      if (c && typeof c === "object" && lastText) {
        if (c.type === "faq") {
          lastText.meta = { sources: Array.isArray(c.sources) ? c.sources : [], reviewed_on: c.reviewed_on || "" };
        } else if (c.type === "crisis") {
          lastText.crisis = true;
        } else if (c.type === "with_staff") {
          lastText.receipt = true;
        }
      }
    });
    return items;
  }

  // ---- sending -------------------------------------------------------------
  var busy = false, failed = null;
  function setBusy(on) {
    busy = on;
    sendBtn.disabled = on;
    typing.textContent = "";
    if (on) {
      typing.appendChild(el("span", { className: "kcw-dots", "aria-hidden": "true" }, "\u2022\u2022\u2022"));
      typing.appendChild(srOnly(state.staff ? "Sending" : "Assistant is typing"));
    }
    typing.classList.toggle("kcw-on", on);
  }
  function showError(text) {
    errorText.textContent = text;
    errorBox.hidden = false;
    retryBtn.hidden = !failed;
  }
  function hideError() { errorBox.hidden = true; }

  function post(message) {
    var ctrl = window.AbortController ? new AbortController() : null;
    var timer = ctrl ? setTimeout(function () { ctrl.abort(); }, TIMEOUT_MS) : null;
    return fetch(endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sender: state.id, message: message }),
      credentials: "omit",
      signal: ctrl ? ctrl.signal : undefined
    }).then(function (res) {
      if (res.ok) return res.json();
      var key = res.status === 413 ? "tooLong" : res.status === 403 ? "refused" : "busy";
      throw { userMessage: ERRORS[key] };  // server text is never shown
    }, function () {
      throw { userMessage: ERRORS.network };
    }).finally(function () { if (timer) clearTimeout(timer); });
  }

  function send(message, shownTitle) {
    message = String(message || "").trim();
    if (busy || !message) return;
    var typed = shownTitle == null;
    var shown = message.length > MAX_SHOWN ? message.slice(0, MAX_SHOWN) + "\u2026" : message;
    var userItem = { from: "user", text: typed ? shown : shownTitle, at: Date.now() };
    hideError();
    disableChoices();
    var hint = log.querySelector(".kcw-hint");
    if (hint) log.removeChild(hint);
    var bubble = renderItem(userItem, true, false);
    if (typed) input.value = "";
    scrollDown();
    setBusy(true);
    post(message).then(function (messages) {
      var items = toItems(messages);
      if (!items.length) throw { userMessage: ERRORS.empty };
      failed = null;
      state.items.push(userItem);
      items.forEach(function (item, i) {
        state.items.push(item);
        renderItem(item, true, i === items.length - 1);
      });
      save();
      // Long answers: show the question and the start of the answer, not the end.
      log.scrollTop = Math.max(0, bubble.offsetTop - 8);
    }).catch(function (err) {
      if (bubble.parentNode) bubble.parentNode.removeChild(bubble);
      if (typed && !input.value) input.value = message;  // keep what they typed
      failed = { message: message, title: shownTitle };
      showError((err && err.userMessage) || ERRORS.busy);
      var last = state.items[state.items.length - 1];
      if (last && last.buttons) renderAll();  // re-enable the choices
    }).finally(function () { setBusy(false); });
  }

  // ---- staff messages (takeover) -------------------------------------------
  var pollTimer = null;
  function showUnread() {
    var n = state.unread || 0;
    badge.textContent = n ? String(n) : "";
    badge.hidden = !n;
    launcher.setAttribute("aria-label", "Open chat: " + title +
      (n ? " (" + n + " new message" + (n === 1 ? "" : "s") + " from the clinic)" : ""));
  }
  function schedule() {
    clearTimeout(pollTimer);
    pollTimer = setTimeout(poll, state.staff ? HELD_POLL_MS : POLL_MS);
  }
  function poll() {
    if (!state.items.length) return schedule();  // no conversation yet
    var id = state.id;
    fetch(updatesUrl + "?sender=" + encodeURIComponent(id) + "&after=" + (state.cursor || 0), {
      credentials: "omit", cache: "no-store"
    }).then(function (res) { return res.ok ? res.json() : null; }).then(function (data) {
      if (!data || id !== state.id || !Array.isArray(data.messages)) return;
      var fresh = 0;
      data.messages.forEach(function (m) {
        if (!m || typeof m.text !== "string" || typeof m.id !== "number" || m.id <= (state.cursor || 0)) return;
        var c = m.custom || {};
        var item = { from: "staff", text: m.text, name: String(c.staff_name || ""), at: Date.parse(m.at) || Date.now() };
        if (c.notice) item.notice = String(c.notice);
        state.cursor = m.id;
        state.items.push(item);
        renderItem(item, true, false);
        fresh++;
      });
      state.staff = typeof data.with_staff === "string" ? data.with_staff : null;
      if (fresh) {
        if (panel.hidden) state.unread = (state.unread || 0) + fresh;
        showUnread();
        scrollDown();
      }
      save();
    }, function () {}).finally(schedule);
  }

  // ---- open / close and keyboard -------------------------------------------
  function open(focus) {
    panel.hidden = false;
    root.classList.add("kcw-open");
    launcher.setAttribute("aria-expanded", "true");
    state.open = true;
    state.unread = 0;
    showUnread();
    save();
    scrollDown();
    if (focus) input.focus();
  }
  function close() {
    panel.hidden = true;
    root.classList.remove("kcw-open");
    launcher.setAttribute("aria-expanded", "false");
    state.open = false;
    save();
    launcher.focus();
  }
  launcher.addEventListener("click", function () { if (panel.hidden) open(true); else close(); });
  closeBtn.addEventListener("click", close);
  clearBtn.addEventListener("click", function () {
    if (busy) return;
    state = freshState();
    state.open = true;
    showUnread();
    save();
    failed = null;
    hideError();
    renderAll();
    input.focus();
  });
  retryBtn.addEventListener("click", function () {
    if (!failed) return;
    // A typed message was put back in the box (maybe edited since): send that.
    if (failed.title == null) send(input.value || failed.message);
    else send(failed.message, failed.title);
  });
  root.addEventListener("keydown", function (e) {
    if (e.key === "Escape" && !panel.hidden) { e.preventDefault(); close(); }
  });
  input.addEventListener("keydown", function (e) {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) { e.preventDefault(); send(input.value); }
  });
  form.addEventListener("submit", function (e) { e.preventDefault(); send(input.value); });

  function mount() {
    document.body.appendChild(root);
    renderAll();
    showUnread();
    if (state.open) open(false);
    poll();
  }
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
})();
