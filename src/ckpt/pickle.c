/* ckpt pickle: a stack machine for the subset of the pickle protocol (2..5)
 * that torch.save writes for state dicts and Lightning checkpoints. It never
 * imports or calls anything: GLOBAL yields a named value, REDUCE and NEWOBJ
 * on it yield a tensor, a dict or an opaque object (torch.c decides), and
 * BUILD leaves its target unchanged. Stack, MARK nesting, memo, objects and
 * string sizes are capped; every error names the opcode and its offset, and
 * all values die with the heap, so no failure can leak.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ckpt/internal.h"
#include "util/util.h"

typedef struct {
    ckpt__heap *h;
    const uint8_t *p;
    size_t len, pos, op_at;
    const char *file, *member;
    ckpt__value **stack;
    size_t sp, salloc;
    size_t *marks;
    size_t nmarks, malloc_;
    ckpt__value **memo;
    size_t memo_alloc, memo_used;
    char where[512];
    char *err;
    size_t errlen;
} machine;

static int fail(machine *m, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(machine *m, int code, const char *fmt, ...)
{
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return util_errf(m->err, m->errlen, code, "%s: %s at offset %zu: %s", m->file, m->member,
                     m->op_at, msg);
}

static int need(machine *m, size_t n)
{
    if (n > m->len - m->pos)
        return fail(m, CKPT_ERR_FORMAT, "the pickle ends inside an opcode");
    return CKPT_OK;
}

static uint64_t le(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = n; i-- > 0;)
        v = (v << 8) | p[i];
    return v;
}

static int push(machine *m, ckpt__value *v)
{
    if (m->sp >= CKPT__MAX_STACK)
        return fail(m, CKPT_ERR_FORMAT, "pickle stack deeper than %u", CKPT__MAX_STACK);
    if (m->sp == m->salloc) {
        ckpt__value **s = util_array_reserve(m->stack, &m->salloc, m->sp, sizeof *m->stack);
        if (!s)
            return fail(m, CKPT_ERR_NOMEM, "out of memory");
        m->stack = s;
    }
    m->stack[m->sp++] = v;
    return CKPT_OK;
}

static size_t floor_of(const machine *m)
{
    return m->nmarks ? m->marks[m->nmarks - 1] : 0;
}

static int pop(machine *m, ckpt__value **out)
{
    if (m->sp <= floor_of(m))
        return fail(m, CKPT_ERR_FORMAT, "pickle stack underflow");
    *out = m->stack[--m->sp];
    return CKPT_OK;
}

static int top(machine *m, ckpt__value **out)
{
    if (m->sp <= floor_of(m))
        return fail(m, CKPT_ERR_FORMAT, "pickle stack underflow");
    *out = m->stack[m->sp - 1];
    return CKPT_OK;
}

/* Removes the innermost mark; the values above it are stack[*start..sp). */
static int pop_mark(machine *m, size_t *start)
{
    if (m->nmarks == 0)
        return fail(m, CKPT_ERR_FORMAT, "no MARK on the pickle stack");
    *start = m->marks[--m->nmarks];
    return CKPT_OK;
}

static int new_value(machine *m, ckpt__kind kind, ckpt__value **out)
{
    int limit = 0;
    *out = ckpt__value_new(m->h, kind, &limit);
    if (!*out)
        return limit ? fail(m, CKPT_ERR_FORMAT, "more than %u pickle objects", CKPT__MAX_OBJECTS)
                     : fail(m, CKPT_ERR_NOMEM, "out of memory");
    return CKPT_OK;
}

static int push_new(machine *m, ckpt__kind kind, ckpt__value **out)
{
    int rc = new_value(m, kind, out);
    return rc != CKPT_OK ? rc : push(m, *out);
}

