"""The staff side: escalations, leads and handoffs, office hours, and the alert outbox."""
