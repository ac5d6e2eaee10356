// Session page: clicking an evidence quote (or a point of the anger timeline) scrolls to
// its turn, highlights it and plays the turn's audio from where the quote starts.
"use strict";

function showTurn(index, offset, play) {
  const turn = document.getElementById("turn-" + index);
  if (!turn) return;
  document.querySelectorAll(".turn.current").forEach((el) => el.classList.remove("current"));
  turn.classList.add("current");
  turn.scrollIntoView({ behavior: "smooth", block: "center" });
  const audio = document.getElementById("audio-" + index);
  if (!audio || !play) return;
  document.querySelectorAll("audio").forEach((a) => { if (a !== audio) a.pause(); });
  try { audio.currentTime = offset || 0; } catch (e) { /* not loaded yet: start at 0 */ }
  const played = audio.play();
  if (played && played.catch) played.catch(() => {});  // autoplay policies may refuse
}

document.addEventListener("click", (event) => {
  const link = event.target.closest("a.evidence, a.point-link[data-turn]");
  if (!link) return;
  if (!document.getElementById("turn-" + link.dataset.turn)) return;  // on another page: follow the link
  event.preventDefault();
  const index = link.dataset.turn;
  history.replaceState(null, "", "#turn-" + index);
  showTurn(index, parseFloat(link.dataset.offset || "0"), link.classList.contains("evidence"));
});

document.addEventListener("DOMContentLoaded", () => {
  const match = /^#turn-(\d+)$/.exec(location.hash);
  if (match) showTurn(match[1], 0, false);
});
