#!/bin/sh
# The Rasa server as the image runs it (extra arguments are appended): JSON logs
# with personal data masked, and Rasa's HTTP API, which the staff console's
# takeover uses (bot/staff/takeover.py), only when RASA_API_TOKEN is set.
set -e
if [ -n "${RASA_API_TOKEN:-}" ]; then
    # One argument: a token that starts with "-" is not taken for an option.
    set -- --enable-api "--auth-token=$RASA_API_TOKEN" "$@"
fi
exec rasa run --model "${RASA_MODEL:-models}" --port 5005 \
    --endpoints endpoints.yml --credentials credentials.yml \
    --logging-config-file deploy/logging.yml "$@"
