# storyline: the service on its bundled default model (no network needed at run time).
#   docker build -t storyline .
#   docker run --rm storyline hash-key --role write --generate     # a key and its entry
#   docker run -p 8000:8000 -v storyline-data:/data -e STORYLINE_API_KEYS=write:... storyline
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    STORYLINE_DATA_DIR=/data \
    STORYLINE_HOST=0.0.0.0 \
    STORYLINE_PORT=8000

WORKDIR /app
# torch's CPU-only build, pinned, from PyTorch's own index (PyPI's Linux build is the
# multi-GB CUDA one); the constraint keeps the next install from swapping it.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0 \
    && python -c "from importlib.metadata import version; print('torch==' + version('torch'))" \
        > /app/constraints.txt
# every package pyproject.toml lists (tests/unit/test_dockerfile.py checks the two agree)
COPY pyproject.toml README.md ./
COPY app ./app
COPY engine ./engine
COPY embeddings ./embeddings
COPY index ./index
COPY stories ./stories
COPY storage ./storage
COPY language ./language
COPY childproc ./childproc
COPY filetrust ./filetrust
COPY evaluation ./evaluation
COPY storyline_client ./storyline_client
RUN pip install --constraint /app/constraints.txt . \
    && python -c "import torch; assert torch.version.cuda is None, 'torch is a CUDA build'"
COPY docker/entrypoint.sh /usr/local/bin/storyline-entrypoint

# Not root: the service owns /data and nothing else.
RUN useradd --system --uid 10001 --no-create-home --home-dir /app --shell /usr/sbin/nologin \
        storyline \
    && mkdir -p /data && chown storyline:storyline /data
USER storyline
VOLUME ["/data"]
EXPOSE 8000
# Probes the port storyline serve listens on (STORYLINE_PORT, then PORT): app/healthcheck.py.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s CMD ["python", "-m", "app.healthcheck"]
ENTRYPOINT ["storyline-entrypoint"]
CMD ["serve"]
