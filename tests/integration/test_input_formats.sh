#!/usr/bin/env bash
# The same speech, encoded in every container and codec Cesar accepts, must
# give the same transcript: decoding and resampling may not change what the
# recogniser hears enough to change a word.
. "$(dirname "$0")/lib.sh"

W=$WORK
# Real speech (a LibriVox sentence) at 44.1 kHz stereo, so every file is
# resampled and downmixed on the way in, as a user's files would be. -R:
# sox dithers with a time-seeded generator otherwise, and the lossy codecs
# can turn that noise into a different word now and then.
sox -q -R "$(librivox_clip 0920)" -r 44100 -c 2 "$W/source.wav"

enc() { ffmpeg -loglevel error -y "$@" </dev/null; }
# The videos run 2 s past the speech rather than being cut with -shortest,
# whose cut point depends on how the encoder threads interleave packets.
enc -i "$W/source.wav" -c:a pcm_s16le "$W/speech.wav"
enc -i "$W/source.wav" -c:a libmp3lame -b:a 192k "$W/speech.mp3"
enc -i "$W/source.wav" -c:a aac -b:a 192k "$W/speech.m4a"
enc -i "$W/source.wav" -c:a libvorbis -q:a 6 "$W/speech.ogg"
enc -i "$W/source.wav" -c:a libopus -b:a 128k "$W/speech.opus"
enc -i "$W/source.wav" -c:a flac "$W/speech.flac"
enc -i "$W/source.wav" -c:a wmav2 -b:a 192k "$W/speech.wma"
enc -f lavfi -i testsrc=size=160x120:rate=10:duration=8 -i "$W/source.wav" \
    -c:v libvpx -b:v 100k -c:a libopus -b:a 128k "$W/speech.webm"
enc -f lavfi -i testsrc=size=160x120:rate=10:duration=8 -i "$W/source.wav" \
    -c:v libx264 -pix_fmt yuv420p -c:a aac -b:a 192k "$W/speech.mp4"
enc -f lavfi -i testsrc=size=160x120:rate=10:duration=8 -i "$W/source.wav" \
    -c:v mpeg4 -c:a libvorbis -q:a 6 "$W/speech.mkv"

run transcribe "$W/speech.wav" -o "$W/reference.txt" -q --no-diarize
expect_code "wav" 0
reference=$(cat "$W/reference.txt")
words=$(wc -w <<<"$reference")
[ "$words" -ge 8 ] && pass "reference transcript has $words words" \
    || fail "reference transcript too short: '$reference'"

for ext in mp3 m4a ogg opus flac wma webm mp4 mkv; do
    f=$W/speech.$ext
    if [ ! -s "$f" ]; then fail "$ext: test file could not be made"; continue; fi
    run transcribe "$f" -o "$W/out-$ext.txt" -q --no-diarize
    expect_code "$ext" 0
    got=$(cat "$W/out-$ext.txt" 2>/dev/null)
    if [ "$got" = "$reference" ]; then
        pass "$ext: same transcript as wav"
    else
        fail "$ext: transcript differs" "wav: $reference" "$ext: $got"
    fi
done

finish
