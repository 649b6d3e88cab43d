# syntax=docker/dockerfile:1
# Report QA: CPU-only image, no torch. Serving and indexing run the embedder on ONNX Runtime; its
# export (int8) is made once on the build host (`make install`, which needs torch) and copied in.
# The index is built at start when missing (or stale) from the corpus in the /data volume.
# `make image` builds it (see README, "Image"); BASE is any Debian bookworm root file system.

ARG BASE=debian:bookworm-slim

FROM ${BASE} AS runtime-base
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      python3=3.11.2-1+b1 python3-venv=3.11.2-1+b1 libgomp1=12.2.0-14+deb12u1 \
 && rm -rf /var/lib/apt/lists/*

FROM runtime-base AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PATH=/opt/venv/bin:$PATH
RUN python3 -m venv /opt/venv
WORKDIR /src
COPY pyproject.toml README.md ./
COPY indexer indexer
COPY qa qa
COPY service service
COPY eval eval
# The core dependencies and the Milvus client; no `export` extra, so neither torch nor sentence-transformers. An
# optional build secret `ca` (a CA bundle) lets pip through a TLS-inspecting proxy, as on the build
# machines here; the bundle is mounted for this step only and never stored in a layer.
# hadolint ignore=DL3013
RUN --mount=type=secret,id=ca,required=false \
    if [ -s /run/secrets/ca ]; then export PIP_CERT=/run/secrets/ca; fi \
 && pip install ".[milvus]" \
 && ! python -c "import torch" 2>/dev/null

FROM runtime-base
RUN useradd --create-home --uid 10001 app \
 && mkdir -p /data/corpus /data/index \
 && chown -R app:app /data
COPY --from=build /opt/venv /opt/venv
# m3e-small's int8 ONNX export and its tokenizer (non-commercial model licence: see README).
COPY models/m3e-small/onnx/export.json models/m3e-small/onnx/tokenizer.json models/m3e-small/onnx/model_qint8.onnx /opt/models/m3e-small/onnx/
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
