#!/usr/bin/python3
"""ref_cluster: float64 NumPy reference of the clustering and reconstruction
steps of pyannote's speaker-diarization-3.1 pipeline, written from the
published definitions (pyannote.audio 3.1: pipelines/clustering.py,
pipelines/speaker_diarization.py, pipelines/utils/diarization.py,
core/inference.py; pyannote.core SlidingWindow and Binarize), read at
pyannote/pyannote-audio commit 45ca88556448674373eabc52d3dde91882044e18 for
AgglomerativeClustering. No scipy: the centroid linkage is written out
naively here, and the C code (src/pyannote/cluster*.c, reconstruct*.c) is
compared against it by tests/unit/test_pyannote_cluster.c.

Conventions the C code shares (where pyannote leaves them to scipy/numpy
internals):
 - centroid linkage merges the pair of clusters at the smallest squared
   Euclidean distance between centroids; clusters live in n slots, the pair
   is (x, y) with x < y, ties go to the smallest x then the smallest y, the
   merged cluster takes slot y and its centroid is the size-weighted mean;
   the linkage row is (min id, max id, distance, size) as scipy writes it;
 - argsort of |height - threshold| is stable (ties by merge index);
 - the top-`count` speakers of a frame are taken by decreasing activation,
   ties by the lowest cluster index (numpy's argsort is stable for the
   <= 16 columns seen in practice);
 - everything is float64 (pyannote normalises and averages in float32),
   and every sum is taken in the C code's order (sequential, or sixteen
   interleaved partial sums for squared distances) so that both sides
   compute the same bits and break exact ties the same way.

Usage: ref_cluster.py OUTDIR   (writes the test cases and manifest.txt)
"""
import os
import sys

import numpy as np

FRAME_STEP = 270 / 16000
FRAME_DURATION = 991 / 16000
SEGMENT_PRECISION = 1e-6  # pyannote.core: shorter segments are empty


def default_params():
    return dict(threshold=0.7045654963945799, min_cluster_size=12,
                min_clusters=0, max_clusters=0, num_clusters=0)


def default_timeline():
    return dict(chunk_duration=10.0, chunk_step=1.0, min_duration_off=0.0,
                max_speakers=0)


# ---- clustering -------------------------------------------------------------

def seqsum(a, axis=-1):
    """Sequential sum (numpy's own sum is pairwise)."""
    if a.shape[axis] == 0:
        return np.zeros(np.delete(a.shape, axis))
    return np.take(np.cumsum(a, axis=axis), -1, axis=axis)


def dist2(a, b):
    """Squared distance over the last axis in the C code's order: sixteen
    interleaved partial sums over whole blocks of 16, folded as
    (p[j] + p[j+4]) + (p[j+8] + p[j+12]) then ((j0 + j1) + (j2 + j3)),
    plus the last dim % 16 values summed in order."""
    sq = (a - b) ** 2
    dim = sq.shape[-1]
    m = dim - dim % 16
    p = [seqsum(sq[..., j:m:16]) for j in range(16)]
    u = [(p[j] + p[j + 4]) + (p[j + 8] + p[j + 12]) for j in range(4)]
    tail = np.zeros(sq.shape[:-1])
    for i in range(m, dim):
        tail = tail + sq[..., i]
    return ((u[0] + u[1]) + (u[2] + u[3])) + tail


def normalise(x):
    return x / np.sqrt(seqsum(x * x))[:, None]


def mean_rows(x):
    return seqsum(x, axis=0) / len(x)


def centroid_linkage(x):
    """Naive centroid linkage; returns the (n - 1) x 4 linkage matrix."""
    n = len(x)
    cent = x.copy()
    size = np.ones(n)
    ids = np.arange(n)
    alive = np.ones(n, dtype=bool)
    d2 = np.full((n, n), np.inf)
    for i in range(n - 1):
        d2[i, i + 1:] = dist2(x[i + 1:], x[i])
    z = np.zeros((n - 1, 4))
    for k in range(n - 1):
        flat = int(np.argmin(d2))  # row-major: smallest x, then smallest y
        a, b = divmod(flat, n)
        dist = d2[a, b]
        z[k] = [min(ids[a], ids[b]), max(ids[a], ids[b]), np.sqrt(dist),
                size[a] + size[b]]
        cent[b] = (size[a] * cent[a] + size[b] * cent[b]) / (size[a] + size[b])
        size[b] = size[a] + size[b]
        ids[b] = n + k
        alive[a] = False
        d2[a, :] = np.inf
        d2[:, a] = np.inf
        others = np.flatnonzero(alive)
        others = others[others != b]
        dist_b = dist2(cent[others], cent[b])
        low, high = others[others < b], others[others > b]
        d2[low, b] = dist_b[: len(low)]
        d2[b, high] = dist_b[len(low):]
    return z


