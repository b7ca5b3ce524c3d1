/* ckpt zip: the central directory of a torch.save archive and the reading
 * of its members. torch writes stored members through miniz (zip64 records
 * once the archive passes 4 GiB); archives re-packed by other tools may
 * deflate them. Every offset and size read from the file is checked against
 * the archive's bounds before it is used, and the local header of a member
 * must agree with its central directory entry (same name), so a damaged or
 * hostile archive fails with a message naming the member.
 */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "ckpt/internal.h"
#include "util/util.h"

#define SIG_LOCAL 0x04034b50u
#define SIG_CENTRAL 0x02014b50u
#define SIG_EOCD 0x06054b50u
#define SIG_EOCD64 0x06064b50u
#define SIG_LOCATOR64 0x07064b50u
#define EOCD_SIZE 22u
#define CENTRAL_SIZE 46u
#define LOCAL_SIZE 30u

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static uint64_t rd64(const uint8_t *p)
{
    return (uint64_t)rd32(p) | ((uint64_t)rd32(p + 4) << 32);
}

/* True when [off, off+len) lies inside an object of size bytes. */
static int in_bounds(uint64_t off, uint64_t len, uint64_t size)
{
    return off <= size && len <= size - off;
}

/* The directory's place as the end records give it. */
typedef struct {
    uint64_t entries;
    uint64_t cd_size;
    uint64_t cd_offset;
} dir_info;

static int find_eocd(const ckpt__zip *z, size_t *pos, char *err, size_t errlen)
{
    if (z->size < EOCD_SIZE)
        return util_errf(err, errlen, CKPT_ERR_FORMAT, "%s: not a zip checkpoint (%zu bytes)",
                         z->file, z->size);
    /* the record is followed only by its comment, at most 65535 bytes */
    size_t lo = z->size - EOCD_SIZE > 65535 ? z->size - EOCD_SIZE - 65535 : 0;
    for (size_t p = z->size - EOCD_SIZE + 1; p-- > lo;) {
        if (rd32(z->data + p) == SIG_EOCD &&
            p + EOCD_SIZE + rd16(z->data + p + 20) <= z->size) {
            *pos = p;
            return CKPT_OK;
        }
    }
    return util_errf(err, errlen, CKPT_ERR_FORMAT,
                     "%s: not a zip checkpoint (no end-of-central-directory record)", z->file);
}

static int read_zip64_end(const ckpt__zip *z, size_t eocd, dir_info *d, char *err, size_t errlen)
{
    if (eocd < 20 || rd32(z->data + eocd - 20) != SIG_LOCATOR64)
        return util_errf(err, errlen, CKPT_ERR_FORMAT,
                         "%s: zip end record needs zip64 but has no zip64 locator", z->file);
    uint64_t off = rd64(z->data + eocd - 20 + 8);
    if (!in_bounds(off, 56, eocd - 20) || rd32(z->data + off) != SIG_EOCD64)
        return util_errf(err, errlen, CKPT_ERR_FORMAT,
                         "%s: zip64 end record offset %llu is invalid", z->file,
                         (unsigned long long)off);
    const uint8_t *r = z->data + off;
    d->entries = rd64(r + 32);
    d->cd_size = rd64(r + 40);
    d->cd_offset = rd64(r + 48);
    return CKPT_OK;
}

static int read_end(const ckpt__zip *z, dir_info *d, char *err, size_t errlen)
{
    size_t eocd = 0;
    int rc = find_eocd(z, &eocd, err, errlen);
    if (rc != CKPT_OK)
        return rc;
    const uint8_t *r = z->data + eocd;
    if (rd16(r + 4) != 0 || rd16(r + 6) != 0)
        return util_errf(err, errlen, CKPT_ERR_FORMAT, "%s: multi-disk zip archives are not "
                         "supported", z->file);
    d->entries = rd16(r + 10);
    d->cd_size = rd32(r + 12);
    d->cd_offset = rd32(r + 16);
    if (d->entries == 0xFFFF || d->cd_size == 0xFFFFFFFFu || d->cd_offset == 0xFFFFFFFFu) {
        rc = read_zip64_end(z, eocd, d, err, errlen);
        if (rc != CKPT_OK)
            return rc;
    }
    if (!in_bounds(d->cd_offset, d->cd_size, eocd))
        return util_errf(err, errlen, CKPT_ERR_FORMAT,
                         "%s: zip central directory (offset %llu, %llu bytes) lies outside the "
                         "file", z->file, (unsigned long long)d->cd_offset,
                         (unsigned long long)d->cd_size);
    if (d->entries > CKPT__MAX_MEMBERS || d->entries > d->cd_size / CENTRAL_SIZE)
        return util_errf(err, errlen, CKPT_ERR_FORMAT,
                         "%s: zip directory claims %llu entries in %llu bytes", z->file,
                         (unsigned long long)d->entries, (unsigned long long)d->cd_size);
    return CKPT_OK;
}

