#!/usr/bin/env bash
# Quick start: installs what Cesar needs, builds it, makes a sample
# recording (real LibriVox speech from Debian's pocketsphinx-testdata,
# re-encoded as MP3) and transcribes it to Markdown.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"

mkdir -p out
clips=(/usr/share/pocketsphinx/test/data/librivox/*.wav)
sox -q "${clips[@]}" out/sample.wav
ffmpeg -loglevel error -y -i out/sample.wav -c:a libmp3lame -b:a 128k out/sample.mp3
rm -f out/sample.wav

./build/cesar transcribe out/sample.mp3 -o out/sample.md
echo
cat out/sample.md
echo
echo "Binary: build/cesar   Sample: out/sample.mp3   Transcript: out/sample.md"
