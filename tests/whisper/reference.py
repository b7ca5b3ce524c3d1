#!/usr/bin/python3
"""PyTorch reference of Whisper inference, computed in float64, that the C
engine's tests compare against. Reads any ggml Whisper file make_model.py
writes (f32, f16, q8_0, q5_0, q5_1, q4_0, q4_1; dequantized with
ggml_quant.decode), written from the published architecture (Radford et al.
2022), not from another implementation.

Usage (all outputs raw little-endian float32, row-major, unless text):
  reference.py mel     --model M --audio A.f32 --out MEL.f32
        A.f32: raw float32 16 kHz mono samples (at most 30 s).
        MEL.f32: n_mels x 3000 log-mel spectrogram, exactly as Whisper.
  reference.py encode  --model M --mel MEL.f32 --out ENC.f32
        ENC.f32: n_audio_ctx x n_audio_state encoder output.
  reference.py logits  --model M --mel MEL.f32 --tokens 50258,50259,50359 --out L.f32
        L.f32: n_tokens x n_vocab logits at every position (positions 0..).
  reference.py greedy  --model M --mel MEL.f32 --prompt 50258,50259,50359 \
                       --sample-len N [--no-timestamps] --out T.txt
        T.txt: the ids sampled after the prompt, space-separated on one line
        (then a newline), stopping after eot (included) or N tokens. Logit
        filters as openai-whisper's decoding: SuppressBlank, SuppressTokens
        ("-1": non-speech symbols + task/sot/prev/solm/no_speech),
        timestamp rules (unless --no-timestamps), then argmax (lowest id on
        ties).
        --margins FILE (optional): one line per sampled token, "GAP TS":
        GAP = largest minus second-largest logit after the filters (a C
        result may legitimately differ where GAP is within its error), TS =
        logsumexp of the timestamp log-probs minus the best text log-prob
        (> 0 forced a timestamp; "nan" with --no-timestamps).
  reference.py dequant --model M --tensor NAME --out T.f32
        the dequantized values of one tensor in file order (fastest dim last
        in the output's row-major layout, i.e. ne[0] varies fastest).
  reference.py tokens  --model M --ids 1,2,3 --out TEXT
        the bytes of the ids concatenated (special ids skipped).
  reference.py tokenize --model M --text "..." [--no-pretokenize]
        prints the ids on stdout, space-separated: GPT-2 pre-tokenisation
        then greedy longest match over the vocabulary bytes (the file has no
        BPE merges); --no-pretokenize: longest match over the whole text.
Exit status 0 on success, 2 on bad arguments or input.
"""
import argparse
import os
import struct
import sys
import unicodedata

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ggml_quant as gq  # noqa: E402

MAGIC = 0x67676D6C
SAMPLE_RATE = 16000
N_FFT = 400
HOP = 160
N_FRAMES = 3000
N_SAMPLES = 480000
MAX_INITIAL_TIMESTAMP_INDEX = 50  # 1.0 s / 0.02 s


class InputError(Exception):
    pass


# ---- the file ----------------------------------------------------------------

