"""Verification: does each chunk's audio say its text? A recognizer transcribes it and aligns the text to it."""
