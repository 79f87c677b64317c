"""Patient-education assistant for ketamine-therapy clinics (Rasa 3.6 project package)."""
