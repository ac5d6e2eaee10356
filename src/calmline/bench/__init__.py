"""The benchmark harness behind ``calmline bench``, and its simulated microphone."""
