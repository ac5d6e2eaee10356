// calmline practice page: a call with the customer over a WebSocket.
// Microphone -> AudioWorklet (16 kHz PCM frames) -> server; the customer's speech comes
// back as WAV chunks played back to back; text messages carry the transcript, whose
// turn it is, the anger meter and, at the end, the marking.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  let socket = null;
  let ctx = null; // AudioContext: microphone capture and playback
  let worklet = null;
  let playAt = 0; // context time at which the next chunk starts
  let playing = []; // sources not yet finished (stopped on barge-in)
  let pushToTalk = false;
  let finished = false;
  const page = document.body.dataset;
  page.audioChunks = "0";
  page.state = "setup";

  function showProblem(text) {
    const p = $("problem");
    p.textContent = text;
    p.hidden = false;
  }

  function setWhose(text) { $("whose").textContent = text; }

  const LABELS = { learner: "You", customer: "Customer", examiner: "Examiner" };

  function addTurn(turn) {
    const li = window.calmlineTranscript.addTurn($("transcript"), turn, LABELS);
    if (li) li.scrollIntoView({ block: "nearest" });
  }

  function showAnger(a) {
    $("meter").hidden = false;
    $("meter-fill").style.width = Math.max(0, Math.min(100, a.anger)) + "%";
    $("meter-text").textContent = "anger " + Math.round(a.anger) + " " + a.band;
  }

  function showMarking(m) {
    finished = true;
    page.state = "marked";
    $("results").hidden = false;
    $("outcome").textContent = "Outcome: " + m.outcome.replace("_", " ");
    const body = $("marks").querySelector("tbody");
    for (const r of m.rubrics) {
      const tr = document.createElement("tr");
      for (const [text, cls] of [[r.title, ""], [Math.round(r.score * 100) + "%", "num"],
                                 [r.passed ? "pass" : "not yet", r.passed ? "pass" : "fail"]]) {
        const td = document.createElement("td");
        td.textContent = text;
        if (cls) td.className = cls;
        tr.appendChild(td);
      }
      body.appendChild(tr);
    }
    $("summary").textContent = m.summary;
    $("session-link").href = m.session_url;
    if (m.report_url) { $("report-link").href = m.report_url; $("report-link").hidden = false; }
    setWhose("The call is over.");
  }

  async function playChunk(data) {
    if (!ctx) return;
    const buffer = await ctx.decodeAudioData(data);
    const source = ctx.createBufferSource();
    source.buffer = buffer;
    source.connect(ctx.destination);
    playAt = Math.max(playAt, ctx.currentTime + 0.02);
    source.start(playAt);
    playAt += buffer.duration;
    playing.push(source);
    source.onended = () => { playing = playing.filter((s) => s !== source); };
    page.audioChunks = String(Number(page.audioChunks) + 1);
  }

  function stopAudio() {
    for (const s of playing) { try { s.stop(); } catch (e) { /* already ended */ } }
    playing = [];
    playAt = 0;
  }

  function onMessage(event) {
    if (typeof event.data !== "string") { playChunk(event.data); return; }
    const m = JSON.parse(event.data);
    switch (m.type) {
      case "ready":
        page.state = "live";
        page.sessionId = m.session_id;
        $("call-title").textContent = m.title + " with " + m.persona +
          (m.face_to_face ? " (face to face)" : " (on the phone)");
        startMicrophone();
        break;
      case "status": setWhose(m.text); page.whose = m.whose; break;
      case "turn": addTurn(m); break;
      case "anger": showAnger(m); break;
      case "note": $("mic-state").textContent = m.text; break;
      case "audio_stop": stopAudio(); break;
      case "marking": showMarking(m); break;
      case "error": showProblem(m.message); page.problem = m.code; break;
    }
  }

  async function startMicrophone() {
    const md = navigator.mediaDevices;
    if (!md || !md.getUserMedia || !window.AudioWorkletNode) {
      $("mic-state").textContent = "This browser cannot use a microphone here: type your turns below.";
      page.mic = "none";
      return;
    }
    let stream;
    try {
      stream = await md.getUserMedia({ audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true } });
    } catch (e) {
      const refused = e && (e.name === "NotAllowedError" || e.name === "SecurityError");
      $("mic-state").textContent = refused
        ? "Microphone permission was refused: type your turns below (or allow the microphone and reload)."
        : "No microphone was found: type your turns below.";
      page.mic = "none";
      return;
    }
    await ctx.audioWorklet.addModule("/static/pcm-worklet.js");
    const input = ctx.createMediaStreamSource(stream);
    worklet = new AudioWorkletNode(ctx, "pcm-frames");
    page.framesSent = "0";
    page.framesVoiced = "0"; // frames with any sound: none while push-to-talk is released
    worklet.port.onmessage = (e) => {
      if (socket && socket.readyState === WebSocket.OPEN && !finished) socket.send(e.data);
      page.framesSent = String(Number(page.framesSent) + 1);
      if (new Int16Array(e.data).some((v) => v !== 0)) {
        page.framesVoiced = String(Number(page.framesVoiced) + 1);
      }
    };
    worklet.port.postMessage({ muted: pushToTalk });
    input.connect(worklet);
    // The worklet must be pulled to run; its output is silent.
    const mute = ctx.createGain();
    mute.gain.value = 0;
    worklet.connect(mute).connect(ctx.destination);
    page.mic = "on";
    $("mic-state").textContent = pushToTalk
      ? "Microphone on: hold the button (or the space bar) while you speak."
      : "Microphone on: just speak. You can talk over the customer.";
  }

  function talk(held) {
    if (!pushToTalk || !worklet) return;
    worklet.port.postMessage({ muted: !held });
    $("talk").classList.toggle("held", held);
  }

  function start() {
    pushToTalk = $("ptt").checked;
    ctx = new AudioContext();
    $("setup").hidden = true;
    $("call").hidden = false;
    $("talk").hidden = !pushToTalk;
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/practice/ws");
    socket.binaryType = "arraybuffer";
    socket.onopen = () => {
      setWhose("Loading the customer…");
      socket.send(JSON.stringify({ type: "start", scenario: $("scenario").value, exam: $("exam").checked }));
    };
    socket.onmessage = onMessage;
    socket.onclose = (e) => {
      page.state = finished ? "marked" : "closed";
      if (!finished && !page.problem) {
        showProblem("The connection to the server was lost (" + (e.reason || e.code) +
          "). What you said so far is saved; reload to start a new call.");
      }
    };
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("start").addEventListener("click", start);
    $("end").addEventListener("click", () => {
      if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "end" }));
    });
    $("typed").addEventListener("submit", (e) => {
      e.preventDefault();
      const box = $("typed-text");
      const text = box.value.trim();
      if (text && socket && socket.readyState === WebSocket.OPEN) {
        socket.send(JSON.stringify({ type: "text", text: text }));
        box.value = "";
      }
    });
    const button = $("talk");
    button.addEventListener("pointerdown", () => talk(true));
    button.addEventListener("pointerup", () => talk(false));
    button.addEventListener("pointerleave", () => talk(false));
    document.addEventListener("keydown", (e) => {
      if (e.code === "Space" && e.target === document.body) { e.preventDefault(); talk(true); }
    });
    document.addEventListener("keyup", (e) => { if (e.code === "Space") talk(false); });
  });
})();
