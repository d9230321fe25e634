# storyline: the service on its bundled default model (no network needed at run time).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    STORYLINE_DATA_DIR=/data \
    STORYLINE_HOST=0.0.0.0 \
    STORYLINE_PORT=8000

WORKDIR /app
# CPU-only torch first and pinned: any other version pulls a multi-GB CUDA build.
RUN pip install --index-url https://download.pytorch.org/whl/cpu torch==2.13.0
COPY pyproject.toml README.md ./
COPY app ./app
COPY embeddings ./embeddings
COPY index ./index
COPY stories ./stories
COPY storage ./storage
COPY language ./language
COPY childproc ./childproc
COPY evaluation ./evaluation
RUN pip install .

VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
    CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/readyz').status != 200)"
CMD ["storyline", "serve"]
