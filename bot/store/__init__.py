"""Storage: database engine and sessions, the tables, Rasa's tracker and lock stores, retention."""
