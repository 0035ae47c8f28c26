"""A TTS training corpus written as its takes pass: WAVs, a manifest, and the layouts trainers load."""
