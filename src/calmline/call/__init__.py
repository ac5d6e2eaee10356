"""One practice call: learner inputs, the call loop, speculation, replies, the session on disk."""