class Model:
    """A parsed ggml Whisper file; tensors are dequantized on first use."""

    def __init__(self, path):
        with open(path, "rb") as f:
            self.data = f.read()
        d = self.data
        if len(d) < 48 or struct.unpack_from("<I", d, 0)[0] != MAGIC:
            raise InputError("%s: not a ggml Whisper file" % path)
        (self.n_vocab, self.n_audio_ctx, self.n_audio_state, self.n_audio_head,
         self.n_audio_layer, self.n_text_ctx, self.n_text_state, self.n_text_head,
         self.n_text_layer, self.n_mels, self.ftype) = struct.unpack_from("<11i", d, 4)
        off = 48
        n_mel, n_fft = struct.unpack_from("<2i", d, off)
        off += 8
        self.mel_filters = np.frombuffer(d, "<f4", n_mel * n_fft, off).astype(np.float64)
        self.mel_filters = self.mel_filters.reshape(n_mel, n_fft)
        off += 4 * n_mel * n_fft
        (n_tok,) = struct.unpack_from("<i", d, off)
        off += 4
        self.vocab = []
        for _ in range(n_tok):
            (ln,) = struct.unpack_from("<i", d, off)
            off += 4
            self.vocab.append(d[off:off + ln])
            off += ln
        self.tensors = {}
        while off < len(d):
            n_dims, name_len, ttype = struct.unpack_from("<3i", d, off)
            off += 12
            ne = struct.unpack_from("<%di" % n_dims, d, off)
            off += 4 * n_dims
            name = d[off:off + name_len].decode()
            off += name_len
            n = int(np.prod(ne))
            size = gq.nbytes(ttype, n)
            if off + size > len(d):
                raise InputError("%s: tensor %s truncated" % (path, name))
            self.tensors[name] = (ttype, tuple(reversed(ne)), off, n)
            off += size
        self._cache = {}
        self.special = special_tokens(self.n_vocab)
        self._tok = None

    def raw(self, name):
        if name not in self.tensors:
            raise InputError("no tensor named %r in the model" % name)
        ttype, shape, off, n = self.tensors[name]
        return gq.decode(self.data[off:off + gq.nbytes(ttype, n)], ttype, n).reshape(shape)

    def t(self, name):
        """The tensor as float64 torch, PyTorch's shape (slowest dim first)."""
        if name not in self._cache:
            self._cache[name] = torch.from_numpy(self.raw(name))
        return self._cache[name]

    def vec(self, name):
        return self.t(name).reshape(-1)


def special_tokens(n_vocab):
    multi = 1 if n_vocab >= 51865 else 0
    n_lang = n_vocab - 51765 - multi
    eot = 50256 + multi
    sot = eot + 1
    translate = sot + 1 + n_lang
    return dict(multilingual=bool(multi), n_languages=n_lang, eot=eot, sot=sot,
                lang_first=sot + 1, translate=translate, transcribe=translate + 1,
                solm=translate + 2, prev=translate + 3, no_speech=translate + 4,
                no_timestamps=translate + 5, timestamp_begin=translate + 6)


# ---- front end -----------------------------------------------------------------

def hann_periodic(n):
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)


