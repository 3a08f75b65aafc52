# The official Rasa 3.6.21 image plus kiwipiepy, which nlu/rasa/kiwi_tokenizer.py needs.
# The generated training data and the Rasa project are mounted by docker-compose.yml.
FROM rasa/rasa:3.6.21
USER root
RUN pip install --no-cache-dir "kiwipiepy>=0.18,<0.25" \
    && mkdir -p /app/models && chown 1001:0 /app/models
USER 1001
ENV PYTHONPATH=/app/nlu/rasa \
    RASA_TELEMETRY_ENABLED=false
