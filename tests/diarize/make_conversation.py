#!/usr/bin/env python3
"""Synthesise a multi-speaker conversation for diarization tests.

    make_conversation.py --speakers N --seed S --turns K --out DIR/NAME
                         [--minutes M] [--noise DB] [--jobs J]

writes DIR/NAME.wav (16 kHz mono 16-bit), DIR/NAME.rttm (reference turns,
file id NAME, speakers spk1..spkN) and DIR/NAME.uem (the whole file).

Each speaker is a distinct espeak-ng voice (base voice + variant, pitch,
speed). Turns hold one sentence of random words, 1-8 s long, the speaker
never the same twice in a row, the first N turns introducing every speaker
once. Turns are separated by 0.2-1.0 s of silence and never overlap. Every
clip is trimmed to its first and last non-silent sample, so the reference
boundaries are exact to the sample. With --minutes M turns continue until
the file is M minutes long (K is then ignored). With --noise DB white noise
at DB dBFS (e.g. -50) is mixed over the whole file.

The same arguments give the same files: all choices come from a seeded
random generator, and espeak-ng and sox (run with -R) are deterministic.
Only python3's standard library, espeak-ng and sox are needed.
"""

import argparse
import math
import multiprocessing
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from array import array

RATE = 16000
MIN_TURN, MAX_TURN = 1.0, 8.0      # seconds of speech per turn
MIN_PAUSE, MAX_PAUSE = 0.2, 1.0    # seconds of silence between turns
EDGE = 0.5                         # silence at the start and end of the file
SILENCE_LEVEL = 100                # |sample| above this counts as speech (-50 dBFS)
MS = RATE // 1000                  # samples per millisecond

# (espeak-ng voice+variant, pitch 0-99, speed in words per minute). Mixed
# accents, genders and pitches. espeak-ng's male variants share nearly one
# vocal tract (formants within a few per cent of each other), as do its
# female ones, so what tells two of them apart is mostly pitch: the pitch
# settings are spread so that the median F0 of any two voices differs by
# about 12 % or more, as it usually does between two people.
PROFILES = [
    ("en-gb-scotland+m7", 0, 150),
    ("en+f3", 85, 170),
    ("en-gb-x-rp+m4", 50, 165),
    ("en-us+f5", 99, 160),
    ("en-gb+m1", 82, 145),
    ("en-029+f2", 60, 175),
    ("en-us+m3", 99, 155),
    ("en-us-nyc+f4", 10, 150),
]

WORDS = """
about above across after again against almost alone along already also
always among animal answer apple around autumn back basket beach because
before begin behind below between beyond bicycle bird black blue boat body
book bottle bread bridge bright brother build butter button cabin camera
candle careful carry castle center chair change cheese chicken children
circle city clean clever close cloud coffee cold colour common corner
country cousin cover crowd dance danger dark daughter decide deep desert
dinner doctor dollar door dozen dream drive early earth easy engine enough
evening every example family famous farmer father feather field finger
finish flower follow forest forward friend garden gentle giant glass golden
ground guitar hammer happy harbour heavy hello helpful history holiday honest
horse hotel hundred hungry island jacket journey kitchen ladder language
large later leather lemon letter library light little market matter meadow
middle minute mirror moment money morning mother mountain music narrow nature
nearly never number ocean office often orange order other outside paper
parent party pencil people perhaps picture planet pocket pretty problem
purple question quiet rabbit railway rather ready reason record river rocket
round salad sandwich school season second secret seven shadow silver simple
sister slowly small smile soft someone sometimes speak spring square station
stone story street strong student suddenly summer sunday supper sweet table
teacher thunder ticket tiger today together tomorrow travel turtle under
until valley village visit wagon water weather window winter wonder yellow
yesterday young
""".split()


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--speakers", type=int, required=True, help="number of speakers, 1-%d" % len(PROFILES))
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--turns", type=int, default=20, help="number of turns (ignored with --minutes)")
    p.add_argument("--minutes", type=float, help="continue turns until the file is this long")
    p.add_argument("--noise", type=float, metavar="DB", help="white noise level in dBFS, e.g. -50")
    p.add_argument("--out", required=True, help="output prefix DIR/NAME")
    p.add_argument("--jobs", type=int, default=2, help="parallel synthesis processes (default 2)")
    a = p.parse_args(argv)
    if not 1 <= a.speakers <= len(PROFILES):
        p.error("--speakers must be 1-%d" % len(PROFILES))
    if a.turns < 1:
        p.error("--turns must be at least 1")
    if a.minutes is not None and a.minutes <= 0:
        p.error("--minutes must be positive")
    if a.jobs < 1:
        p.error("--jobs must be at least 1")
    return a


