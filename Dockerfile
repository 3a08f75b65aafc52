# The gopa-desk service image: the web app (`gopa serve`) and the notifier worker (`gopa worker`).
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
COPY pyproject.toml README.md ./
COPY core core
COPY knowledge_base knowledge_base
COPY nlu nlu
COPY bot bot
COPY notifier notifier
COPY desk desk
COPY api api
COPY migrations migrations
COPY alembic.ini ./
RUN pip install --no-cache-dir . && useradd --system --uid 10001 gopa
USER gopa
EXPOSE 8000
CMD ["gopa", "serve", "--host", "0.0.0.0", "--port", "8000"]
