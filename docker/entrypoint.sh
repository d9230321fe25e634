#!/bin/sh
# The image's entry point (docker/entrypoint.sh, installed as storyline-entrypoint).
#   docker run IMAGE                       storyline serve
#   docker run IMAGE hash-key --generate   storyline hash-key --generate (any storyline
#                                          command, with or without the word storyline)
#   docker run -it IMAGE bash              anything else runs as given
set -e
if [ "$#" -eq 0 ]; then
    set -- serve
fi
if [ "$1" = "storyline" ]; then
    shift
    exec storyline "$@"
fi
case "$1" in
    -*|serve|ingest|stories|show|reindex|eval|calibrate|hash-key|check|demo)
        exec storyline "$@" ;;
esac
exec "$@"
