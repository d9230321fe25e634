#!/usr/bin/env bash
# Build the image and check it where a Docker daemon answers (.ci/run calls this). Without
# one it says so and succeeds: tests/e2e/test_container.py runs the image's entry point and
# health check outside a container, and tests/unit/test_dockerfile.py reads the Dockerfile.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v docker >/dev/null 2>&1 || ! docker info >/dev/null 2>&1; then
    echo "note: no Docker daemon here: the image is not built" \
        "(tests/e2e/test_container.py checks its entry point and health check without it)" >&2
    exit 0
fi
image=storyline:ci
name=storyline-ci-$$
docker build -t "$image" .
trap 'docker rm -f "$name" >/dev/null 2>&1 || true' EXIT
# a key made the way the README says, without a local install
read -r key entry < <(docker run --rm "$image" hash-key --role write --generate | tr '\n' ' ')
docker run -d --name "$name" -e STORYLINE_API_KEYS="$entry" -e STORYLINE_PORT=8001 \
    -e STORYLINE_PUBLIC_READS=true "$image" >/dev/null
[ "$(docker exec "$name" id -u)" != "0" ] || { echo "error: the image runs as root" >&2; exit 1; }
for _ in $(seq 1 120); do
    if docker exec "$name" python -m app.healthcheck 2>/dev/null; then
        docker exec "$name" python -c "
import json, urllib.request as u
r = u.Request('http://127.0.0.1:8001/v1/snippets', data=json.dumps({'text': 'Ein Zug ist entgleist.', 'lang': 'de'}).encode(),
              headers={'content-type': 'application/json', 'authorization': 'Bearer $key'})
print(json.load(u.urlopen(r)))
print(u.urlopen('http://127.0.0.1:8001/docs').status, u.urlopen('http://127.0.0.1:8001/').status)"
        echo "image $image: healthy on port 8001, not root, answers a POST"
        exit 0
    fi
    sleep 1
done
docker logs "$name" >&2
echo "error: the container's health check never passed" >&2
exit 1
