"""Dialogue: how Rasa's policies see a conversation (speed-ups of Rasa's own code)."""
