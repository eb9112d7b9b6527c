FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY standards standards
COPY mdm mdm
COPY loaders loaders
COPY api api
COPY examples examples
RUN pip install --no-cache-dir . \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/mdm --shell /usr/sbin/nologin mdm \
    && mkdir -p /var/lib/mdm/loads \
    && chown -R mdm:mdm /var/lib/mdm
# Run as the unprivileged user; what it writes (load reports, an embedded database under ./var) lives under
# /var/lib/mdm, which a named volume mounted there inherits.
ENV MDM_PROFILE_PATH=/app/examples/profiles \
    MDM_REPORT_DIR=/var/lib/mdm/loads
USER mdm:mdm
WORKDIR /var/lib/mdm
EXPOSE 8000
# The slim image has no curl: ask /health with the Python the image has (503 or no answer is unhealthy).
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=4).status != 200)"]
# one worker per CPU on PostgreSQL (MDM_WORKERS to change)
CMD ["mdm", "serve", "--host", "0.0.0.0", "--port", "8000"]
