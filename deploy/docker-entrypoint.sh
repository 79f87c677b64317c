#!/bin/sh
# Container entry point: with APP_ENV=production, refuse to start any process
# while a secret is still a placeholder (exit status 2, message on stderr),
# then run the container's command.
set -e
if [ "${APP_ENV:-development}" = "production" ]; then
    python -m bot config check >/dev/null
fi
exec "$@"
