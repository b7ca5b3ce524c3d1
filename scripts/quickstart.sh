#!/usr/bin/env bash
# Quick start: installs what Cesar needs, builds it, makes a sample
# recording and transcribes it to Markdown with a section per speaker.
#
# The sample is a short conversation (about 40 s) between two clearly
# different voices: a reader — real LibriVox speech from Debian's
# pocketsphinx-testdata — answered by an espeak-ng voice. Every piece is
# brought to 16 kHz mono so sox can join them, and the result is encoded
# as MP3 to show that any common format is read.
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)"

mkdir -p out
parts=$(mktemp -d)
trap 'rm -rf "$parts"' EXIT

clips=(/usr/share/pocketsphinx/test/data/librivox/*.wav)
replies=(
    "How much did he decide to give his sisters?"
    "That sounds like faint praise to me."
    "And what about his wife?"
    "So she made him worse, not better."
)
pieces=()
for i in "${!clips[@]}"; do
    # a short pause after each turn, as in a real conversation
    sox -q "${clips[$i]}" -r 16000 -c 1 -b 16 "$parts/reader$i.wav" pad 0 0.4
    pieces+=("$parts/reader$i.wav")
    if [ "$i" -lt "${#replies[@]}" ]; then
        espeak-ng -v en+f3 -s 150 -w "$parts/reply$i.raw.wav" "${replies[$i]}"
        sox -q "$parts/reply$i.raw.wav" -r 16000 -c 1 -b 16 "$parts/reply$i.wav" pad 0 0.4
        pieces+=("$parts/reply$i.wav")
    fi
done
sox -q "${pieces[@]}" "$parts/sample.wav"
ffmpeg -loglevel error -y -i "$parts/sample.wav" -c:a libmp3lame -b:a 128k out/sample.mp3

./build/cesar transcribe out/sample.mp3 -o out/sample.md
echo
cat out/sample.md
echo
echo "Binary: build/cesar   Sample: out/sample.mp3   Transcript: out/sample.md"