def fcluster(z, n, crit, cutoff):
    """scipy's fcluster(criterion given by crit): depth-first from the root,
    internal children (left, right) before leaf children; 0-based labels."""
    labels = np.zeros(n, dtype=np.int64)
    count = 0
    stack = [(2 * n - 2, False, 0)]
    # frames: (node, inside_cluster, phase); phase 0 = enter, 1 = leaves
    while stack:
        node, inside, phase = stack.pop()
        r = node - n
        left, right = int(z[r, 0]), int(z[r, 1])
        if phase == 0:
            if not inside and crit[r] <= cutoff:
                count += 1
                inside = True
            stack.append((node, inside, 1))
            if right >= n:
                stack.append((right, inside, 0))
            if left >= n:
                stack.append((left, inside, 0))
            continue
        for leaf in (left, right):
            if leaf < n:
                if not inside:
                    count += 1
                labels[leaf] = count
    return labels - 1


def max_dist(z, n):
    md = np.zeros(n - 1)
    for k in range(n - 1):
        m = z[k, 2]
        for c in (int(z[k, 0]), int(z[k, 1])):
            if c >= n:
                m = max(m, md[c - n])
        md[k] = m
    return md


def set_num_clusters(n, p):
    num = p["num_clusters"] or None
    min_c = num or p["min_clusters"] or 1
    min_c = max(1, min(n, min_c))
    max_c = num or p["max_clusters"] or n
    max_c = max(1, min(n, max_c))
    if min_c > max_c:
        raise ValueError("min_clusters > max_clusters")
    if min_c == max_c:
        num = min_c
    return num, min_c, max_c


def cosine_cdist(a, b):
    out = np.zeros((len(a), len(b)))
    for i in range(len(a)):
        for j in range(len(b)):
            out[i, j] = 1.0 - seqsum(a[i] * b[j]) / (
                np.sqrt(seqsum(a[i] * a[i])) * np.sqrt(seqsum(b[j] * b[j])))
    return out


def large_of(clusters, mcs):
    uniq, counts = np.unique(clusters, return_counts=True)
    return uniq, counts, uniq[counts >= mcs]


def agglomerative(x, p, min_c, max_c, num):
    n = len(x)
    mcs = min(p["min_cluster_size"], max(1, round(0.1 * n)))
    if n == 1:
        return np.zeros(1, dtype=np.int64)
    x = normalise(x)
    z = centroid_linkage(x)
    clusters = fcluster(z, n, max_dist(z, n), p["threshold"])
    uniq, counts, large = large_of(clusters, mcs)
    n_large = len(large)
    if n_large < min_c:
        num = min_c
    elif n_large > max_c:
        num = max_c
    if num is not None and n_large != num:
        order_crit = np.arange(n - 1, dtype=np.float64)  # "iteration" heights
        best_it, best_large = n - 1, 1
        for it in np.argsort(np.abs(z[:, 2] - p["threshold"]), kind="stable"):
            if z[it, 3] < mcs:
                continue
            clusters = fcluster(z, n, order_crit, it)
            uniq, counts, large = large_of(clusters, mcs)
            n_large = len(large)
            if abs(n_large - num) < abs(best_large - num):
                best_it, best_large = it, n_large
            if n_large == num:
                break
        if best_large != num:
            clusters = fcluster(z, n, order_crit, best_it)
            uniq, counts, large = large_of(clusters, mcs)
            n_large = len(large)
    if n_large == 0:
        return np.zeros(n, dtype=np.int64)
    small = uniq[counts < mcs]
    if len(small) == 0:
        return clusters
    lc = np.vstack([mean_rows(x[clusters == k]) for k in large])
    sc = np.vstack([mean_rows(x[clusters == k]) for k in small])
    nearest = np.argmin(cosine_cdist(lc, sc), axis=0)
    for j, k in enumerate(nearest):
        clusters[clusters == small[j]] = large[k]
    return np.unique(clusters, return_inverse=True)[1]


