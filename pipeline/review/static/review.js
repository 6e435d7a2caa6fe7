// The review app's lesson page: selection, dragging, keys, requests. No pipeline logic:
// the server converts times, writes the sidecar and aligns; this file shows what it returns.
(function () {
  "use strict";
  var body = document.body;
  var lesson = body.getAttribute("data-lesson");
  var frame = parseInt(body.getAttribute("data-frame"), 10) || 40;
  var token = document.querySelector('meta[name="review-token"]').getAttribute("content");
  var state = JSON.parse(document.getElementById("review-state").textContent);
  var status = JSON.parse(document.getElementById("review-status").textContent);
  var api = "/_/api/" + encodeURIComponent(lesson) + "/";
  var video = document.getElementById("player");
  var timeline = document.getElementById("timeline");
  var playhead = document.getElementById("playhead");
  var notice = document.getElementById("notice");
  var selected = null;
  var undo = [];
  var busy = false;

  function $(id) { return document.getElementById(id); }
  function cue(id) { return state.cues.find(function (c) { return c.id === id; }) || null; }
  function clock(s) {
    var ms = Math.max(0, Math.round(s * 1000)), m = Math.floor(ms / 60000);
    var sec = Math.floor(ms / 1000) % 60, f = ms % 1000;
    return m + ":" + String(sec).padStart(2, "0") + "." + String(f).padStart(3, "0");
  }
  function say(text, kind) {
    notice.textContent = text;
    notice.className = "notice" + (kind ? " " + kind : "");
    notice.hidden = !text;
  }
  function saved(ok) { $("saved").classList.toggle("ok", ok); }

  // --- drawing what the server said ---------------------------------------------------
  function draw() {
    state.cues.forEach(function (c) {
      var mk = timeline.querySelector('.mk[data-id="' + c.id + '"]');
      var bar = timeline.querySelector('.bar[data-bar="' + c.id + '"]');
      if (mk) {
        mk.style.left = c.left + "%";
        mk.style.setProperty("--c", c.colour);
        mk.classList.toggle("pinned", c.pinned);
        mk.classList.toggle("flip", c.left > 94);
        mk.classList.toggle("selected", c.id === selected);
      }
      if (bar) { bar.style.left = c.left + "%"; bar.style.width = c.width + "%"; bar.style.setProperty("--c", c.colour); }
      var row = document.querySelector('#cue-list li[data-id="' + c.id + '"]');
      if (row) {
        row.classList.toggle("selected", c.id === selected);
        row.style.setProperty("--c", c.colour);
        row.querySelector(".when").textContent = c.video_clock;
        row.querySelector(".conf").textContent = c.confidence.toFixed(2);
      }
    });
    drawEditor();
    drawCuts();
  }

  function drawEditor() {
    var c = selected && cue(selected);
    $("ed-empty").hidden = !!c;
    $("ed-body").hidden = !c;
    $("undo").disabled = !undo.length;
    if (!c) return;
    var editor = $("editor");
    editor.style.setProperty("--c", c.colour);
    $("ed-kind").textContent = c.label;
    $("ed-kind").className = "kind " + c.kind;
    $("ed-n").textContent = "#" + c.n + " · line " + c.line;
    $("ed-text").textContent = c.text;
    $("ed-conf").textContent = c.confidence.toFixed(2);
    $("ed-at").textContent = c.clock;
    $("ed-video").textContent = "caption time · " + c.video_clock + " in the video";
    $("ed-until").textContent = c.end_clock;
    $("ed-until-state").textContent = c.pinned_end ? "pinned end" : "automatic";
    $("ed-method").textContent = c.pinned ? "◆ pinned in " + state.sidecar
      : c.pinned_elsewhere ? "pinned in the script's frontmatter" : (c.method + (c.reason ? " · " + c.reason : ""));
    $("ed-before").textContent = c.before || "(start of narration)";
    $("ed-pin").textContent = c.label;
    $("ed-after").textContent = c.after || "(end of narration)";
    $("ed-capno").textContent = c.caption_index ? String(c.caption_index) : "";
    var cap = $("ed-caption");
    cap.textContent = "";
    var p = c.caption;
    if (!p) { cap.textContent = "no caption at this time"; return; }
    function span(cls, text) { var el = document.createElement(cls === "mark" ? "mark" : "span"); if (cls !== "mark") el.className = cls; el.textContent = text; cap.appendChild(el); }
    if (p.prev) span("nb", p.prev + " ");
    span("", p.before);
    if (p.word) span("mark", p.word);
    span("", p.after);
    if (p.next) span("nb", " " + p.next);
  }

  function select(id, seek) {
    selected = id;
    draw();
    var c = cue(id);
    if (c && seek && video) { video.currentTime = c.video; }
  }

  // --- writes ---------------------------------------------------------------------------
  function post(path, payload) {
    return fetch(api + path, {
      method: "POST", headers: { "Content-Type": "application/json", "X-Review-Token": token },
      body: JSON.stringify(payload), credentials: "same-origin"
    }).then(function (r) {
      return r.json().then(function (doc) { if (!r.ok) throw new Error(doc.error || r.statusText); return doc; });
    });
  }

  function change(payload, remember) {
    var c = cue(payload.id);
    if (!c || busy) return;
    var before = { id: c.id, pinned: c.pinned, at: c.at, until: c.until, pinned_end: c.pinned_end };
    payload.version = state.version;
    busy = true;
    saved(false);
    post("pin", payload).then(function (doc) {
      if (remember !== false) undo.push(before);
      state = doc.state;
      if (doc.conflict) say(doc.message, "conflict");
      else if (doc.message) say(doc.message, "warn");
      else say("", "");
      saved(true);
      draw();
    }).catch(function (err) { say(err.message, "error"); }).finally(function () { busy = false; });
  }

  function undoLast() {
    var last = undo.pop();
    if (!last) return;
    if (!last.pinned) change({ id: last.id, unpin: true }, false);
    else change({ id: last.id, at: last.at, until: last.pinned_end ? last.until : null }, false);
  }

  function act(action) {
    if (action === "undo") return undoLast();
    if (!selected) return;
    var now = video ? video.currentTime : 0;
    if (action === "here") change({ id: selected, video: now });
    else if (action === "end") change({ id: selected, until_video: now });
    else if (action === "clear-end") change({ id: selected, until: null });
    else if (action === "unpin") change({ id: selected, unpin: true });
  }

  function nudge(step) {
    if (!selected) return;
    var ms = step === "frame" ? frame : step === "-frame" ? -frame : parseInt(step, 10);
    change({ id: selected, nudge: ms });
  }

  // --- the timeline: click, drag, playhead ------------------------------------------------
  var drag = null;
  timeline.addEventListener("pointerdown", function (e) {
    var mk = e.target.closest(".mk");
    if (!mk) return;
    e.preventDefault();
    mk.setPointerCapture(e.pointerId);
    drag = { el: mk, id: mk.getAttribute("data-id"), x: e.clientX, moved: false, frac: 0 };
    select(drag.id, false);
  });
  timeline.addEventListener("pointermove", function (e) {
    if (!drag) return;
    if (Math.abs(e.clientX - drag.x) > 3) drag.moved = true;
    if (!drag.moved) return;
    var box = timeline.getBoundingClientRect();
    drag.frac = Math.min(1, Math.max(0, (e.clientX - box.left) / box.width));
    drag.el.style.left = (100 * drag.frac) + "%";
    drag.el.classList.add("dragging");
    var tip = $("drag-time");
    tip.hidden = false;
    tip.style.left = (100 * drag.frac) + "%";
    tip.textContent = clock(drag.frac * state.duration);
    if (video) video.currentTime = drag.frac * state.duration;
  });
  function endDrag() {
    if (!drag) return;
    var d = drag;
    drag = null;
    d.el.classList.remove("dragging");
    $("drag-time").hidden = true;
    if (d.moved) change({ id: d.id, video: Math.round(d.frac * state.duration * 1000) / 1000 });
    else { var c = cue(d.id); if (c && video) video.currentTime = c.video; }
  }
  timeline.addEventListener("pointerup", endDrag);
  timeline.addEventListener("pointercancel", endDrag);

  function tick() {
    if (video && state.duration > 0) playhead.style.left = (100 * video.currentTime / state.duration) + "%";
  }
  if (video) {
    video.addEventListener("timeupdate", tick);
    video.addEventListener("seeked", tick);
    (function loop() { if (!video.paused) tick(); requestAnimationFrame(loop); })();
  }

  // --- clicks -----------------------------------------------------------------------------
  document.addEventListener("click", function (e) {
    var item = e.target.closest("#cue-list li[data-id]");
    if (item) return select(item.getAttribute("data-id"), true);
    var seek = e.target.closest("[data-seek]");
    if (seek && video) {
      video.currentTime = parseFloat(seek.getAttribute("data-seek"));
      var index = seek.getAttribute("data-caption");
      var block = index && timeline.querySelector('.cap[data-caption="' + index + '"]');
      if (block) { block.classList.add("flash"); setTimeout(function () { block.classList.remove("flash"); }, 1200); }
      video.play().catch(function () {});
      return;
    }
    var button = e.target.closest("button[data-nudge]");
    if (button) return nudge(button.getAttribute("data-nudge"));
    var action = e.target.closest("button[data-action]");
    if (action) return act(action.getAttribute("data-action"));
  });

  // --- keys -------------------------------------------------------------------------------
  function step(by) {
    var order = state.cues.slice().sort(function (a, b) { return a.video - b.video; });
    var k = order.findIndex(function (c) { return c.id === selected; });
    var next = order[k < 0 ? 0 : Math.min(order.length - 1, Math.max(0, k + by))];
    if (next) select(next.id, true);
  }
  document.addEventListener("keydown", function (e) {
    if (e.target.closest("input, textarea, select") || e.altKey || e.metaKey) return;
    var key = e.key;
    var handled = true;
    if (key === " " && video) { if (video.paused) video.play().catch(function () {}); else video.pause(); }
    else if (key === "ArrowLeft") nudge(e.shiftKey ? "-100" : "-frame");
    else if (key === "ArrowRight") nudge(e.shiftKey ? "100" : "frame");
    else if (e.ctrlKey && (key === "z" || key === "Z")) undoLast();
    else if (e.ctrlKey) handled = false;
    else if (key === "c" || key === "C" || key === "Enter") act("here");
    else if (key === "e" || key === "E") act("end");
    else if (key === "x" || key === "X") act("clear-end");
    else if (key === "u" || key === "U") act("unpin");
    else if (key === "z" || key === "Z") undoLast();
    else if (key === "j" || key === "J") step(-1);
    else if (key === "k" || key === "K") step(1);
    else if (key === "r" || key === "R") rebuild();
    else handled = false;
    if (handled) e.preventDefault();
  });

  // --- rebuild ----------------------------------------------------------------------------
  var progress = $("progress");
  function showStatus(s) {
    var running = s.state === "running";
    progress.hidden = !running && s.state === "idle";
    progress.classList.toggle("indeterminate", running && s.fraction == null);
    progress.querySelector("i").style.width = running ? (s.fraction != null ? Math.round(100 * s.fraction) + "%" : "") : "100%";
    progress.querySelector("span").textContent = running ? (s.step || "working") + (s.fraction != null ? " " + Math.round(100 * s.fraction) + "%" : "")
      : s.state === "failed" ? "failed" : s.state === "idle" ? "" : "done in " + s.seconds + " s";
    $("rebuild").disabled = running;
  }
  function poll(run) {
    fetch(api + "rebuild", { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (s) {
      showStatus(s);
      if (s.state === "running") return setTimeout(function () { poll(run); }, 200);
      if (s.state === "failed" || s.state === "skipped") return say("Rebuild " + s.state + ": " + s.message, "error");
      sessionStorage.setItem("review:" + lesson, JSON.stringify({ t: video ? video.currentTime : 0, cue: selected, run: s.run, seconds: s.seconds, undo: undo }));
      location.reload();
    }).catch(function (err) { say(err.message, "error"); });
  }
  function rebuild() {
    if ($("rebuild").disabled) return;
    post("rebuild", {}).then(function (s) { showStatus(s); poll(s.run); }).catch(function (err) { say(err.message, "error"); });
  }
  $("rebuild").addEventListener("click", rebuild);

  // a file changed underneath the page (another tab, a hand edit): show it
  function refresh() {
    fetch(api + "state", { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (doc) {
      if (doc.version && doc.version !== state.version) {
        say(state.sidecar + " changed outside this page; the cues now show it", "conflict");
        state = doc;
        draw();
      }
    }).catch(function () {});
  }
  window.addEventListener("focus", refresh);

  // --- cuts: splice markers and spans on the timeline, the list, the editor's choices ------
  var cutKey = null;  // the selected cut (a caption second inside it)
  var marks = { in: null, out: null };  // video seconds, for a new cut
  function drawCuts() {
    var lane = $("cut-lane"), list = $("cut-list");
    if (!lane || !list) return;
    var cuts = state.cuts || [];
    lane.textContent = "";
    list.textContent = "";
    if (cutKey !== null && !cuts.some(function (c) { return c.key === cutKey; })) cutKey = null;
    cuts.forEach(function (c) {
      var el = document.createElement("div");
      el.className = (c.in_video ? "cutmk" : "cutspan") + (c.pending ? " pending" : "") + (c.key === cutKey ? " selected" : "");
      el.style.left = c.left + "%";
      if (!c.in_video) el.style.width = c.width + "%";
      el.title = c.length.toFixed(1) + " s · " + c.label + (c.words ? ": " + c.words : "") + " · " + c.status;
      el.setAttribute("data-cut-key", String(c.key));
      lane.appendChild(el);

      var li = document.createElement("li");
      li.setAttribute("data-cut-key", String(c.key));
      li.className = (c.cut_next ? "" : "kept") + (c.key === cutKey ? " selected" : "");
      var head = document.createElement("div");
      var what = document.createElement("span");
      what.className = "what";
      what.textContent = c.label + " · " + c.length.toFixed(1) + " s";
      head.appendChild(what);
      var when = document.createElement("span");
      when.className = "st";
      when.textContent = "  " + c.video_clock;
      head.appendChild(when);
      li.appendChild(head);
      if (c.words) {
        var words = document.createElement("div");
        words.className = "words";
        words.textContent = "“" + c.words + "”";
        li.appendChild(words);
      }
      var st = document.createElement("div");
      st.className = "st" + (c.pending ? " pending" : "");
      st.textContent = c.status + " · " + c.clock + "–" + c.end_clock + " caption time" + (c.pending ? " · rebuild to apply" : "");
      li.appendChild(st);
      var acts = document.createElement("div");
      acts.className = "acts";
      function button(label, action, title, extra) {
        var b = document.createElement("button");
        b.type = "button";
        b.textContent = label;
        b.title = title;
        b.setAttribute("data-cut", action);
        if (extra) { b.setAttribute("data-edge", extra[0]); b.setAttribute("data-by", String(extra[1])); }
        acts.appendChild(b);
      }
      if (c.fixed) {
        st.textContent += " · before the first caption: change it with the course's [cuts] head setting";
      } else if (c.cut_next) {
        button(c.manual ? "Remove" : "Restore", "restore", c.manual ? "remove this cut" : "keep this material in the lesson");
        button("◂ start", "nudge", "widen: start 100 ms earlier", ["start", -100]);
        button("start ▸", "nudge", "narrow: start 100 ms later", ["start", 100]);
        button("◂ end", "nudge", "narrow: end 100 ms earlier", ["end", -100]);
        button("end ▸", "nudge", "widen: end 100 ms later", ["end", 100]);
      } else {
        button("Cut again", "cut", "cut this material out again");
      }
      li.appendChild(acts);
      list.appendChild(li);
    });
    $("cut-count").textContent = cuts.filter(function (c) { return c.cut_next; }).length + " of " + cuts.length + " cut";
    var err = $("cut-error");
    err.hidden = !state.cuts_error;
    err.textContent = state.cuts_error || "";
    $("mark-in").textContent = marks.in === null ? "–" : clock(marks.in);
    $("mark-out").textContent = marks.out === null ? "–" : clock(marks.out);
    $("cut-add").disabled = marks.in === null || marks.out === null || marks.in === marks.out;
  }

  function cutAction(payload) {
    if (busy) return Promise.resolve(null);
    payload.version = state.version;
    busy = true;
    saved(false);
    return post("cut", payload).then(function (doc) {
      state = doc.state;
      say(doc.message || "", doc.conflict ? "conflict" : "");
      saved(true);
      draw();
      return doc;
    }).catch(function (err) { say(err.message, "error"); return null; }).finally(function () { busy = false; });
  }

  function selectCut(key) {
    cutKey = key;
    var c = (state.cuts || []).find(function (x) { return x.key === key; });
    if (c && video) video.currentTime = Math.max(0, c.video - 1);  // just before the splice
    drawCuts();
  }

  document.addEventListener("click", function (e) {
    var b = e.target.closest("button[data-cut]");
    if (b) {
      var action = b.getAttribute("data-cut");
      if (action === "add") {
        cutAction({ action: "add", from_video: marks.in, to_video: marks.out }).then(function (doc) {
          if (doc) { marks.in = marks.out = null; drawCuts(); }
        });
        return;
      }
      var key = parseFloat(b.closest("[data-cut-key]").getAttribute("data-cut-key"));
      var payload = { action: action, key: key };
      if (action === "nudge") { payload.edge = b.getAttribute("data-edge"); payload.by = parseInt(b.getAttribute("data-by"), 10); }
      cutKey = key;
      cutAction(payload);
      return;
    }
    var item = e.target.closest("[data-cut-key]");
    if (item) selectCut(parseFloat(item.getAttribute("data-cut-key")));
  });
  document.addEventListener("keydown", function (e) {
    if (e.target.closest("input, textarea, select") || e.altKey || e.metaKey || e.ctrlKey || !video) return;
    if (e.key === "i" || e.key === "I") marks.in = video.currentTime;
    else if (e.key === "o" || e.key === "O") marks.out = video.currentTime;
    else return;
    if (marks.in !== null && marks.out !== null && marks.out < marks.in) { var t = marks.in; marks.in = marks.out; marks.out = t; }
    e.preventDefault();
    drawCuts();
  });

  // --- back after a rebuild: the same moment, the same cue ---------------------------------
  var back = sessionStorage.getItem("review:" + lesson);
  sessionStorage.removeItem("review:" + lesson);
  if (back) {
    back = JSON.parse(back);
    if (back.cue && cue(back.cue)) selected = back.cue;
    undo = (back.undo || []).filter(function (u) { return cue(u.id); });
    if (video) {
      var restore = function () { video.currentTime = back.t; tick(); };
      if (video.readyState >= 1) restore(); else video.addEventListener("loadedmetadata", restore, { once: true });
    }
    say("Rebuilt in " + back.seconds + " s: the player shows the new render.", "");
  }
  if (status.state === "running") { showStatus(status); poll(status.run); }
  if (!selected && state.cues.length) {
    var worst = state.cues.slice().sort(function (a, b) { return a.confidence - b.confidence; })[0];
    selected = worst.id;
  }
  draw();
  window.review = { state: function () { return state; }, select: select, cut: cutAction };
})();
