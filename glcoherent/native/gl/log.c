/* gl/log.c [GL layer] - log lines of an instance: to its log callback, else to stderr from the
 * level GLCOHERENT_LOG names (default: warnings and up). See glc_log in gl/layer.h. */
#include "gl/layer.h"
#include "base/config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

static int env_log_level(void)
{
    int level;
    return glc_parse_log_level(getenv("GLCOHERENT_LOG"), &level) == 0 ? level
                                                                      : GLCOHERENT_LOG_WARNING;
}

int glc_log_min(const glcoherent_config *cfg)
{
    int env = env_log_level();
    if (cfg->log)
        return cfg->log_level;
    return cfg->log_level > env ? cfg->log_level : env;
}

void glc_log(glcoherent_instance *inst, int level, const char *fmt, ...)
{
    if (level < (inst ? inst->log_min : env_log_level()))
        return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (inst && inst->cfg.log) {
        inst->cfg.log(inst->cfg.log_user, level, buf);
        return;
    }
    static const char *names[] = {"debug", "info", "warning", "error"};
    int i = level < GLCOHERENT_LOG_DEBUG   ? GLCOHERENT_LOG_DEBUG
            : level > GLCOHERENT_LOG_ERROR ? GLCOHERENT_LOG_ERROR
                                           : level;
    fprintf(stderr, "glcoherent: %s: %s\n", names[i], buf);
}
