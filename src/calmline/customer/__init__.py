"""The difficult customer: scenario packs, the anger model, its lines and their checks."""