static int add_item(machine *m, ckpt__value *c, ckpt__value *item)
{
    int rc = ckpt__value_push(m->h, c, item);
    if (rc == CKPT_ERR_NOMEM)
        return fail(m, rc, "out of memory");
    if (rc != CKPT_OK)
        return fail(m, rc, "more than %u container items", CKPT__MAX_ITEMS);
    return CKPT_OK;
}

/* ---- scalars and strings ---------------------------------------------- */

static int op_int(machine *m, size_t n, int is_signed)
{
    int rc = need(m, n);
    if (rc != CKPT_OK)
        return rc;
    uint64_t u = le(m->p + m->pos, n);
    m->pos += n;
    if (is_signed && n < 8 && (u >> (8 * n - 1)) & 1u)
        u |= ~(uint64_t)0 << (8 * n);
    ckpt__value *v = NULL;
    rc = push_new(m, CKPT__V_INT, &v);
    if (rc == CKPT_OK)
        v->i = (int64_t)u;
    return rc;
}

static int op_long(machine *m, size_t lenbytes)
{
    int rc = need(m, lenbytes);
    if (rc != CKPT_OK)
        return rc;
    uint64_t n = le(m->p + m->pos, lenbytes);
    m->pos += lenbytes;
    if (lenbytes == 4 && (n >> 31))
        return fail(m, CKPT_ERR_FORMAT, "LONG4 with a negative length");
    if (n > 8)
        return fail(m, CKPT_ERR_UNSUPPORTED, "an integer of %llu bytes", (unsigned long long)n);
    if (n == 0) {
        ckpt__value *v = NULL;
        return push_new(m, CKPT__V_INT, &v);
    }
    return op_int(m, (size_t)n, 1);
}

static int op_float(machine *m)
{
    int rc = need(m, 8);
    if (rc != CKPT_OK)
        return rc;
    uint64_t u = 0;
    for (int i = 0; i < 8; i++)
        u = (u << 8) | m->p[m->pos + (size_t)i]; /* big-endian */
    m->pos += 8;
    ckpt__value *v = NULL;
    rc = push_new(m, CKPT__V_FLOAT, &v);
    if (rc == CKPT_OK)
        memcpy(&v->f, &u, sizeof v->f);
    return rc;
}

static int op_string(machine *m, size_t lenbytes, ckpt__kind kind, int signed_len)
{
    int rc = need(m, lenbytes);
    if (rc != CKPT_OK)
        return rc;
    uint64_t n = le(m->p + m->pos, lenbytes);
    m->pos += lenbytes;
    if (signed_len && (n >> 31))
        return fail(m, CKPT_ERR_FORMAT, "a string with a negative length");
    if (n > CKPT__MAX_STRING)
        return fail(m, CKPT_ERR_FORMAT, "a string of %llu bytes (limit %u)",
                    (unsigned long long)n, CKPT__MAX_STRING);
    rc = need(m, (size_t)n);
    if (rc != CKPT_OK)
        return rc;
    ckpt__value *v = NULL;
    rc = push_new(m, kind, &v);
    if (rc != CKPT_OK)
        return rc;
    v->s = malloc((size_t)n + 1);
    if (!v->s)
        return fail(m, CKPT_ERR_NOMEM, "out of memory");
    memcpy(v->s, m->p + m->pos, (size_t)n);
    v->s[n] = '\0';
    v->len = (size_t)n;
    m->pos += (size_t)n;
    return CKPT_OK;
}

/* A '\n'-terminated argument of a text opcode, NUL-terminated in place of
 * the newline into buf. */
static int read_line(machine *m, char *buf, size_t cap)
{
    const uint8_t *s = m->p + m->pos;
    const uint8_t *nl = memchr(s, '\n', m->len - m->pos);
    if (!nl)
        return fail(m, CKPT_ERR_FORMAT, "the pickle ends inside a text argument");
    size_t n = (size_t)(nl - s);
    if (n >= cap || memchr(s, 0, n))
        return fail(m, CKPT_ERR_FORMAT, "a text argument of %zu bytes", n);
    memcpy(buf, s, n);
    buf[n] = '\0';
    m->pos += n + 1;
    return CKPT_OK;
}