def log_mel(model, audio):
    """audio: float samples (at most 30 s). Returns n_mels x 3000 float64."""
    x = np.concatenate([np.asarray(audio, np.float64), np.zeros(N_SAMPLES)])
    x = np.pad(x, N_FFT // 2, mode="reflect")
    n_frames = 1 + (len(x) - N_FFT) // HOP - 1  # the last frame is dropped
    n_frames = min(n_frames, N_FRAMES)
    idx = np.arange(N_FFT)[None, :] + HOP * np.arange(n_frames)[:, None]
    spec = np.fft.rfft(x[idx] * hann_periodic(N_FFT)[None, :], axis=1)
    power = spec.real ** 2 + spec.imag ** 2          # frames x 201
    mel = model.mel_filters @ power.T                # n_mels x frames
    logm = np.log10(np.maximum(mel, 1e-10))
    logm = np.maximum(logm, logm.max() - 8.0)
    return (logm + 4.0) / 4.0


# ---- network -------------------------------------------------------------------

def layer_norm(x, w, b):
    return F.layer_norm(x, (x.shape[-1],), w, b, eps=1e-5)


def linear(model, prefix, x, bias=True):
    y = x @ model.t(prefix + ".weight").T
    if bias:
        y = y + model.vec(prefix + ".bias")
    return y


def keys_values(model, prefix, xa):
    """The (unscaled) keys and values of xa for the attention at prefix."""
    return (linear(model, prefix + ".key", xa, bias=False), linear(model, prefix + ".value", xa))


def attention(model, prefix, x, xa, n_head, causal, kv=None):
    """Multi-head attention of x (n x S) over xa (m x S; x itself for
    self-attention), or over precomputed kv = keys_values(xa). q and k are
    each scaled by d_head^-0.25."""
    n, s = x.shape
    k, v = kv if kv is not None else keys_values(model, prefix, xa)
    m = k.shape[0]
    dh = s // n_head
    scale = dh ** -0.25
    q = linear(model, prefix + ".query", x) * scale
    k = k * scale
    q = q.reshape(n, n_head, dh).transpose(0, 1)
    k = k.reshape(m, n_head, dh).transpose(0, 1)
    v = v.reshape(m, n_head, dh).transpose(0, 1)
    w = q @ k.transpose(1, 2)                        # heads x n x m
    if causal:
        mask = torch.triu(torch.ones(n, m, dtype=torch.bool), diagonal=1 + m - n)
        w = w.masked_fill(mask, float("-inf"))
    w = torch.softmax(w, dim=-1)
    o = (w @ v).transpose(0, 1).reshape(n, s)
    return linear(model, prefix + ".out", o)


def mlp(model, prefix, x):
    h = F.gelu(linear(model, prefix + ".mlp.0", x))
    return linear(model, prefix + ".mlp.2", h)


def block(model, prefix, x, n_head, xa=None, causal=False, cross_kv=None, self_cache=None):
    """One pre-norm residual block. self_cache (a list, empty at first) holds
    the self-attention keys and values of earlier positions and is extended
    with those of x, so x may be just the new positions."""
    h = layer_norm(x, model.vec(prefix + ".attn_ln.weight"), model.vec(prefix + ".attn_ln.bias"))
    kv = None
    if self_cache is not None:
        k, v = keys_values(model, prefix + ".attn", h)
        if self_cache:
            k = torch.cat([self_cache[0], k])
            v = torch.cat([self_cache[1], v])
        self_cache[:] = [k, v]
        kv = (k, v)
    x = x + attention(model, prefix + ".attn", h, h, n_head, causal, kv=kv)
    if xa is not None or cross_kv is not None:
        h = layer_norm(x, model.vec(prefix + ".cross_attn_ln.weight"),
                       model.vec(prefix + ".cross_attn_ln.bias"))
        x = x + attention(model, prefix + ".cross_attn", h, xa, n_head, False, kv=cross_kv)
    h = layer_norm(x, model.vec(prefix + ".mlp_ln.weight"), model.vec(prefix + ".mlp_ln.bias"))
    return x + mlp(model, prefix, h)


def encode(model, mel):
    """mel: n_mels x 3000. Returns n_audio_ctx x n_audio_state (float64)."""
    x = torch.as_tensor(np.asarray(mel, np.float64)).unsqueeze(0)
    x = F.gelu(F.conv1d(x, model.t("encoder.conv1.weight"), model.vec("encoder.conv1.bias"),
                        padding=1))
    x = F.gelu(F.conv1d(x, model.t("encoder.conv2.weight"), model.vec("encoder.conv2.bias"),
                        stride=2, padding=1))
    x = x[0].T + model.t("encoder.positional_embedding")
    for i in range(model.n_audio_layer):
        x = block(model, "encoder.blocks.%d" % i, x, model.n_audio_head)
    return layer_norm(x, model.vec("encoder.ln_post.weight"), model.vec("encoder.ln_post.bias"))


def cross_keys_values(model, xa):
    """Every decoder layer's cross-attention keys and values of the encoder
    output xa (computed once per window, as an engine would)."""
    return [keys_values(model, "decoder.blocks.%d.cross_attn" % i, xa)
            for i in range(model.n_text_layer)]


def new_cache(model):
    """Self-attention key/value cache for decode(): positions done, and per
    layer [keys, values]."""
    return {"n": 0, "layers": [[] for _ in range(model.n_text_layer)]}


def decode(model, tokens, xa, last_only=False, cache=None):
    """Logits (n_tokens x n_vocab) at every position of tokens, or of the last
    position only (1 x n_vocab). xa: the encoder output or cross_keys_values()
    of it. Without cache tokens start at position 0; with a cache (new_cache())
    they continue where the previous call stopped."""
    cross = xa if isinstance(xa, list) else cross_keys_values(model, xa)
    past = cache["n"] if cache is not None else 0
    if past + len(tokens) > model.n_text_ctx:
        raise InputError("%d tokens: at most n_text_ctx = %d" % (past + len(tokens),
                                                                 model.n_text_ctx))
    emb = model.t("decoder.token_embedding.weight")
    ids = torch.as_tensor(tokens, dtype=torch.long)
    if len(tokens) and (int(ids.min()) < 0 or int(ids.max()) >= model.n_vocab):
        raise InputError("token id out of range 0..%d" % (model.n_vocab - 1))
    x = emb[ids] + model.t("decoder.positional_embedding")[past:past + len(tokens)]
    for i in range(model.n_text_layer):
        x = block(model, "decoder.blocks.%d" % i, x, model.n_text_head, causal=True,
                  cross_kv=cross[i], self_cache=cache["layers"][i] if cache else None)
    if cache is not None:
        cache["n"] += len(tokens)
    if last_only:
        x = x[-1:]
    x = layer_norm(x, model.vec("decoder.ln.weight"), model.vec("decoder.ln.bias"))
    return x @ emb.T


# ---- tokenizer -------------------------------------------------------------------

class Tokenizer:
    """Greedy longest match over the stored vocabulary bytes (no BPE merges
    in the file): ids below eot only, empty entries never match, the lowest id
    wins among identical byte strings, and a byte no stored token starts with
    becomes its GPT-2 byte-alphabet id (byte_token_id)."""

    def __init__(self, model):
        self.model = model
        self.eot = model.special["eot"]
        self.lookup = {}
        for i, b in enumerate(model.vocab[:self.eot]):
            if b and b not in self.lookup:
                self.lookup[b] = i
        self.max_len = max(len(b) for b in self.lookup)

    def longest_match(self, data):
        ids = []
        i = 0
        while i < len(data):
            for ln in range(min(self.max_len, len(data) - i), 0, -1):
                tid = self.lookup.get(data[i:i + ln])
                if tid is not None:
                    ids.append(tid)
                    i += ln
                    break
            else:
                # no stored token starts with this byte (the test headers store
                # the lone high bytes as U+FFFD): use the byte's own token
                ids.append(byte_token_id(data[i]))
                i += 1
        return ids

    def encode(self, text, pretokenize=True):
        pieces = gpt2_pieces(text) if pretokenize else [text]
        ids = []
        for p in pieces:
            ids += self.longest_match(p.encode("utf-8"))
        return ids

    def bytes_of(self, ids):
        out = b""
        for i in ids:
            if 0 <= i < min(self.eot, len(self.model.vocab)):
                out += self.model.vocab[i]
        return out


def byte_token_id(b):
    """GPT-2's byte alphabet is ids 0..255: first the bytes 33..126, 161..172
    and 174..255 (printable in Latin-1), then the remaining bytes in
    increasing order."""
    order = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
    order += [x for x in range(256) if x not in order]
    return order.index(b)


def _is_letter(c):
    return unicodedata.category(c).startswith("L")


def _is_number(c):
    return unicodedata.category(c).startswith("N")


def gpt2_pieces(text):
    """GPT-2's pre-tokenisation pattern
    's|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+
    by hand (the stdlib re has no \\p{L})."""
    out = []
    i = 0
    n = len(text)
    other = (lambda c: not c.isspace() and not _is_letter(c) and not _is_number(c))
    while i < n:
        for c in ("'s", "'t", "'re", "'ve", "'m", "'ll", "'d"):
            if text.startswith(c, i):
                out.append(c)
                i += len(c)
                break
        else:
            j = i + 1 if text[i] == " " and i + 1 < n else i
            matched = False
            for cls in (_is_letter, _is_number, other):
                if j < n and cls(text[j]):
                    k = j
                    while k < n and cls(text[k]):
                        k += 1
                    out.append(text[i:k])
                    i = k
                    matched = True
                    break
            if matched:
                continue
            # whitespace: a run not followed by non-space, else the run minus
            # its last character, else one character
            k = i
            while k < n and text[k].isspace():
                k += 1
            if k == i:  # cannot happen: every character is in some class
                k = i + 1
            elif k < n and k - i > 1:
                k -= 1
            out.append(text[i:k])
            i = k
    return out


def non_speech_tokens(tok):
    """openai-whisper's non-speech symbol list (suppress_tokens "-1")."""
    symbols = list("\"#()*+/:;<=>@[\\]^_`{|}~「」『』")
    symbols += "<< >> <<< >>> -- --- -( -[ (' (\" (( )) ((( ))) [[ ]] {{ }} ♪♪ ♪♪♪".split()
    misc = list("♩♪♫♬♭♮♯")
    result = {tok.encode(" -", False)[0], tok.encode(" '", False)[0]}
    for sym in symbols + misc:
        for text in (sym, " " + sym):
            ids = tok.encode(text, False)
            if len(ids) == 1 or sym in misc:
                result.add(ids[0])
    return sorted(result)


# ---- greedy decoding -----------------------------------------------------------------

def apply_timestamp_rules(logits, seq, sp):
    tb = sp["timestamp_begin"]
    ninf = -np.inf
    logits[sp["no_timestamps"]] = ninf
    last_ts = len(seq) >= 1 and seq[-1] >= tb
    penult_ts = len(seq) < 2 or seq[-2] >= tb
    if last_ts:
        if penult_ts:
            logits[tb:] = ninf
        else:
            logits[:sp["eot"]] = ninf
    stamps = [t for t in seq if t >= tb]
    if stamps:
        last = stamps[-1] if (last_ts and not penult_ts) else stamps[-1] + 1
        logits[tb:last] = ninf
    if not seq:
        logits[:tb] = ninf
        logits[tb + MAX_INITIAL_TIMESTAMP_INDEX + 1:] = ninf
    with np.errstate(divide="ignore", invalid="ignore"):
        mx = np.max(logits)
        logprobs = logits - (mx + np.log(np.sum(np.exp(logits - mx))))
        ts = logprobs[tb:]
        tmx = np.max(ts)
        ts_lse = -np.inf if tmx == -np.inf else tmx + np.log(np.sum(np.exp(ts - tmx)))
    margin = ts_lse - np.max(logprobs[:tb])
    if margin > 0:
        logits[:tb] = ninf
    return margin


def top_gap(logits):
    """Distance between the two largest finite logits (inf if fewer)."""
    fin = logits[np.isfinite(logits)]
    if fin.size < 2:
        return np.inf
    top2 = np.partition(fin, fin.size - 2)[-2:]
    return float(top2[1] - top2[0])


def greedy(model, mel, prompt, sample_len, timestamps, margins=None):
    """The sampled ids; margins (a list) gets (top-2 logit gap, timestamp
    margin) per step, the latter nan without timestamps."""
    sp = model.special
    tok = model_tokenizer(model)
    blank = tok.encode(" ", False) + [sp["eot"]]
    suppress = non_speech_tokens(tok) + [sp["translate"], sp["transcribe"], sp["sot"],
                                          sp["prev"], sp["solm"], sp["no_speech"]]
    cross = cross_keys_values(model, encode(model, mel))
    cache = new_cache(model)
    tokens = list(prompt)
    seq = []
    feed = tokens
    while len(seq) < sample_len and len(tokens) < model.n_text_ctx:
        logits = decode(model, feed, cross, last_only=True, cache=cache)[-1].numpy().copy()
        if not seq:
            logits[blank] = -np.inf
        logits[suppress] = -np.inf
        ts_margin = float("nan")
        if timestamps:
            ts_margin = apply_timestamp_rules(logits, seq, sp)
        if margins is not None:
            margins.append((top_gap(logits), ts_margin))
        nxt = int(np.argmax(logits))  # first maximum: lowest id on ties
        seq.append(nxt)
        tokens.append(nxt)
        feed = [nxt]
        if nxt == sp["eot"]:
            break
    return seq


def model_tokenizer(model):
    if model._tok is None:
        model._tok = Tokenizer(model)
    return model._tok


# ---- command line ----------------------------------------------------------------

def read_f32(path, count=None, what="file"):
    a = np.fromfile(path, dtype="<f4")
    if count is not None and a.size != count:
        raise InputError("%s: %d floats, expected %d (%s)" % (path, a.size, count, what))
    return a.astype(np.float64)


def write_f32(path, arr):
    np.ascontiguousarray(np.asarray(arr, dtype=np.float64), dtype="<f4").tofile(path)


def parse_ids(text):
    try:
        return [int(t) for t in text.replace(" ", "").split(",") if t != ""]
    except ValueError:
        raise InputError("%r: expected comma-separated token ids" % text)


def load_mel(model, path):
    return read_f32(path, model.n_mels * N_FRAMES, "n_mels x 3000 mel").reshape(model.n_mels,
                                                                               N_FRAMES)


def run(args):
    torch.set_grad_enabled(False)
    # one thread: these small products gain nothing from more, and on a
    # loaded machine extra threads made the test-size commands 4x slower
    torch.set_num_threads(1)
    model = Model(args.model)
    if args.cmd == "mel":
        audio = read_f32(args.audio)
        if audio.size > N_SAMPLES:
            raise InputError("%s: %d samples, at most %d (30 s)" % (args.audio, audio.size,
                                                                   N_SAMPLES))
        write_f32(args.out, log_mel(model, audio))
    elif args.cmd == "encode":
        write_f32(args.out, encode(model, load_mel(model, args.mel)).numpy())
    elif args.cmd == "logits":
        xa = encode(model, load_mel(model, args.mel))
        write_f32(args.out, decode(model, parse_ids(args.tokens), xa).numpy())
    elif args.cmd == "greedy":
        margins = []
        seq = greedy(model, load_mel(model, args.mel), parse_ids(args.prompt), args.sample_len,
                     not args.no_timestamps, margins)
        with open(args.out, "w") as f:
            f.write(" ".join(str(t) for t in seq) + "\n")
        if args.margins:
            with open(args.margins, "w") as f:
                for gap, ts in margins:
                    f.write("%.9g %.9g\n" % (gap, ts))
    elif args.cmd == "dequant":
        write_f32(args.out, model.raw(args.tensor).reshape(-1))
    elif args.cmd == "tokens":
        with open(args.out, "wb") as f:
            f.write(model_tokenizer(model).bytes_of(parse_ids(args.ids)))
    elif args.cmd == "tokenize":
        ids = model_tokenizer(model).encode(args.text, not args.no_pretokenize)
        print(" ".join(str(i) for i in ids))


def main(argv):
    ap = argparse.ArgumentParser(description="float64 PyTorch reference of Whisper")
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("mel")
    p.add_argument("--audio", required=True)
    p.add_argument("--out", required=True)
    p = sub.add_parser("encode")
    p.add_argument("--mel", required=True)
    p.add_argument("--out", required=True)
    p = sub.add_parser("logits")
    p.add_argument("--mel", required=True)
    p.add_argument("--tokens", required=True)
    p.add_argument("--out", required=True)
    p = sub.add_parser("greedy")
    p.add_argument("--mel", required=True)
    p.add_argument("--prompt", required=True)
    p.add_argument("--sample-len", type=int, default=224)
    p.add_argument("--no-timestamps", action="store_true")
    p.add_argument("--out", required=True)
    p.add_argument("--margins")
    p = sub.add_parser("dequant")
    p.add_argument("--tensor", required=True)
    p.add_argument("--out", required=True)
    p = sub.add_parser("tokens")
    p.add_argument("--ids", required=True)
    p.add_argument("--out", required=True)
    p = sub.add_parser("tokenize")
    p.add_argument("--text", required=True)
    p.add_argument("--no-pretokenize", action="store_true")
    for p in sub.choices.values():
        p.add_argument("--model", required=True)
    args = ap.parse_args(argv)
    try:
        run(args)
    except (InputError, OSError, ValueError, struct.error) as e:
        print("reference.py: %s" % e, file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
