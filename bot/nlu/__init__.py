"""Understanding: the trained NLU components (intent, content item) and their text features."""