/* ---- containers ------------------------------------------------------- */

static int op_collect(machine *m, ckpt__kind kind)
{
    size_t start = 0;
    int rc = pop_mark(m, &start);
    if (rc != CKPT_OK)
        return rc;
    if (kind == CKPT__V_DICT && (m->sp - start) % 2)
        return fail(m, CKPT_ERR_FORMAT, "DICT with an odd number of items");
    ckpt__value *v = NULL;
    rc = new_value(m, kind, &v);
    for (size_t i = start; rc == CKPT_OK && i < m->sp; i++)
        rc = add_item(m, v, m->stack[i]);
    if (rc != CKPT_OK)
        return rc;
    m->sp = start;
    return push(m, v);
}

static int op_tuple_n(machine *m, size_t n)
{
    if (m->sp < floor_of(m) + n)
        return fail(m, CKPT_ERR_FORMAT, "pickle stack underflow");
    ckpt__value *v = NULL;
    int rc = new_value(m, CKPT__V_TUPLE, &v);
    for (size_t i = m->sp - n; rc == CKPT_OK && i < m->sp; i++)
        rc = add_item(m, v, m->stack[i]);
    if (rc != CKPT_OK)
        return rc;
    m->sp -= n;
    return push(m, v);
}

/* APPEND(S), SETITEM(S), ADDITEMS: items stack[start..sp) go into the value
 * just below them; an opaque object (a list or dict subclass) takes and
 * ignores them. */
static int op_fill(machine *m, size_t start, ckpt__kind want, size_t group)
{
    if (start <= floor_of(m) || start > m->sp)
        return fail(m, CKPT_ERR_FORMAT, "pickle stack underflow");
    ckpt__value *target = m->stack[start - 1];
    if ((m->sp - start) % group)
        return fail(m, CKPT_ERR_FORMAT, "an odd number of dict items");
    if (target->kind != want && target->kind != CKPT__V_OBJECT)
        return fail(m, CKPT_ERR_FORMAT, "adding items to a %s", ckpt__kind_name(target->kind));
    int rc = CKPT_OK;
    for (size_t i = start; rc == CKPT_OK && i < m->sp && target->kind == want; i++)
        rc = add_item(m, target, m->stack[i]);
    m->sp = start;
    return rc;
}

static int op_fill_mark(machine *m, ckpt__kind want, size_t group)
{
    size_t start = 0;
    int rc = pop_mark(m, &start);
    return rc != CKPT_OK ? rc : op_fill(m, start, want, group);
}

/* ---- memo ------------------------------------------------------------- */

static int memo_put(machine *m, uint64_t idx)
{
    ckpt__value *v = NULL;
    int rc = top(m, &v);
    if (rc != CKPT_OK)
        return rc;
    if (idx >= CKPT__MAX_MEMO)
        return fail(m, CKPT_ERR_FORMAT, "memo index %llu (limit %u)", (unsigned long long)idx,
                    CKPT__MAX_MEMO);
    if (idx >= m->memo_alloc) {
        size_t n = m->memo_alloc ? m->memo_alloc : 64;
        while (n <= idx)
            n *= 2;
        ckpt__value **p = realloc(m->memo, n * sizeof *p);
        if (!p)
            return fail(m, CKPT_ERR_NOMEM, "out of memory");
        memset(p + m->memo_alloc, 0, (n - m->memo_alloc) * sizeof *p);
        m->memo = p;
        m->memo_alloc = n;
    }
    if (!m->memo[idx])
        m->memo_used++;
    m->memo[idx] = v;
    return CKPT_OK;
}

static int memo_get(machine *m, uint64_t idx)
{
    if (idx >= m->memo_alloc || !m->memo[idx])
        return fail(m, CKPT_ERR_FORMAT, "memo entry %llu is not set", (unsigned long long)idx);
    return push(m, m->memo[idx]);
}