/* Replaces the 32-bit fields that are 0xFFFFFFFF with their zip64 values,
 * which the extra field lists in a fixed order. */
static int apply_zip64_extra(const ckpt__zip *z, ckpt__member *m, const uint8_t *x, size_t xlen,
                             char *err, size_t errlen)
{
    int need_size = m->size == 0xFFFFFFFFu, need_comp = m->comp_size == 0xFFFFFFFFu;
    int need_off = m->local_offset == 0xFFFFFFFFu;
    if (!need_size && !need_comp && !need_off)
        return CKPT_OK;
    for (size_t p = 0; p + 4 <= xlen;) {
        uint16_t id = rd16(x + p), len = rd16(x + p + 2);
        if (p + 4 + len > xlen)
            break;
        if (id == 0x0001) {
            const uint8_t *f = x + p + 4;
            size_t want = 8u * (size_t)(need_size + need_comp + need_off);
            if (len < want)
                break;
            if (need_size)
                m->size = rd64(f), f += 8;
            if (need_comp)
                m->comp_size = rd64(f), f += 8;
            if (need_off)
                m->local_offset = rd64(f);
            return CKPT_OK;
        }
        p += 4u + len;
    }
    return util_errf(err, errlen, CKPT_ERR_FORMAT,
                     "%s: zip member '%s' lacks the zip64 field its sizes need", z->file,
                     m->name);
}

static int read_entry(const ckpt__zip *z, const uint8_t *e, size_t room, ckpt__member *m,
                      size_t *used, char *err, size_t errlen)
{
    if (room < CENTRAL_SIZE || rd32(e) != SIG_CENTRAL)
        return util_errf(err, errlen, CKPT_ERR_FORMAT, "%s: damaged zip central directory",
                         z->file);
    size_t nlen = rd16(e + 28), xlen = rd16(e + 30), clen = rd16(e + 32);
    if (CENTRAL_SIZE + nlen + xlen + clen > room)
        return util_errf(err, errlen, CKPT_ERR_FORMAT,
                         "%s: zip central directory entry overruns the directory", z->file);
    if (nlen == 0 || nlen > CKPT__MAX_NAME || memchr(e + CENTRAL_SIZE, 0, nlen))
        return util_errf(err, errlen, CKPT_ERR_FORMAT, "%s: zip member with an invalid name",
                         z->file);
    m->name = malloc(nlen + 1);
    if (!m->name)
        return util_errf(err, errlen, CKPT_ERR_NOMEM, "%s: out of memory", z->file);
    memcpy(m->name, e + CENTRAL_SIZE, nlen);
    m->name[nlen] = '\0';
    uint16_t flags = rd16(e + 8);
    m->method = rd16(e + 10);
    m->crc = rd32(e + 16);
    m->comp_size = rd32(e + 20);
    m->size = rd32(e + 24);
    m->local_offset = rd32(e + 42);
    *used = CENTRAL_SIZE + nlen + xlen + clen;
    if (flags & 1u)
        return util_errf(err, errlen, CKPT_ERR_UNSUPPORTED, "%s: zip member '%s' is encrypted",
                         z->file, m->name);
    if (m->method != 0 && m->method != 8)
        return util_errf(err, errlen, CKPT_ERR_UNSUPPORTED,
                         "%s: zip member '%s' uses compression method %u (only stored and "
                         "deflated are supported)", z->file, m->name, m->method);
    return apply_zip64_extra(z, m, e + CENTRAL_SIZE + nlen, xlen, err, errlen);
}

static int cmp_member(const void *a, const void *b)
{
    return strcmp(((const ckpt__member *)a)->name, ((const ckpt__member *)b)->name);
}