def sentence(words):
    return " ".join(words).capitalize() + "."


def synth(profile, words, tmpdir):
    """One clip: espeak-ng at its native rate, sox to 16 kHz 16-bit raw,
    trimmed to the first and last sample above SILENCE_LEVEL."""
    voice, pitch, speed = profile
    fd, path = tempfile.mkstemp(suffix=".wav", dir=tmpdir)
    os.close(fd)
    try:
        subprocess.run(["espeak-ng", "-v", voice, "-p", str(pitch), "-s", str(speed),
                        "-w", path, sentence(words)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        raw = subprocess.run(["sox", "-R", "-D", "-q", path, "-t", "raw", "-e", "signed-integer",
                              "-b", "16", "-c", "1", "-L", "-", "vol", "0.8", "rate", str(RATE)],
                             check=True, stdout=subprocess.PIPE).stdout
    finally:
        os.unlink(path)
    s = array("h")
    s.frombytes(raw)
    if sys.byteorder != "little":
        s.byteswap()
    first, last = 0, len(s) - 1
    while first <= last and abs(s[first]) <= SILENCE_LEVEL:
        first += 1
    while last >= first and abs(s[last]) <= SILENCE_LEVEL:
        last -= 1
    clip = s[first:last + 1]
    # pad to whole milliseconds so the 3-decimal RTTM times are exact
    clip.extend([0] * (-len(clip) % MS))
    return clip


def make_turn(job):
    """Synthesises one planned turn, dropping or adding words until the
    clip lasts MIN_TURN..MAX_TURN seconds. Depends on its input only."""
    profile, words, spare, tmpdir = job
    n = len(words)
    pool = words + spare
    for _ in range(8):
        clip = synth(profile, pool[:n], tmpdir)
        dur = len(clip) / RATE
        if MIN_TURN <= dur <= MAX_TURN:
            break
        if dur > MAX_TURN:
            n = max(1, min(n - 1, int(n * (MAX_TURN - 0.3) / dur)))
        else:
            n = min(len(pool), max(n + 1, math.ceil(n * (MIN_TURN + 0.3) / max(dur, 0.05))))
    return clip.tobytes() if sys.byteorder == "little" else _swapped(clip)


def _swapped(clip):
    c = array("h", clip)
    c.byteswap()
    return c.tobytes()


class Planner:
    """Draws turns (speaker, words, pause after) from the seeded generator,
    in order, so turn i is the same however many turns end up used."""

    def __init__(self, speakers, seed):
        self.rng = random.Random(seed)
        profiles = PROFILES[:]
        self.rng.shuffle(profiles)
        self.profiles = profiles[:speakers]
        self.intro = list(range(speakers))
        self.rng.shuffle(self.intro)
        self.prev = None
        self.count = 0

    def next(self):
        r = self.rng
        if self.count < len(self.intro):
            spk = self.intro[self.count]
        else:
            choices = [i for i in range(len(self.profiles)) if i != self.prev] or [self.prev]
            spk = r.choice(choices)
        self.prev = spk
        self.count += 1
        target = r.uniform(MIN_TURN, MAX_TURN)
        rate = self.profiles[spk][2] / 60.0 * 0.8      # words per second, roughly
        n = max(1, round(target * rate))
        words = [r.choice(WORDS) for _ in range(n)]
        spare = [r.choice(WORDS) for _ in range(8)]
        pause = round(r.uniform(MIN_PAUSE, MAX_PAUSE), 3)
        return spk, words, spare, pause


def main(argv):
    a = parse_args(argv)
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            sys.exit("make_conversation.py: %s is not installed" % tool)
    out_dir = os.path.dirname(a.out) or "."
    name = os.path.basename(a.out)
    if not name:
        sys.exit("make_conversation.py: --out needs DIR/NAME")
    os.makedirs(out_dir, exist_ok=True)
    t0 = time.time()

    planner = Planner(a.speakers, a.seed)
    limit = a.minutes * 60.0 if a.minutes is not None else None
    turns = []          # (speaker index, start sample, samples)
    wav_path = a.out + ".wav"
    tmp_wav = a.out + ".tmp.wav"
    with tempfile.TemporaryDirectory(prefix="mkconv.") as tmpdir, \
            multiprocessing.Pool(a.jobs) as pool, wave.open(tmp_wav, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        pos = int(EDGE * RATE)
        w.writeframes(bytes(2 * pos))
        done = False
        while not done:
            batch = 64 if limit is not None else a.turns - len(turns)
            plans = [planner.next() for _ in range(batch)]
            jobs = [(planner.profiles[s], words, spare, tmpdir) for s, words, spare, _ in plans]
            for (spk, _, _, pause), clip in zip(plans, pool.imap(make_turn, jobs)):
                if turns:   # the pause drawn with the previous turn
                    gap = int(round(turns[-1][3] * 1000)) * MS
                    w.writeframes(bytes(2 * gap))
                    pos += gap
                n = len(clip) // 2
                w.writeframes(clip)
                turns.append((spk, pos, n, pause))
                pos += n
                if limit is not None and pos / RATE + EDGE >= limit:
                    done = True
                    break
            if limit is None:
                done = True
        tail = int(EDGE * RATE)
        w.writeframes(bytes(2 * tail))
        pos += tail
    total = pos / RATE

    if a.noise is not None:
        # -R: sox's repeatable random mode, so the noise is the same each run
        noise_tmp = a.out + ".noise.wav"
        subprocess.run(["sox", "-R", "-D", "-q", "-n", "-r", str(RATE), "-c", "1", "-b", "16",
                        noise_tmp, "synth", "%.6f" % total, "whitenoise",
                        "vol", "%.6f" % (10 ** (a.noise / 20.0))], check=True)
        mixed = a.out + ".mix.wav"
        subprocess.run(["sox", "-R", "-D", "-q", "-m", "-v", "1", tmp_wav, "-v", "1", noise_tmp,
                        "-r", str(RATE), "-c", "1", "-b", "16", mixed], check=True)
        os.unlink(noise_tmp)
        os.replace(mixed, tmp_wav)
    os.replace(tmp_wav, wav_path)

    with open(a.out + ".rttm", "w") as f:
        for spk, start, n, _ in turns:
            f.write("SPEAKER %s 1 %.3f %.3f <NA> <NA> spk%d <NA> <NA>\n"
                    % (name, start / RATE, n / RATE, spk + 1))
    with open(a.out + ".uem", "w") as f:
        f.write("%s 1 0.000 %.3f\n" % (name, total))

    speech = sum(t[2] for t in turns) / RATE
    voices = ", ".join("spk%d=%s/p%d/s%d" % (i + 1, *p) for i, p in enumerate(planner.profiles))
    print("%s: %d speakers, %d turns, %.1f s (%.1f s speech), seed %d%s [%s] in %.1f s"
          % (wav_path, a.speakers, len(turns), total, speech, a.seed,
             ", noise %g dBFS" % a.noise if a.noise is not None else "", voices, time.time() - t0))


if __name__ == "__main__":
    main(sys.argv[1:])
