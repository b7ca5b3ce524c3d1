#!/usr/bin/env bash
# Installs every Debian package Cesar needs to build, run and test.
# Idempotent: packages already present are skipped, `apt-get update` runs at
# most once per invocation and only when something is missing.
set -euo pipefail

packages=(
  # build
  build-essential cmake pkg-config git
  # audio decoding
  libavformat-dev libavcodec-dev libavutil-dev libswresample-dev
  # speech recognition
  libpocketsphinx-dev libsphinxbase-dev pocketsphinx-en-us pocketsphinx
  # job store, HTTP server, JSON, HTTP client
  libsqlite3-dev libmicrohttpd-dev libjansson-dev libcurl4-openssl-dev
  # Whisper engine: matrix products, compression ratio of decoded text
  libopenblas-pthread-dev zlib1g-dev
  # YouTube links: the audio is downloaded by the yt-dlp program
  yt-dlp
  # tests: unit framework, test audio, reference transcripts, NumPy for the
  # reference implementations the unit tests compare against
  libcmocka-dev ffmpeg sox libsox-fmt-all espeak-ng pocketsphinx-testdata
  python3 python3-numpy
  # the PyTorch reference of the Whisper network the exactness tests compare against
  python3-torch
  # server tests and benchmark: a real browser for /docs, wrk for load
  chromium wrk
)

missing=()
# The API docs page (/docs) uses Swagger UI, installed from the npm registry at
# build time. Machines that already have Node.js with npm (from NodeSource,
# whose nodejs package bundles npm and conflicts with Debian's npm) keep it.
if ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
