#!/usr/bin/env bash
# Every bad input of `cesar transcribe` gets one clear line naming the file
# or option, a non-zero exit code, and leaves no output behind.
. "$(dirname "$0")/lib.sh"

W=$WORK
OUTDIR=$W/out
mkdir -p "$OUTDIR"
sox -q "$(librivox_clip 0880)" "$W/good.wav"

bad_file() { # NAME INPUT CODE TEXT...
    local name=$1 input=$2 code=$3; shift 3
    run transcribe "$input" -o "$OUTDIR/$name.txt"
    expect_code "$name" "$code"
    expect_err "$name" "$@"
    expect_one_line_error "$name"
    expect_no_file "$name" "$OUTDIR/$name.txt"
}

# missing file
bad_file missing "$W/nope.wav" 1 "$W/nope.wav" "no such file"

# a directory
mkdir -p "$W/adir.wav"
bad_file directory "$W/adir.wav" 1 "$W/adir.wav" "is a directory"

# unreadable (permissions), as an unprivileged user
cp "$W/good.wav" "$W/secret.wav"; chmod 000 "$W/secret.wav"
chmod 777 "$OUTDIR"
run_as_nobody transcribe "$W/secret.wav" -o "$OUTDIR/secret.txt"
expect_code unreadable 1
expect_err unreadable "$W/secret.wav" "permission denied"
expect_one_line_error unreadable
expect_no_file unreadable "$OUTDIR/secret.txt"

# empty file
: >"$W/empty.mp3"
bad_file empty "$W/empty.mp3" 1 "$W/empty.mp3" "is empty"

# a text file renamed .mp3
printf 'This is not audio at all.\nJust some text in a file.\n%.0s' {1..50} >"$W/text.mp3"
bad_file text-as-mp3 "$W/text.mp3" 1 "$W/text.mp3" "not"

# random bytes with an audio extension
head -c 65536 /dev/urandom >"$W/garbage.wav"
bad_file garbage "$W/garbage.wav" 1 "$W/garbage.wav"

# a truncated file: a FLAC whose header declares 25 s cut to a third
librivox_concat "$W/long.wav"
sox -q "$W/long.wav" "$W/long.flac"
head -c $(( $(stat -c %s "$W/long.flac") / 3 )) "$W/long.flac" >"$W/truncated.flac"
bad_file truncated-flac "$W/truncated.flac" 1 "$W/truncated.flac" "truncated"

# a truncated wav (header declares more data than the file holds)
head -c $(( $(stat -c %s "$W/long.wav") / 3 )) "$W/long.wav" >"$W/truncated.wav"
bad_file truncated-wav "$W/truncated.wav" 1 "$W/truncated.wav" "truncated"

# a truncated m4a (the index sits at the end, so nothing is playable)
ffmpeg -loglevel error -y -i "$W/long.wav" -c:a aac -b:a 128k "$W/long.m4a"
head -c $(( $(stat -c %s "$W/long.m4a") / 2 )) "$W/long.m4a" >"$W/truncated.m4a"
bad_file truncated-m4a "$W/truncated.m4a" 1 "$W/truncated.m4a"

# audio with zero samples: a valid wav header and no data
sox -q -n -r 16000 -c 1 -b 16 "$W/zero.wav" trim 0 0
bad_file zero-samples "$W/zero.wav" 1 "$W/zero.wav" "no audio samples"

# an unsupported container: a tar archive, and an image with no audio
tar -C "$W" -cf "$W/archive.mkv" good.wav
bad_file unsupported-container "$W/archive.mkv" 1 "$W/archive.mkv"
ffmpeg -loglevel error -y -f lavfi -i testsrc=size=64x64:duration=1 -frames:v 1 "$W/image.png"
cp "$W/image.png" "$W/image.mp4"
bad_file image-as-mp4 "$W/image.mp4" 1 "$W/image.mp4" "not a recognised audio or video file"
# a real video container whose only stream is video
ffmpeg -loglevel error -y -f lavfi -i testsrc=size=64x64:rate=10:duration=1 -c:v mpeg4 "$W/silent-film.mp4"
bad_file video-without-audio "$W/silent-film.mp4" 1 "$W/silent-film.mp4" "has no audio stream"