static int op_memo(machine *m, size_t n, int put)
{
    int rc = need(m, n);
    if (rc != CKPT_OK)
        return rc;
    uint64_t idx = le(m->p + m->pos, n);
    m->pos += n;
    return put ? memo_put(m, idx) : memo_get(m, idx);
}

static int op_memo_text(machine *m, int put)
{
    char line[32], *end = NULL;
    int rc = read_line(m, line, sizeof line);
    if (rc != CKPT_OK)
        return rc;
    unsigned long long idx = strtoull(line, &end, 10);
    if (end == line || *end != '\0' || line[0] == '-')
        return fail(m, CKPT_ERR_FORMAT, "a memo index '%s'", line);
    return put ? memo_put(m, idx) : memo_get(m, idx);
}

/* ---- globals and calls ------------------------------------------------ */

static int make_global(machine *m, const char *module, size_t mlen, const char *name,
                       size_t nlen)
{
    ckpt__value *g = NULL;
    int rc = push_new(m, CKPT__V_GLOBAL, &g);
    if (rc != CKPT_OK)
        return rc;
    g->s = malloc(mlen + 1);
    g->s2 = malloc(nlen + 1);
    if (!g->s || !g->s2)
        return fail(m, CKPT_ERR_NOMEM, "out of memory");
    memcpy(g->s, module, mlen);
    g->s[mlen] = '\0';
    memcpy(g->s2, name, nlen);
    g->s2[nlen] = '\0';
    ckpt__global_classify(g);
    return CKPT_OK;
}

static int op_global(machine *m)
{
    char module[CKPT__MAX_NAME], name[CKPT__MAX_NAME];
    int rc = read_line(m, module, sizeof module);
    if (rc == CKPT_OK)
        rc = read_line(m, name, sizeof name);
    return rc != CKPT_OK ? rc : make_global(m, module, strlen(module), name, strlen(name));
}

static int op_stack_global(machine *m)
{
    ckpt__value *name = NULL, *module = NULL;
    int rc = pop(m, &name);
    if (rc == CKPT_OK)
        rc = pop(m, &module);
    if (rc != CKPT_OK)
        return rc;
    if (name->kind != CKPT__V_STR || module->kind != CKPT__V_STR ||
        strlen(name->s) != name->len || strlen(module->s) != module->len)
        return fail(m, CKPT_ERR_FORMAT, "STACK_GLOBAL needs two strings");
    return make_global(m, module->s, module->len, name->s, name->len);
}

static int op_reduce(machine *m)
{
    ckpt__value *args = NULL, *fn = NULL, *res = NULL;
    int rc = pop(m, &args);
    if (rc == CKPT_OK)
        rc = pop(m, &fn);
    if (rc != CKPT_OK)
        return rc;
    if (args->kind != CKPT__V_TUPLE)
        return fail(m, CKPT_ERR_FORMAT, "REDUCE arguments are a %s, not a tuple",
                    ckpt__kind_name(args->kind));
    snprintf(m->where, sizeof m->where, "%s: %s at offset %zu", m->file, m->member, m->op_at);
    rc = ckpt__call(m->h, fn, args, &res, m->where, m->err, m->errlen);
    return rc != CKPT_OK ? rc : push(m, res);
}

/* NEWOBJ / NEWOBJ_EX: cls.__new__(cls, ...) makes an opaque object. */
static int op_newobj(machine *m, int ex)
{
    ckpt__value *kw = NULL, *args = NULL, *cls = NULL, *v = NULL;
    int rc = ex ? pop(m, &kw) : CKPT_OK;
    if (rc == CKPT_OK)
        rc = pop(m, &args);
    if (rc == CKPT_OK)
        rc = pop(m, &cls);
    if (rc != CKPT_OK)
        return rc;
    if (args->kind != CKPT__V_TUPLE || (kw && kw->kind != CKPT__V_DICT))
        return fail(m, CKPT_ERR_FORMAT, "NEWOBJ with malformed arguments");
    int dict = cls->kind == CKPT__V_GLOBAL && cls->i == CKPT__G_ORDERED_DICT;
    return push_new(m, dict ? CKPT__V_DICT : CKPT__V_OBJECT, &v);
}