def first_argmax(v):
    """np.argmax: the first NaN if any, else the first maximum."""
    nan = np.flatnonzero(np.isnan(v))
    return int(nan[0]) if len(nan) else int(np.argmax(v))


def cluster(embeddings, active, p):
    """embeddings (C, S, D) float (NaN or all-zero rows = no embedding),
    active (C, S) bool -> hard clusters (C, S) int, -2 for inactive pairs."""
    emb = embeddings.astype(np.float64)
    n_chunks, n_local, _ = emb.shape
    valid = np.all(np.isfinite(emb), axis=2) & np.any(emb != 0, axis=2)
    ci, si = np.where(active & valid)
    train = emb[ci, si]
    num, min_c, max_c = set_num_clusters(len(train), p)
    if max_c < 2:
        hard = np.zeros((n_chunks, n_local), dtype=np.int64)
    else:
        tc = agglomerative(train, p, min_c, max_c, num)
        k = int(tc.max()) + 1
        cent = np.vstack([mean_rows(train[tc == j]) for j in range(k)])
        hard = np.zeros((n_chunks, n_local), dtype=np.int64)
        for c in range(n_chunks):
            for s in range(n_local):
                if not active[c, s]:
                    continue
                if not valid[c, s]:
                    hard[c, s] = 0
                    continue
                soft = 2.0 - cosine_cdist(emb[c, s][None], cent)[0]
                hard[c, s] = first_argmax(soft)
    hard[~active] = -2
    return hard


# ---- reconstruction ---------------------------------------------------------

def closest_frame(t):
    return int(np.rint((t - 0.0 - 0.5 * FRAME_DURATION) / FRAME_STEP))


def reconstruct(binary, hard, tp, audio_seconds):
    """binary (C, F, S) 0/1, hard (C, S) -> sorted [(start, end, speaker)]."""
    n_chunks, n_frames, n_local = binary.shape
    total = closest_frame(0.0 + tp["chunk_duration"] + (n_chunks - 1) * tp["chunk_step"]
                          + 0.5 * FRAME_DURATION) + 1
    k = max(int(hard.max()) + 1, 0)
    agg = np.zeros(total, dtype=np.float32)
    cover = np.zeros(total, dtype=np.float32)
    act = np.zeros((total, max(k, 1)))
    for c in range(n_chunks):
        f0 = closest_frame(0.0 + c * tp["chunk_step"] + 0.5 * FRAME_DURATION)
        agg[f0:f0 + n_frames] += binary[c].sum(axis=1).astype(np.float32)
        cover[f0:f0 + n_frames] += 1.0
        for j in np.unique(hard[c]):
            if j == -2:
                continue
            act[f0:f0 + n_frames, j] += binary[c][:, hard[c] == j].max(axis=1)
    count = np.rint(agg / np.maximum(cover, np.float32(1e-12))).astype(np.int64)
    count[cover == 0] = 0
    if tp["max_speakers"] > 0:
        count = np.minimum(count, tp["max_speakers"])
    act = act[:, :k]
    if count.max() > k:
        act = np.pad(act, ((0, 0), (0, int(count.max()) - k)))
    order = np.argsort(-act, axis=1, kind="stable")
    binary_out = np.zeros(act.shape)
    for t in range(total):
        binary_out[t, order[t, :count[t]]] = 1.0
    turns = []
    mids = []
    for i in range(total):
        start = 0.0 + i * FRAME_STEP
        mids.append(0.5 * (start + (start + FRAME_DURATION)))
    for j in range(binary_out.shape[1]):
        segs = binarize(binary_out[:, j], mids)
        if tp["min_duration_off"] > 0:
            segs = fill_gaps(segs, tp["min_duration_off"])
        for s, e in segs:
            e = min(e, audio_seconds)
            if e - s > SEGMENT_PRECISION:
                turns.append((s, e, j))
    return sorted(turns)


