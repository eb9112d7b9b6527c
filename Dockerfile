FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY standards standards
COPY mdm mdm
COPY loaders loaders
COPY api api
COPY examples examples
RUN pip install --no-cache-dir .
ENV MDM_PROFILE_PATH=/app/examples/profiles
EXPOSE 8000
CMD ["mdm", "serve", "--host", "0.0.0.0", "--port", "8000"]