static int op_build(machine *m)
{
    ckpt__value *state = NULL, *target = NULL;
    int rc = pop(m, &state);
    return rc != CKPT_OK ? rc : top(m, &target); /* state is set as attributes: ignored */
}

static int op_persid(machine *m)
{
    ckpt__value *pid = NULL, *res = NULL;
    int rc = pop(m, &pid);
    if (rc != CKPT_OK)
        return rc;
    snprintf(m->where, sizeof m->where, "%s: %s at offset %zu", m->file, m->member, m->op_at);
    rc = ckpt__persistent_load(m->h, pid, &res, m->where, m->err, m->errlen);
    return rc != CKPT_OK ? rc : push(m, res);
}

/* ---- the loop --------------------------------------------------------- */

static int op_mark(machine *m)
{
    if (m->nmarks >= CKPT__MAX_MARKS)
        return fail(m, CKPT_ERR_FORMAT, "MARKs nested deeper than %u", CKPT__MAX_MARKS);
    if (m->nmarks == m->malloc_) {
        size_t *p = util_array_reserve(m->marks, &m->malloc_, m->nmarks, sizeof *m->marks);
        if (!p)
            return fail(m, CKPT_ERR_NOMEM, "out of memory");
        m->marks = p;
    }
    m->marks[m->nmarks++] = m->sp;
    return CKPT_OK;
}

static int op_proto(machine *m)
{
    int rc = need(m, 1);
    if (rc != CKPT_OK)
        return rc;
    unsigned v = m->p[m->pos++];
    if (v < 2 || v > 5)
        return fail(m, CKPT_ERR_UNSUPPORTED, "pickle protocol %u (2 to 5 are supported)", v);
    return CKPT_OK;
}

static int op_skip(machine *m, size_t n)
{
    int rc = need(m, n);
    if (rc == CKPT_OK)
        m->pos += n;
    return rc;
}

static int op_simple(machine *m, ckpt__kind kind, int64_t i)
{
    ckpt__value *v = NULL;
    int rc = push_new(m, kind, &v);
    if (rc == CKPT_OK)
        v->i = i;
    return rc;
}

static int op_pop(machine *m, int to_mark)
{
    ckpt__value *v = NULL;
    size_t start = 0;
    /* POP on an empty segment drops the MARK that opened it, as Python does */
    if (!to_mark && (m->sp > floor_of(m) || m->nmarks == 0))
        return pop(m, &v);
    int rc = pop_mark(m, &start);
    if (rc == CKPT_OK)
        m->sp = start;
    return rc;
}

static int op_dup(machine *m)
{
    ckpt__value *v = NULL;
    int rc = top(m, &v);
    return rc != CKPT_OK ? rc : push(m, v);
}