/* One top directory holding data.pkl; every member lives under it. */
static int check_layout(ckpt__zip *z, char *err, size_t errlen)
{
    const char *pkl = NULL;
    for (size_t i = 0; i < z->count; i++) {
        const char *n = z->members[i].name, *slash = strchr(n, '/');
        if (slash && slash != n && strcmp(slash + 1, "data.pkl") == 0) {
            if (pkl)
                return util_errf(err, errlen, CKPT_ERR_FORMAT,
                                 "%s: two pickles ('%s' and '%s') in one checkpoint", z->file,
                                 pkl, n);
            pkl = n;
        }
        if (i > 0 && strcmp(z->members[i - 1].name, n) == 0)
            return util_errf(err, errlen, CKPT_ERR_FORMAT, "%s: zip member '%s' appears twice",
                             z->file, n);
    }
    if (!pkl)
        return util_errf(err, errlen, CKPT_ERR_FORMAT,
                         "%s: a zip archive without TOP/data.pkl (not a torch.save checkpoint)",
                         z->file);
    size_t tlen = (size_t)(strchr(pkl, '/') - pkl) + 1;
    z->top = malloc(tlen + 1);
    if (!z->top)
        return util_errf(err, errlen, CKPT_ERR_NOMEM, "%s: out of memory", z->file);
    memcpy(z->top, pkl, tlen);
    z->top[tlen] = '\0';
    for (size_t i = 0; i < z->count; i++)
        if (strncmp(z->members[i].name, z->top, tlen) != 0)
            return util_errf(err, errlen, CKPT_ERR_FORMAT,
                             "%s: zip member '%s' is outside the top directory '%s'", z->file,
                             z->members[i].name, z->top);
    return CKPT_OK;
}

int ckpt__zip_open(ckpt__zip *z, const uint8_t *data, size_t size, const char *file, char *err,
                   size_t errlen)
{
    memset(z, 0, sizeof *z);
    z->file = file;
    z->data = data;
    z->size = size;
    dir_info d = {0, 0, 0};
    int rc = read_end(z, &d, err, errlen);
    if (rc != CKPT_OK)
        goto cleanup;
    if (d.entries > 0) {
        z->members = calloc((size_t)d.entries, sizeof *z->members);
        if (!z->members) {
            rc = util_errf(err, errlen, CKPT_ERR_NOMEM, "%s: out of memory", file);
            goto cleanup;
        }
    }
    size_t pos = (size_t)d.cd_offset, end = (size_t)(d.cd_offset + d.cd_size);
    for (uint64_t i = 0; i < d.entries; i++) {
        size_t used = 0;
        z->count++;
        rc = read_entry(z, data + pos, end - pos, &z->members[i], &used, err, errlen);
        if (rc != CKPT_OK)
            goto cleanup;
        pos += used;
    }
    if (z->count > 1)
        qsort(z->members, z->count, sizeof *z->members, cmp_member);
    rc = check_layout(z, err, errlen);
cleanup:
    if (rc != CKPT_OK)
        ckpt__zip_close(z);
    return rc;
}

void ckpt__zip_close(ckpt__zip *z)
{
    if (!z)
        return;
    for (size_t i = 0; i < z->count; i++) {
        free(z->members[i].name);
        free(z->members[i].owned);
    }
    free(z->members);
    free(z->top);
    z->members = NULL;
    z->top = NULL;
    z->count = 0;
}

