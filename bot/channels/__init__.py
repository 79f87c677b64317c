"""Custom Rasa input channels (website widget, SMS)."""
