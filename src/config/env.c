/* env: applying CESAR_* environment variables. Each key has one variable
 * (its dotted name upper-cased with '.' -> '_'); server.api_key also reads
 * a conventional variable as a lower-priority fallback (CESAR_API_KEY). A variable set to the empty string counts as unset, so
 * `CESAR_THREADS= cesar ...` means "no override" rather than an error. */
#include "config/internal.h"

#include "util/util.h"

#include <stdlib.h>

/* The value that applies to key id and, in *name, the variable it came from. */
static const char *lookup(int id, const char **name)
{
    const char *primary = config__info_at(id)->env;
    const char *alias = config__key_at(id)->env_alias;
    const char *v = getenv(primary);
    if (v && *v) {
        *name = primary;
        return v;
    }
    if (alias && (v = getenv(alias)) && *v) {
        *name = alias;
        return v;
    }
    return NULL;
}

int config_load_env(config *c, char *err, size_t errlen)
{
    if (!c)
        return util_errf(err, errlen, CONFIG_ERR_VALUE, "config_load_env: no configuration");
    config__state st = c->st;
    for (int id = 0; id < CONFIG__K_COUNT; id++) {
        const char *name = NULL;
        const char *text = lookup(id, &name);
        if (!text)
            continue;
        config__value v;
        char expect[128], got[96];
        int rc = config__from_text(id, text, &v, expect, sizeof expect);
        if (rc != CONFIG_OK && config__info_at(id)->secret)
            return util_errf(err, errlen, rc, "environment variable %s: expected %s", name,
                             expect);
        if (rc != CONFIG_OK) {
            config__quote(text, got, sizeof got);
            return util_errf(err, errlen, rc, "environment variable %s: expected %s, got %s",
                             name, expect, got);
        }
        config__apply(&st, id, &v, CONFIG_SRC_ENV, NULL, name);
    }
    int rc = config__check_state(&st, err, errlen);
    if (rc == CONFIG_OK)
        c->st = st;
    return rc;
}
