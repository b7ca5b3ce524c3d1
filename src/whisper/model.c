/* model: whisper_model_load and friends — gets a ggml Whisper file into
 * memory (memory-mapped read-only by default), has model_header.c and
 * model_tensors.c validate it, and then makes every tensor's data usable in
 * place: f32 tensors must be 4-byte and f16 tensors 2-byte aligned so the
 * kernels can use plain loads; any that are not (the format has no padding)
 * are copied into one owned, 64-byte aligned buffer. Quantized tensors are
 * read with memcpy and may sit anywhere.
 *
 * Without mmap the file is read into an anonymous mapping, so both paths end
 * with the whole file in m->map; whisper__model_load_memory (fuzzing) keeps
 * nothing of the caller's buffer and copies every tensor. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/util.h"
#include "whisper/loader.h"

#define OWNED_ALIGN 64

whisper_load_params whisper_load_default_params(void)
{
    return (whisper_load_params){.use_mmap = true};
}

void whisper_model_free(whisper_model *m)
{
    if (!m)
        return;
    if (m->map)
        munmap(m->map, m->map_size);
    free(m->owned);
    free(m->mel_filters);
    free(m->tokens);
    for (size_t i = 0; i < m->n_tensors; i++)
        free(m->tensor_names[i]);
    free(m->tensor_names);
    free(m->enc_layers);
    free(m->dec_layers);
    whisper__vocab_index_free(m->vocab_index);
    free(m->path);
    free(m);
}

static bool needs_copy(const whisper__tensor *t, bool in_place)
{
    if (!in_place)
        return true;
    uintptr_t a = (uintptr_t)t->data;
    /* Only f32 data is read through float pointers (OpenBLAS, memcpy-free
     * loops); f16 and quantized data are read with memcpy or unaligned
     * vector loads, so they stay in the mapping: copying the f16 weights
     * of a file without padding would double their memory. */
    return t->type == WHISPER__F32 && a % 4 != 0;
}

static size_t align_up(size_t n)
{
    return (n + OWNED_ALIGN - 1) / OWNED_ALIGN * OWNED_ALIGN;
}

/* Copies the tensors that cannot be used where they are into m->owned. */
static int place_tensors(whisper_model *m, bool in_place, const char *name, char *err,
                         size_t errlen)
{
    size_t n_slots = whisper__tensor_slot_count(m), total = 0;
    for (size_t i = 0; i < n_slots; i++) {
        whisper__tensor *t = whisper__tensor_slot(m, i);
        if (t && needs_copy(t, in_place))
            total = align_up(total) + t->nbytes; /* bounded by the file size + padding */
    }
    if (total == 0)
        return WHISPER_OK;
    m->owned = aligned_alloc(OWNED_ALIGN, align_up(total));
    if (!m->owned)
        return util_errf(err, errlen, WHISPER_ERR_NOMEM,
                         "%s: out of memory copying %zu bytes of tensor data", name, total);
    size_t off = 0;
    for (size_t i = 0; i < n_slots; i++) {
        whisper__tensor *t = whisper__tensor_slot(m, i);
        if (!t || !needs_copy(t, in_place))
            continue;
        off = align_up(off);
        char *dst = (char *)m->owned + off;
        memcpy(dst, t->data, t->nbytes);
        t->data = dst;
        off += t->nbytes;
    }
    return WHISPER_OK;
}

/* Validates data[0, size) into m and places its tensors. */
static int parse(whisper_model *m, const void *data, size_t size, bool in_place, const char *name,
                 char *err, size_t errlen)
{
    whisper__reader r = {data, size, 0, name};
    int rc;
    if ((rc = whisper__parse_header(m, &r, err, errlen)) ||
        (rc = whisper__parse_tensors(m, &r, err, errlen)) ||
        (rc = place_tensors(m, in_place, name, err, errlen)) ||
        (rc = whisper__vocab_index_build(m, err, errlen)))
        return rc;
    return WHISPER_OK;
}

int whisper__model_load_memory(whisper_model **out, const void *data, size_t size,
                               const char *name_for_messages, char *err, size_t errlen)
{
    const char *name = name_for_messages ? name_for_messages : "model";
    if (!out)
        return util_errf(err, errlen, WHISPER_ERR_INVALID_ARG, "%s: out is NULL", name);
    *out = NULL;
    if (!data && size > 0)
        return util_errf(err, errlen, WHISPER_ERR_INVALID_ARG, "%s: data is NULL", name);
    whisper_model *m = calloc(1, sizeof *m);
    if (!m || !(m->path = strdup(name))) {
        free(m);
        return util_errf(err, errlen, WHISPER_ERR_NOMEM, "%s: out of memory", name);
    }
    int rc = parse(m, size ? data : "", size, false, name, err, errlen);
    if (rc != WHISPER_OK) {
        whisper_model_free(m);
        return rc;
    }
    *out = m;
    return WHISPER_OK;
}

