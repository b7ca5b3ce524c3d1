/* config: a configuration's lifetime, its effective values, and setting one
 * key — the precedence rule (default < file < env < flag) lives in
 * config__apply, and the rule between keys (min_speakers <= max_speakers) in
 * config__check_state. Loading a file or the environment is in file.c and
 * env.c; rendering in show.c. */
#include "config/internal.h"

#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *config_strerror(int code)
{
    switch (code) {
    case CONFIG_OK: return "ok";
    case CONFIG_ERR_FILE: return "cannot read configuration file";
    case CONFIG_ERR_UNKNOWN_KEY: return "unknown configuration key";
    case CONFIG_ERR_TYPE: return "configuration value has the wrong type";
    case CONFIG_ERR_VALUE: return "configuration value not allowed";
    case CONFIG_ERR_NOMEM: return "out of memory";
    default: return "unknown error";
    }
}

const char *config_source_name(config_source s)
{
    switch (s) {
    case CONFIG_SRC_DEFAULT: return "default";
    case CONFIG_SRC_FILE: return "file";
    case CONFIG_SRC_ENV: return "env";
    case CONFIG_SRC_FLAG: return "flag";
    default: return "unknown";
    }
}

static void set_default(config__state *st, int id)
{
    const config__key *k = config__key_at(id);
    char *field = (char *)&st->values + k->offset;
    if (k->kind == CONFIG__STRING && k->def_xdg)
        config__xdg_path(k->def_xdg, k->def_home, "", field, k->size);
    else if (k->kind == CONFIG__STRING)
        util_strlcpy(field, k->def_string, k->size);
    else if (k->kind == CONFIG__BOOLEAN)
        *(bool *)field = k->def_number != 0;
    else if (k->size == sizeof(int))
        *(int *)field = (int)k->def_number;
    else
        *(long long *)field = k->def_number;
    st->origin[id] = (config__origin){CONFIG_SRC_DEFAULT, NULL, NULL};
}

config *config_new(void)
{
    config *c = calloc(1, sizeof *c);
    if (!c)
        return NULL;
    for (int id = 0; id < CONFIG__K_COUNT; id++)
        set_default(&c->st, id);
    return c;
}

void config_free(config *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_files; i++)
        free(c->files[i]);
    free(c->files);
    free(c);
}

const config_values *config_get(const config *c)
{
    return c ? &c->st.values : NULL;
}

const char *config_file_path(const config *c)
{
    return c ? c->file : NULL;
}

void config__apply(config__state *st, int id, const config__value *v, config_source src,
                   const char *file, const char *env)
{
    const config__key *k = config__key_at(id);
    char *field = (char *)&st->values + k->offset;
    if (src < st->origin[id].src)
        return;
    if (k->kind == CONFIG__STRING)
        util_strlcpy(field, v->s, k->size);
    else if (k->kind == CONFIG__BOOLEAN)
        *(bool *)field = v->i != 0;
    else if (k->size == sizeof(int))
        *(int *)field = (int)v->i; /* the key's range fits an int */
    else
        *(long long *)field = v->i;
    st->origin[id] = (config__origin){src, src == CONFIG_SRC_FILE ? file : NULL,
                                      src == CONFIG_SRC_ENV ? env : NULL};
}

void config__describe_origin(const config__origin *o, char *buf, size_t n)
{
    if (o->src == CONFIG_SRC_FILE && o->file)
        snprintf(buf, n, "file %s", o->file);
    else if (o->src == CONFIG_SRC_ENV && o->env)
        snprintf(buf, n, "env %s", o->env);
    else
        util_strlcpy(buf, config_source_name(o->src), n);
}

int config__check_state(const config__state *st, char *err, size_t errlen)
{
    const config_values *v = &st->values;
    if (v->min_speakers <= v->max_speakers)
        return CONFIG_OK;
    char from_min[4200], from_max[4200];
    config__describe_origin(&st->origin[CONFIG__K_MIN_SPEAKERS], from_min, sizeof from_min);
    config__describe_origin(&st->origin[CONFIG__K_MAX_SPEAKERS], from_max, sizeof from_max);
    return util_errf(err, errlen, CONFIG_ERR_VALUE, "min_speakers = %d (%s) is greater than "
                     "max_speakers = %d (%s)", v->min_speakers, from_min, v->max_speakers,
                     from_max);
}

int config_validate(const config *c, char *err, size_t errlen)
{
    if (!c)
        return util_errf(err, errlen, CONFIG_ERR_VALUE, "no configuration");
    return config__check_state(&c->st, err, errlen);
}

int config_set(config *c, const char *key, const char *text, config_source src, char *err,
               size_t errlen)
{
    if (!c || !key || !text)
        return util_errf(err, errlen, CONFIG_ERR_VALUE, "config_set: missing argument");
    int id = config__key_find(key);
    if (id < 0)
        return util_errf(err, errlen, CONFIG_ERR_UNKNOWN_KEY, "unknown key '%s'", key);
    config__value v;
    char expect[128], got[96];
    int rc = config__from_text(id, text, &v, expect, sizeof expect);
    if (rc != CONFIG_OK) {
        if (config__info_at(id)->secret)
            return util_errf(err, errlen, rc, "key '%s' must be %s", key, expect);
        config__quote(text, got, sizeof got);
        return util_errf(err, errlen, rc, "key '%s' must be %s, got %s", key, expect, got);
    }
    const char *env = src == CONFIG_SRC_ENV ? config__info_at(id)->env : NULL;
    config__apply(&c->st, id, &v, src, NULL, env);
    return CONFIG_OK;
}

int config_origin(const config *c, const char *key, config_source *src, const char **file)
{
    int id = config__key_find(key);
    if (src)
        *src = CONFIG_SRC_DEFAULT;
    if (file)
        *file = NULL;
    if (!c || id < 0)
        return CONFIG_ERR_UNKNOWN_KEY;
    if (src)
        *src = c->st.origin[id].src;
    if (file)
        *file = c->st.origin[id].file;
    return CONFIG_OK;
}
