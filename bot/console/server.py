"""Serving the console: waitress (a production WSGI server) if installed, else Flask's."""

from __future__ import annotations

import logging

from bot.config import Settings
from bot.console.accounts import seed_from_settings
from bot.console.app import create_app
from bot.store.db import init_db

logger = logging.getLogger(__name__)


def serve(settings: Settings) -> int:
    """Create the tables, seed the dev account if configured, and serve until stopped."""
    app = create_app(settings)  # refuses a placeholder secret in production first
    init_db(settings.database_url)
    seed_from_settings(settings)
    host, port = settings.console_host, settings.console_port
    try:
        from waitress import serve as waitress_serve
    except ImportError:
        if settings.is_production:
            raise SystemExit("waitress is not installed: pip install -r requirements.txt") from None
        logger.warning("waitress is not installed: using Flask's development server")
        app.run(host=host, port=port, debug=False, use_reloader=False)
        return 0
    logger.info("Staff console on http://%s:%s/", host, port)
    waitress_serve(app, host=host, port=port, threads=8, ident="console")
    return 0