/* Reads the whole of fd into a fresh anonymous mapping. */
static int read_into_map(int fd, size_t size, void **map, const char *path, char *err,
                         size_t errlen)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return util_errf(err, errlen, WHISPER_ERR_NOMEM, "%s: out of memory for %zu bytes",
                         path, size);
    size_t done = 0;
    while (done < size) {
        ssize_t n = pread(fd, (char *)p + done, size - done, (off_t)done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : 0;
            munmap(p, size);
            return util_errf(err, errlen, WHISPER_ERR_IO, "%s: read failed at offset %zu: %s",
                             path, done, e ? strerror(e) : "unexpected end of file");
        }
        done += (size_t)n;
    }
    *map = p;
    return WHISPER_OK;
}

static int map_file(whisper_model *m, const char *path, bool use_mmap, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return util_errf(err, errlen, WHISPER_ERR_IO, "%s: cannot open: %s", path,
                         strerror(errno));
    int rc = WHISPER_OK;
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        rc = util_errf(err, errlen, WHISPER_ERR_IO, "%s: not a regular file", path);
        goto cleanup;
    }
    if (st.st_size < 4) {
        rc = util_errf(err, errlen, WHISPER_ERR_FORMAT,
                       "%s: truncated: the magic number needs 4 bytes at offset 0, the file has "
                       "%lld", path, (long long)st.st_size);
        goto cleanup;
    }
    m->map_size = (size_t)st.st_size;
    if (!use_mmap) {
        rc = read_into_map(fd, m->map_size, &m->map, path, err, errlen);
        goto cleanup;
    }
    void *p = mmap(NULL, m->map_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) /* e.g. a file system without mmap: read it instead */
        rc = read_into_map(fd, m->map_size, &m->map, path, err, errlen);
    else
        m->map = p;
cleanup:
    close(fd);
    return rc;
}

int whisper_model_load(whisper_model **out, const char *path, const whisper_load_params *p,
                       char *err, size_t errlen)
{
    if (!out || !path)
        return util_errf(err, errlen, WHISPER_ERR_INVALID_ARG, "whisper_model_load: %s is NULL",
                         out ? "path" : "out");
    *out = NULL;
    whisper_load_params def = whisper_load_default_params();
    if (!p)
        p = &def;
    whisper_model *m = calloc(1, sizeof *m);
    int rc = WHISPER_ERR_NOMEM;
    if (!m || !(m->path = strdup(path))) {
        util_errf(err, errlen, rc, "%s: out of memory", path);
        goto cleanup;
    }
    if ((rc = map_file(m, path, p->use_mmap, err, errlen)) ||
        (rc = parse(m, m->map, m->map_size, true, path, err, errlen)))
        goto cleanup;
    *out = m;
    m = NULL;
cleanup:
    whisper_model_free(m);
    return rc;
}

const whisper_hparams *whisper_model_hparams(const whisper_model *m)
{
    return m ? &m->hp : NULL;
}

bool whisper_model_multilingual(const whisper_model *m)
{
    return m && m->hp.n_vocab >= 51865;
}

const char *whisper_model_type_name(const whisper_model *m)
{
    const char *n = m ? whisper__type_name(m->weight_type) : NULL;
    return n ? n : "unknown";
}

const whisper_special_tokens *whisper_model_special(const whisper_model *m)
{
    return m ? &m->special : NULL;
}

const char *whisper_model_size_name(const whisper_model *m)
{
    if (!m)
        return "custom";
    static const struct {
        const char *name;
        int state, audio_layers, text_layers, mels;
    } sizes[] = {
        {"tiny", 384, 4, 4, 80},        {"base", 512, 6, 6, 80},
        {"small", 768, 12, 12, 80},     {"medium", 1024, 24, 24, 80},
        {"large", 1280, 32, 32, 80},    {"large-v3", 1280, 32, 32, 128},
        {"large-v3-turbo", 1280, 32, 4, 128},
    };
    const whisper_hparams *hp = &m->hp;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        if (hp->n_audio_state == sizes[i].state && hp->n_text_state == sizes[i].state &&
            hp->n_audio_layer == sizes[i].audio_layers &&
            hp->n_text_layer == sizes[i].text_layers && hp->n_mels == sizes[i].mels &&
            hp->n_audio_ctx == 1500 && hp->n_text_ctx == 448)
            return sizes[i].name;
    return "custom";
}
