// calmline: one transcript line (speaker, stage direction, text) for the practice page
// and the live view; text is set as text, never as markup.
"use strict";

window.calmlineTranscript = {
  addTurn(list, turn, labels) {
    if (document.getElementById("turn-" + turn.index)) return null;
    const li = document.createElement("li");
    li.className = turn.speaker;
    li.id = "turn-" + turn.index;
    const label = document.createElement("strong");
    label.textContent = labels[turn.speaker] + ": ";
    li.appendChild(label);
    if (turn.stage_direction) {
      const stage = document.createElement("span");
      stage.className = "stage";
      stage.textContent = "[" + turn.stage_direction + "] ";
      li.appendChild(stage);
    }
    li.appendChild(document.createTextNode(turn.text));
    list.appendChild(li);
    return li;
  },
};