def binarize(y, mids):
    segs = []
    start, on = mids[0], y[0] > 0.5
    t = mids[0]
    for t, v in zip(mids[1:], y[1:]):
        if on and v < 0.5:
            segs.append((start, t))
            start, on = t, False
        elif not on and v > 0.5:
            start, on = t, True
    if on:
        segs.append((start, t))
    return [(s, e) for s, e in segs if e - s > SEGMENT_PRECISION]


def fill_gaps(segs, collar):
    out = []
    for s, e in segs:
        if out and (s - out[-1][1] <= SEGMENT_PRECISION or s - out[-1][1] < collar):
            out[-1] = (min(out[-1][0], s), max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


# ---- test cases -------------------------------------------------------------

def make_binary(rng, n_chunks, n_frames, n_local, p_on):
    """Runs of activity per local speaker, at most two at once."""
    b = np.zeros((n_chunks, n_frames, n_local), dtype=np.uint8)
    for c in range(n_chunks):
        for s in range(n_local):
            if rng.random() > p_on:
                continue
            t = int(rng.integers(0, n_frames // 2))
            while t < n_frames:
                length = int(rng.integers(5, 150))
                b[c, t:t + length, s] = 1
                t += length + int(rng.integers(5, 200))
        over = b[c].sum(axis=1) > 2
        b[c, over, 2] = 0
    return b


def make_embeddings(rng, active, k, dim, noise, spread):
    n_chunks, n_local = active.shape
    base = rng.standard_normal(dim)
    centers = base[None] * spread + rng.standard_normal((k, dim))
    centers /= np.linalg.norm(centers, axis=1, keepdims=True)
    who = rng.integers(0, k, size=(n_chunks, n_local))
    emb = centers[who] + noise / np.sqrt(dim) * rng.standard_normal((n_chunks, n_local, dim))
    emb *= rng.uniform(0.5, 3.0, size=(n_chunks, n_local, 1))
    emb = emb.astype(np.float32)
    emb[~active] = np.nan
    return emb


def tie_embeddings(rng, active, dim):
    """Entries in {0, +-1} with four non-zeros: every sum is exact, so equal
    distances are equal bit for bit in any summation order."""
    n_chunks, n_local = active.shape
    protos = []
    for _ in range(4):
        v = np.zeros(dim)
        idx = rng.choice(dim, 4, replace=False)
        v[idx] = rng.choice([-1.0, 1.0], 4)
        protos.append(v)
    emb = np.zeros((n_chunks, n_local, dim), dtype=np.float32)
    for c in range(n_chunks):
        for s in range(n_local):
            v = protos[int(rng.integers(0, 4))].copy()
            if rng.random() < 0.5:  # one coordinate moved: distance sqrt(2)/2
                i = int(np.flatnonzero(v)[0])
                j = int(rng.choice(np.flatnonzero(v == 0)))
                v[j], v[i] = v[i], 0.0
            emb[c, s] = v
    emb[~active] = np.nan
    return emb


def cases():
    p, tp = default_params(), default_timeline()
    out = []
    for i, (k, chunks, noise, spread) in enumerate(
            [(1, 40, 0.5, 0.0), (2, 60, 0.6, 0.3), (3, 80, 0.7, 0.5),
             (4, 90, 0.8, 0.6), (5, 120, 0.75, 0.7)]):
        out.append(dict(name=f"k{k}", seed=100 + i, k=k, chunks=chunks, dim=64,
                        noise=noise, spread=spread, p=dict(p), tp=dict(tp)))
    out.append(dict(name="dim256", seed=7, k=3, chunks=50, dim=256, noise=0.7,
                    spread=0.5, p=dict(p), tp=dict(tp)))
    out.append(dict(name="few", seed=8, k=2, chunks=3, dim=32, noise=0.5,
                    spread=0.0, p=dict(p), tp=dict(tp)))
    out.append(dict(name="four", seed=9, k=3, chunks=2, dim=32, noise=0.9,
                    spread=0.5, p=dict(p), tp=dict(tp)))
    for name, key, val, k in [("num4", "num_clusters", 4, 2), ("num1", "num_clusters", 1, 3),
                              ("min4", "min_clusters", 4, 2), ("max2", "max_clusters", 2, 4)]:
        q = dict(p)
        q[key] = val
        out.append(dict(name=name, seed=20 + val + k, k=k, chunks=60, dim=64, noise=0.7,
                        spread=0.5, p=q, tp=dict(tp)))
    q = dict(p)
    q["threshold"] = 0.9
    out.append(dict(name="ties", seed=31, k=4, chunks=40, dim=16, ties=True, p=q,
                    tp=dict(tp)))
    for name, key, val in [("tiesnum", "num_clusters", 2), ("tiesmin", "min_clusters", 6)]:
        q = dict(p, threshold=0.9)
        q[key] = val
        out.append(dict(name=name, seed=40 + val, k=4, chunks=40, dim=16, ties=True, p=q,
                        tp=dict(tp)))
    tq = dict(tp, min_duration_off=0.5, max_speakers=2)
    out.append(dict(name="gaps", seed=32, k=3, chunks=40, dim=64, noise=0.7, spread=0.5,
                    p=dict(p), tp=tq))
    tq = dict(tp, chunk_step=2.5)
    out.append(dict(name="step25", seed=33, k=3, chunks=20, dim=64, noise=0.6, spread=0.4,
                    p=dict(p), tp=tq))
    out.append(dict(name="large", seed=35, k=6, chunks=500, dim=64, noise=0.8, spread=0.5,
                    p=dict(p), tp=dict(tp)))
    out.append(dict(name="one", seed=34, k=2, chunks=1, dim=64, noise=0.6, spread=0.4,
                    p=dict(p), tp=dict(tp)))
    return out


def write_case(outdir, case, manifest):
    rng = np.random.default_rng(case["seed"])
    n_frames, n_local = 589, 3
    b = make_binary(rng, case["chunks"], n_frames, n_local, 0.7)
    active = b.sum(axis=1) > 0
    if case.get("ties"):
        emb = tie_embeddings(rng, active, case["dim"])
    else:
        emb = make_embeddings(rng, active, case["k"], case["dim"], case["noise"],
                              case["spread"])
        if case["chunks"] > 10:  # active speakers whose embedding failed
            c = rng.integers(0, case["chunks"], 2)
            for cc in c:
                s = np.flatnonzero(active[cc])
                if len(s):
                    emb[cc, s[0]] = np.nan
            z = (c[0] + 1) % case["chunks"]
            s = np.flatnonzero(active[z])
            if len(s):  # an all-zero embedding cannot be normalised either
                emb[z, s[-1]] = 0.0
    tp = case["tp"]
    audio = (case["chunks"] - 1) * tp["chunk_step"] + tp["chunk_duration"] - \
        float(rng.uniform(0.0, 0.99))
    hard = cluster(emb, active, case["p"])
    train = emb.astype(np.float64)[active & np.all(np.isfinite(emb), axis=2)
                                   & np.any(emb != 0, axis=2)]
    if len(train) >= 2:
        train = normalise(train)
        linkage = centroid_linkage(train)
    else:
        linkage = np.zeros((0, 4))
    turns = reconstruct(b, hard, tp, audio)
    name = case["name"]
    base = os.path.join(outdir, name)
    emb.tofile(base + ".emb.f32")
    b.astype(np.int32).tofile(base + ".binary.i32")
    hard.astype(np.int32).tofile(base + ".hard.i32")
    linkage.tofile(base + ".linkage.f64")
    np.array(turns, dtype=np.float64).reshape(-1, 3).tofile(base + ".turns.f64")
    p = case["p"]
    manifest.write(f"{name} {case['chunks']} {n_frames} {n_local} {case['dim']} "
                   f"{p['threshold']!r} {p['min_cluster_size']} {p['min_clusters']} "
                   f"{p['max_clusters']} {p['num_clusters']} {tp['chunk_duration']!r} "
                   f"{tp['chunk_step']!r} {tp['min_duration_off']!r} {tp['max_speakers']} "
                   f"{audio!r} {int(hard.max()) + 1 if hard.max() >= 0 else 0} "
                   f"{len(turns)}\n")


def main(argv):
    outdir = argv[1]
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "manifest.txt"), "w") as manifest:
        for case in cases():
            write_case(outdir, case, manifest)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
