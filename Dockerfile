# The Muutostutka image: the `tutka` command line (worker, publish, replay, demo, ...).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    TUTKA_METRICS__HOST=0.0.0.0 TUTKA_METRICS__PORT=9480 \
    TUTKA_KAFKA__DATA_DIR=/var/lib/tutka/worker
WORKDIR /opt/muutostutka
COPY pyproject.toml README.md LICENSE ./
COPY tutka ./tutka
RUN pip install --no-cache-dir . && useradd --system --home /var/lib/tutka --create-home tutka
USER tutka
WORKDIR /var/lib/tutka
EXPOSE 9480 8080
ENTRYPOINT ["tutka"]
CMD ["--help"]
