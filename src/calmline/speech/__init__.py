"""Sound in and out: audio files, devices, end of turn, speech to text, speech out, voice cues."""
