/* loader: the pieces of model loading shared by model.c (files, memory,
 * tensor placement), model_header.c (hyper-parameters, mel filters,
 * vocabulary), model_tensors.c (the tensor directory) and vocab.c. Private
 * to the whisper module. */
#ifndef CESAR_WHISPER_LOADER_H
#define CESAR_WHISPER_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include "whisper/internal.h"

/* Longest accepted token (real vocabularies: 128 bytes) and tensor name
 * (real: 41 bytes); both bound what a damaged file can make us allocate. */
#define WHISPER__MAX_TOKEN_BYTES 1024
#define WHISPER__MAX_NAME_BYTES 128

/* A bounds-checked cursor over the file's bytes; name prefixes messages. */
typedef struct {
    const uint8_t *data;
    size_t size;
    size_t off;
    const char *name;
} whisper__reader;

/* Reads a little-endian int32 / n raw bytes; on a short file returns
 * WHISPER_ERR_FORMAT with "truncated: WHAT needs N bytes at offset O, the
 * file has M". */
int whisper__rd_i32(whisper__reader *r, int32_t *v, const char *what, char *err, size_t errlen);
int whisper__rd_bytes(whisper__reader *r, size_t n, const uint8_t **p, const char *what, char *err,
                      size_t errlen);

/* Magic, hyper-parameters (validated), mel filters (copied), vocabulary
 * (copied, raw bytes) and the special token ids. */
int whisper__parse_header(whisper_model *m, whisper__reader *r, char *err, size_t errlen);
/* Special token ids for a vocabulary of n_vocab ids. */
void whisper__special_tokens(whisper_special_tokens *s, int n_vocab);
/* Every tensor up to the end of the file: each is validated and bound to
 * its slot in m (data pointing into r's bytes); then none may be missing. */
int whisper__parse_tensors(whisper_model *m, whisper__reader *r, char *err, size_t errlen);
/* Tensor slot i of m (0 <= i < whisper__tensor_slot_count(m)); NULL for
 * slots the model does not have (encoder layers have no cross-attention). */
size_t whisper__tensor_slot_count(const whisper_model *m);
whisper__tensor *whisper__tensor_slot(whisper_model *m, size_t i);

/* The tokenizer's lookup table over m->tokens (tokenize.c). */
int whisper__vocab_index_build(whisper_model *m, char *err, size_t errlen);
void whisper__vocab_index_free(struct whisper__vocab_index *ix);

/* The id of the one-byte token for byte b in GPT-2's byte alphabet (ids
 * 0..255), which every Whisper vocabulary starts with (tokenize.c). */
int whisper__byte_token_id(unsigned char b);

#endif