static int step(machine *m, uint8_t op)
{
    switch (op) {
    case 0x80: return op_proto(m);
    case 0x95: return op_skip(m, 8); /* FRAME: a hint for buffered readers */
    case '(': return op_mark(m);
    case '0': return op_pop(m, 0);
    case '1': return op_pop(m, 1);
    case '2': return op_dup(m);
    case 'N': return op_simple(m, CKPT__V_NONE, 0);
    case 0x88: return op_simple(m, CKPT__V_BOOL, 1);
    case 0x89: return op_simple(m, CKPT__V_BOOL, 0);
    case 'J': return op_int(m, 4, 1);
    case 'K': return op_int(m, 1, 0);
    case 'M': return op_int(m, 2, 0);
    case 0x8a: return op_long(m, 1);
    case 0x8b: return op_long(m, 4);
    case 'G': return op_float(m);
    case 0x8c: return op_string(m, 1, CKPT__V_STR, 0);
    case 'X': return op_string(m, 4, CKPT__V_STR, 0);
    case 0x8d: return op_string(m, 8, CKPT__V_STR, 0);
    case 'U': return op_string(m, 1, CKPT__V_STR, 0);
    case 'T': return op_string(m, 4, CKPT__V_STR, 1);
    case 'C': return op_string(m, 1, CKPT__V_BYTES, 0);
    case 'B': return op_string(m, 4, CKPT__V_BYTES, 0);
    case 0x8e: return op_string(m, 8, CKPT__V_BYTES, 0);
    case '}': return op_simple(m, CKPT__V_DICT, 0);
    case 'd': return op_collect(m, CKPT__V_DICT);
    case 's': return op_fill(m, m->sp >= 2 ? m->sp - 2 : 0, CKPT__V_DICT, 2);
    case 'u': return op_fill_mark(m, CKPT__V_DICT, 2);
    case ']': return op_simple(m, CKPT__V_LIST, 0);
    case 'l': return op_collect(m, CKPT__V_LIST);
    case 'a': return op_fill(m, m->sp >= 1 ? m->sp - 1 : 0, CKPT__V_LIST, 1);
    case 'e': return op_fill_mark(m, CKPT__V_LIST, 1);
    case ')': return op_simple(m, CKPT__V_TUPLE, 0);
    case 't': return op_collect(m, CKPT__V_TUPLE);
    case 0x85: return op_tuple_n(m, 1);
    case 0x86: return op_tuple_n(m, 2);
    case 0x87: return op_tuple_n(m, 3);
    case 0x8f: return op_simple(m, CKPT__V_SET, 0);
    case 0x90: return op_fill_mark(m, CKPT__V_SET, 1);
    case 0x91: return op_collect(m, CKPT__V_SET);
    case 'q': return op_memo(m, 1, 1);
    case 'r': return op_memo(m, 4, 1);
    case 'p': return op_memo_text(m, 1);
    case 'h': return op_memo(m, 1, 0);
    case 'j': return op_memo(m, 4, 0);
    case 'g': return op_memo_text(m, 0);
    case 0x94: return memo_put(m, m->memo_used);
    case 'c': return op_global(m);
    case 0x93: return op_stack_global(m);
    case 'R': return op_reduce(m);
    case 'b': return op_build(m);
    case 0x81: return op_newobj(m, 0);
    case 0x92: return op_newobj(m, 1);
    case 'Q': return op_persid(m);
    default: {
        char shown[8] = "";
        if (op >= 0x20 && op < 0x7f)
            snprintf(shown, sizeof shown, " ('%c')", op);
        return fail(m, CKPT_ERR_UNSUPPORTED, "unsupported pickle opcode 0x%02x%s", op, shown);
    }
    }
}

int ckpt__unpickle(ckpt__heap *h, const uint8_t *pkl, size_t len, const char *file,
                   const char *member, ckpt__value **out, char *err, size_t errlen)
{
    machine m;
    memset(&m, 0, sizeof m);
    m.h = h;
    m.p = pkl;
    m.len = len;
    m.file = file;
    m.member = member;
    m.err = err;
    m.errlen = errlen;
    *out = NULL;
    int rc = CKPT_OK;
    for (;;) {
        m.op_at = m.pos;
        if (m.pos >= m.len) {
            rc = fail(&m, CKPT_ERR_FORMAT, "the pickle ends without STOP");
            break;
        }
        uint8_t op = m.p[m.pos++];
        if (op == '.') {
            rc = pop(&m, out);
            break;
        }
        rc = step(&m, op);
        if (rc != CKPT_OK)
            break;
    }
    if (rc != CKPT_OK)
        *out = NULL;
    free(m.stack);
    free(m.marks);
    free(m.memo);
    return rc;
}
