"""Reading how a learner turn sounds: tags with confidences, a direction, and their cues."""
