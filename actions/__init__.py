"""Rasa custom actions (the action server imports this package at start-up).

In production the action server logs JSON with personal data masked, and
refuses to start with placeholder secrets, like every other process.
"""

from bot.config import get_settings, require_production_ready
from bot.ops.logging_setup import configure_logging

if get_settings().is_production:
    require_production_ready(get_settings(), process="the action server")
    configure_logging(get_settings())