# time options
bad_opts() { # NAME CODE TEXT -- ARGS...
    local name=$1 code=$2 text=$3; shift 4
    run transcribe "$W/good.wav" -o "$OUTDIR/$name.txt" "$@"
    expect_code "$name" "$code"
    expect_err "$name" "$text"
    expect_one_line_error "$name"
    expect_no_file "$name" "$OUTDIR/$name.txt"
}
bad_opts start-after-end 2 "--end-time" -- --start-time 10 --end-time 5
bad_opts start-equals-end 2 "--end-time" -- --start-time 5 --end-time 5
bad_opts negative-start 2 "--start-time must be >= 0" -- --start-time -3
bad_opts negative-end 2 "--end-time must be >= 0" -- --end-time -1
bad_opts negative-max 2 "--max-duration" -- --max-duration -2
bad_opts zero-max 2 "--max-duration" -- --max-duration 0
bad_opts max-with-end 2 "--max-duration cannot be combined with --end-time" -- --end-time 5 --max-duration 1
bad_opts time-garbage 2 "'abc' is not a time" -- --start-time abc
bad_opts start-past-end-of-file 1 "no audio in the requested window" -- --start-time 600
bad_opts bad-format 2 "'docx' is not a format" -- --format docx
bad_opts bad-engine 2 "engine 'nosuch' is not available" -- --engine nosuch
bad_opts bad-language 2 "only supports English (en); got 'fr'" -- --language fr
bad_opts bad-threads 2 "threads" -- --threads many
bad_opts unknown-option 2 "unknown option '--frobnicate'" -- --frobnicate

# output problems
run transcribe "$W/good.wav" -o "$W/good.wav"
expect_code output-is-input 2
expect_err output-is-input "$W/good.wav" "is the input file"
cmp -s "$W/good.wav" "$(librivox_clip 0880)" && pass "output-is-input: input untouched" \
    || fail "output-is-input: input was modified"

ln -sf "$W/good.wav" "$W/link.wav"
run transcribe "$W/good.wav" -o "$W/link.wav"
expect_code output-is-input-via-link 2
expect_err output-is-input-via-link "is the input file"

run transcribe "$W/good.wav" -o "$OUTDIR"
expect_code output-is-directory 2
expect_err output-is-directory "$OUTDIR" "is a directory"

mkdir -p "$W/locked"; chmod 555 "$W/locked"
run_as_nobody transcribe "$W/good.wav" -o "$W/locked/out.txt"
expect_code output-not-writable 1
expect_err output-not-writable "$W/locked/out.txt" "not writable"
expect_one_line_error output-not-writable
expect_no_file output-not-writable "$W/locked/out.txt"

run transcribe "$W/good.wav" -o "/dev/null/sub/out.txt"
expect_code output-under-a-file 1
expect_err output-under-a-file "/dev/null/sub/out.txt"

# a missing output directory is created
run transcribe "$W/good.wav" -o "$W/new/deeper/out.txt" -q
expect_code output-dir-created 0
if [ -s "$W/new/deeper/out.txt" ]; then pass "output-dir-created: transcript written"; \
    else fail "output-dir-created: no transcript"; fi

# the output becomes impossible to write while transcribing: the transcript
# is not lost but kept in the cache directory, and the error says where
export XDG_CACHE_HOME=$W/cache
"$CESAR_BIN" transcribe "$W/long.wav" -o "$W/vanishing/out.txt" >"$W/.stdout" 2>"$W/.stderr" &
pid=$!
sleep 1
echo "a file where the output directory should be" >"$W/vanishing"
wait "$pid"; CODE=$?; ERR=$(cat "$W/.stderr")
expect_code output-lost-mid-run 1
expect_err output-lost-mid-run "cannot write '$W/vanishing/out.txt'" \
    "the transcript was saved to '$W/cache/cesar/recovered/"
saved=$(sed -nE "s/.*saved to '([^']+)'.*/\1/p" <<<"$ERR")
run transcribe "$W/long.wav" -q
if [ -n "$saved" ] && [ -s "$saved" ] && [ "$(cat "$saved")" = "$OUT" ]; then
    pass "output-lost-mid-run: recovered transcript is complete"
else
    fail "output-lost-mid-run: recovered copy missing or different" "$saved"
fi
# standard output that cannot take the transcript (a full disk) keeps it too
"$CESAR_BIN" transcribe "$W/good.wav" -q >/dev/full 2>"$W/.stderr"; CODE=$?; ERR=$(cat "$W/.stderr")
expect_code stdout-full 1
expect_err stdout-full "cannot write to standard output" "saved to '$W/cache/cesar/recovered/"
saved=$(sed -nE "s/.*saved to '([^']+)'.*/\1/p" <<<"$ERR")
run transcribe "$W/good.wav" -q
[[ "$saved" == *transcript.txt ]] && [ "$(cat "$saved" 2>/dev/null)" = "$OUT" ] \
    && pass "stdout-full: recovered transcript is complete" || fail "stdout-full: no recovered copy" "$saved"
unset XDG_CACHE_HOME

# a failed run does not damage an existing transcript
echo "previous transcript" >"$OUTDIR/keep.txt"
run transcribe "$W/garbage.wav" -o "$OUTDIR/keep.txt"
[ "$(cat "$OUTDIR/keep.txt")" = "previous transcript" ] && pass "failed run keeps old output" \
    || fail "failed run replaced the old output"

# usage errors
run transcribe
expect_code no-input 2
expect_err no-input "no input file"
run transcribe "$W/good.wav" "$W/good.wav"
expect_code two-inputs 2
run frobnicate
expect_code unknown-command 2
expect_err unknown-command "unknown command 'frobnicate'"

finish
