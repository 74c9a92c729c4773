/* base/config.c [base layer] - see base/config.h. */
#include "base/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <strings.h>

#include "api/glcoherent.h"

static const char *skip_space(const char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    return s;
}

/* The power of two a unit suffix stands for ("", "K", "MiB", "GB", "B", ...), or -1. */
static int unit_shift(const char *u)
{
    static const char units[] = "KMGT";
    int shift = 0;
    for (int i = 0; units[i]; i++)
        if (toupper((unsigned char)*u) == units[i]) {
            shift = 10 * (i + 1);
            u++;
            if (toupper((unsigned char)*u) == 'I' && toupper((unsigned char)u[1]) == 'B')
                u += 2;
            break;
        }
    if (toupper((unsigned char)*u) == 'B' && (shift == 0 || u[-1] != 'B'))
        u++;
    return *skip_space(u) ? -1 : shift;
}

int glc_parse_size(const char *text, uint64_t *out)
{
    if (!text || !out)
        return -EINVAL;
    text = skip_space(text);
    if (!isdigit((unsigned char)*text))
        return -EINVAL;
    char *end = NULL;
    int saved = errno;
    errno = 0;
    unsigned long long v = strtoull(text, &end, 0);
    int bad = errno != 0 || end == text;
    errno = saved;
    if (bad)
        return -EINVAL;
    int shift = unit_shift(skip_space(end));
    if (shift < 0 || (shift && v > (UINT64_MAX >> shift)))
        return -EINVAL;
    *out = (uint64_t)v << shift;
    return 0;
}

int glc_parse_limit(const char *text, uint64_t *out)
{
    int rc = glc_parse_size(text, out);
    if (rc)
        return rc;
    return *out >= GLC_LIMIT_MIN && *out <= GLC_LIMIT_MAX ? 0 : -ERANGE;
}

int glc_parse_flag(const char *text, int dflt)
{
    if (!text || !*text)
        return dflt;
    static const char *const off[] = {"0", "false", "no", "off"};
    for (unsigned i = 0; i < sizeof off / sizeof off[0]; i++)
        if (!strcasecmp(text, off[i]))
            return 0;
    return 1;
}

int glc_parse_log_level(const char *text, int *out)
{
    static const struct {
        const char *name;
        int level;
    } levels[] = {
        {"debug", GLCOHERENT_LOG_DEBUG},   {"info", GLCOHERENT_LOG_INFO},
        {"warning", GLCOHERENT_LOG_WARNING}, {"warn", GLCOHERENT_LOG_WARNING},
        {"error", GLCOHERENT_LOG_ERROR},
    };
    if (!text || !out)
        return -EINVAL;
    for (unsigned i = 0; i < sizeof levels / sizeof levels[0]; i++)
        if (!strcasecmp(text, levels[i].name)) {
            *out = levels[i].level;
            return 0;
        }
    return -EINVAL;
}

int glc_env_flag(const char *name, int dflt)
{
    return glc_parse_flag(getenv(name), dflt);
}
