FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY backfill_project backfill_project
COPY backfill backfill
COPY districts districts
COPY snapshots snapshots
COPY analytics analytics
COPY website website
COPY monitoring monitoring
COPY alerts alerts
COPY simulator simulator
COPY templates templates
COPY manage.py ./
RUN pip install --no-cache-dir .
# The admin's CSS and scripts, served by WhiteNoise from STATIC_ROOT (a throwaway key: nothing
# is signed while collecting, and no key is left in the image).
RUN DEBUG=1 SECRET_KEY=collectstatic-only VAR_DIR=/app/var python manage.py collectstatic --noinput
# A container needs its own SECRET_KEY: an empty one is refused at start (DEBUG is off).
ENV SECRET_KEY=""
EXPOSE 8000
CMD ["gunicorn", "backfill_project.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3"]
