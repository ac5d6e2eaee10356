// calmline live view: follows one call in progress through server-sent events.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const angers = [];

  const LABELS = { learner: "Learner", customer: "Customer", examiner: "Examiner" };

  function addTurn(turn) {
    window.calmlineTranscript.addTurn($("transcript"), turn, LABELS);
    document.body.dataset.turns = String($("transcript").children.length);
  }

  function addAnger(a) {
    angers.push(a.anger);
    $("meter-fill").style.width = Math.max(0, Math.min(100, a.anger)) + "%";
    $("meter-text").textContent = "anger " + Math.round(a.anger) + " " + a.band;
    const step = angers.length > 1 ? 580 / (angers.length - 1) : 0;
    const points = angers.map((v, i) => (10 + i * step).toFixed(1) + "," + (150 - v * 1.4).toFixed(1));
    const svg = $("anger-timeline");
    svg.querySelector("polyline").setAttribute("points", points.join(" "));
    for (const dot of svg.querySelectorAll("circle")) dot.remove();
    points.forEach((xy, i) => {
      const [x, y] = xy.split(",");
      const dot = document.createElementNS("http://www.w3.org/2000/svg", "circle");
      dot.setAttribute("class", "dot anger");
      dot.setAttribute("cx", x);
      dot.setAttribute("cy", y);
      dot.setAttribute("r", "4");
      const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
      title.textContent = (i === 0 ? "start" : "after turn " + i) + ": anger " + Math.round(angers[i]);
      dot.appendChild(title);
      svg.appendChild(dot);
    });
    document.body.dataset.angerPoints = String(angers.length);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const events = new EventSource($("live").dataset.events);
    events.onmessage = (e) => {
      const m = JSON.parse(e.data);
      if (m.type === "turn") addTurn(m);
      else if (m.type === "anger") addAnger(m);
      else if (m.type === "status") $("whose").textContent = m.text;
      else if (m.type === "ended") {
        events.close();
        $("whose").textContent = "The call is over (" + m.outcome.replace("_", " ") + ").";
        $("session-link").href = m.session_url;
        $("ended").hidden = false;
        document.body.dataset.ended = "1";
      }
    };
  });
})();
