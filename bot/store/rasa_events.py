"""Rasa's tracker-store `events` table, read by the console and the takeover code.

Rasa's SQL tracker store creates and writes the table; the project only reads
it (transcripts, who holds a conversation), so it is described here without
importing Rasa.
"""

from __future__ import annotations

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text

rasa_metadata = MetaData()
events_table = Table(
    "events",
    rasa_metadata,
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255)),
    Column("type_name", String(255)),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)
