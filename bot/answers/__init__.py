"""Answering: vetted content, the NLG that renders it, and the audit of what was served."""