ckpt__member *ckpt__zip_find(const ckpt__zip *z, const char *rel)
{
    if (!z->top)
        return NULL;
    size_t tlen = strlen(z->top), lo = 0, hi = z->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const char *n = z->members[mid].name;
        int c = strncmp(n, z->top, tlen);
        if (c == 0)
            c = strcmp(n + tlen, rel);
        if (c == 0)
            return &z->members[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static int inflate_member(const ckpt__zip *z, ckpt__member *m, const uint8_t *src, char *err,
                          size_t errlen)
{
    if (m->size / CKPT__MAX_INFLATE_RATIO > m->comp_size + 1 || m->size > SIZE_MAX - 1)
        return util_errf(err, errlen, CKPT_ERR_FORMAT,
                         "%s: zip member '%s' claims %llu bytes from %llu compressed", z->file,
                         m->name, (unsigned long long)m->size, (unsigned long long)m->comp_size);
    m->owned = malloc((size_t)m->size + 1);
    if (!m->owned)
        return util_errf(err, errlen, CKPT_ERR_NOMEM, "%s: out of memory inflating '%s'",
                         z->file, m->name);
    z_stream s;
    memset(&s, 0, sizeof s);
    if (inflateInit2(&s, -MAX_WBITS) != Z_OK)
        return util_errf(err, errlen, CKPT_ERR_NOMEM, "%s: zlib cannot start", z->file);
    /* sizes can pass zlib's 32-bit counters: feed and drain in pieces */
    uint64_t in_left = m->comp_size, out_left = m->size;
    const uint8_t *in = src;
    uint8_t *out = m->owned;
    int zr = Z_OK;
    while (zr == Z_OK) {
        uInt ci = in_left > 0x40000000u ? 0x40000000u : (uInt)in_left;
        uInt co = out_left > 0x40000000u ? 0x40000000u : (uInt)out_left;
        s.next_in = (Bytef *)(uintptr_t)in;
        s.avail_in = ci;
        s.next_out = out;
        s.avail_out = co + (out_left == co ? 1u : 0u); /* room to notice excess output */
        zr = inflate(&s, Z_NO_FLUSH);
        in += ci - s.avail_in;
        in_left -= ci - s.avail_in;
        size_t produced = (size_t)(s.next_out - out);
        out += produced;
        out_left = produced > out_left ? 0 : out_left - produced;
        if (produced > co || (zr == Z_OK && ci == s.avail_in && produced == 0))
            zr = Z_DATA_ERROR;
    }
    size_t got = (size_t)(out - m->owned);
    inflateEnd(&s);
    if (zr != Z_STREAM_END || got != m->size)
        return util_errf(err, errlen, CKPT_ERR_FORMAT,
                         "%s: zip member '%s' does not inflate to its %llu bytes", z->file,
                         m->name, (unsigned long long)m->size);
    m->bytes = m->owned;
    return CKPT_OK;
}

static int check_crc(const ckpt__zip *z, const ckpt__member *m, char *err, size_t errlen)
{
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
    /* a fuzzer cannot forge checksums; let it reach the pickle machine */
    (void)z, (void)m, (void)err, (void)errlen;
    return CKPT_OK;
#else
    uLong c = crc32(0L, Z_NULL, 0);
    const uint8_t *p = m->bytes;
    for (uint64_t left = m->size; left > 0;) {
        uInt n = left > 0x40000000u ? 0x40000000u : (uInt)left;
        c = crc32(c, p, n);
        p += n;
        left -= n;
    }
    if ((uint32_t)c != m->crc)
        return util_errf(err, errlen, CKPT_ERR_FORMAT,
                         "%s: zip member '%s' is damaged (CRC-32 %08x, expected %08x)", z->file,
                         m->name, (unsigned)c, (unsigned)m->crc);
    return CKPT_OK;
#endif
}

int ckpt__zip_load(ckpt__zip *z, ckpt__member *m, char *err, size_t errlen)
{
    if (m->bytes)
        return CKPT_OK;
    if (!in_bounds(m->local_offset, LOCAL_SIZE, z->size) ||
        rd32(z->data + m->local_offset) != SIG_LOCAL)
        return util_errf(err, errlen, CKPT_ERR_FORMAT,
                         "%s: zip member '%s' has no local header at offset %llu", z->file,
                         m->name, (unsigned long long)m->local_offset);
    const uint8_t *h = z->data + m->local_offset;
    size_t nlen = rd16(h + 26), xlen = rd16(h + 28);
    uint64_t start = m->local_offset + LOCAL_SIZE + nlen + xlen;
    if (!in_bounds(m->local_offset + LOCAL_SIZE, nlen, z->size) || nlen != strlen(m->name) ||
        memcmp(h + LOCAL_SIZE, m->name, nlen) != 0)
        return util_errf(err, errlen, CKPT_ERR_FORMAT,
                         "%s: zip member '%s': the local header names another file", z->file,
                         m->name);
    if (rd16(h + 8) != m->method)
        return util_errf(err, errlen, CKPT_ERR_FORMAT,
                         "%s: zip member '%s': the local header gives another compression",
                         z->file, m->name);
    if (!in_bounds(start, m->comp_size, z->size))
        return util_errf(err, errlen, CKPT_ERR_FORMAT,
                         "%s: zip member '%s' (%llu bytes at %llu) overruns the file", z->file,
                         m->name, (unsigned long long)m->comp_size, (unsigned long long)start);
    int rc;
    if (m->method == 0) {
        if (m->comp_size != m->size)
            return util_errf(err, errlen, CKPT_ERR_FORMAT,
                             "%s: stored zip member '%s' has two sizes (%llu, %llu)", z->file,
                             m->name, (unsigned long long)m->comp_size,
                             (unsigned long long)m->size);
        m->bytes = z->data + start;
    } else {
        rc = inflate_member(z, m, z->data + start, err, errlen);
        if (rc != CKPT_OK) {
            free(m->owned);
            m->owned = NULL;
            return rc;
        }
    }
    rc = check_crc(z, m, err, errlen);
    if (rc != CKPT_OK) {
        free(m->owned);
        m->owned = NULL;
        m->bytes = NULL;
    }
    return rc;
}
