FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY backfill_project backfill_project
COPY backfill backfill
COPY districts districts
COPY snapshots snapshots
COPY templates templates
COPY manage.py ./
RUN pip install --no-cache-dir .
EXPOSE 8000
CMD ["python", "manage.py", "runserver", "0.0.0.0:8000"]
