/* make_whisper_loader_seeds: writes starting inputs for fuzz_whisper_loader
 * into a directory — the smallest valid models the loader accepts (encoder
 * width 32 so its weights can be quantized, decoder width 1, one layer each,
 * contexts of 1, a 16-token vocabulary) in every tensor type, and a few
 * damaged ones. Small valid inputs keep the fuzzer fast: a real vocabulary
 * and embedding would make every input hundreds of kilobytes.
 * Usage: make_whisper_loader_seeds HEADER.bin OUTDIR */
#include "../unit/whisper_writer.h"

static int write_file(const char *dir, const char *name, const uint8_t *d, size_t n)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(d, 1, n, f) != n) {
        fprintf(stderr, "cannot write %s\n", path);
        if (f)
            fclose(f);
        return 1;
    }
    return fclose(f) != 0;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: %s HEADER.bin OUTDIR\n", argv[0]);
        return 2;
    }
    size_t hlen;
    uint8_t *header = wt_read_file(argv[1], &hlen);
    if (!header) {
        fprintf(stderr, "cannot read %s\n", argv[1]);
        return 1;
    }
    int32_t n_vocab;
    memcpy(&n_vocab, header + 4, 4);
    static const struct {
        const char *name;
        int type;
    } types[] = {{"f32", 0}, {"f16", 1}, {"q4_0", 2}, {"q4_1", 3}, {"q5_0", 6}, {"q5_1", 7},
                 {"q8_0", 8}};
    int bad = 0;
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        int32_t hp[11] = {n_vocab, 1, 32, 1, 1, 1, 1, 1, 1, 80,
                          types[i].type < 2 ? types[i].type : 2000 + types[i].type};
        wt_list l = wt_tensors(hp, types[i].type);
        wt_file f = wt_build(header, hlen, hp, 16, &l, 1 + i);
        char name[64];
        snprintf(name, sizeof name, "valid_%s.bin", types[i].name);
        bad |= write_file(argv[2], name, f.data, f.len);
        if (i == 2) {
            /* damaged: truncated inside the last tensor, and a trailing byte */
            bad |= write_file(argv[2], "truncated_q4_0.bin", f.data, f.len - 5);
            uint8_t *g = malloc(f.len + 1);
            memcpy(g, f.data, f.len);
            g[f.len] = 0;
            bad |= write_file(argv[2], "trailing_q4_0.bin", g, f.len + 1);
            free(g);
        }
        wt_file_free(&f);
        free(l.t);
    }
    free(header);
    return bad;
}
