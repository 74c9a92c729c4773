/* base/config.h [base layer] - the one parser of glcoherent's configuration values.
 *
 * Every GLCOHERENT_* environment variable and every configuration string a host or the Python
 * front end passes is read through these functions, in C and in Python (glcoherent/_config.py
 * calls them through the binding), so the accepted spellings are the same everywhere:
 *   sizes       "4G", "3GiB", "2048M", "64k", "0xC0000000", "1073741824", "100B";
 *   limits      a size in [GLC_LIMIT_MIN, GLC_LIMIT_MAX] (mappings end at or below 4 GiB);
 *   flags       unset or empty: the default; "0", "false", "no", "off" (any case): off;
 *               anything else: on;
 *   log levels  "debug", "info", "warning" (or "warn"), "error" (any case).
 * Tracker names are parsed by the tracking layer, which owns that list (glc_tracker_parse).
 * No state; every function is thread-safe. Lowest layer: depends on nothing in glcoherent.
 */
#ifndef GLC_BASE_CONFIG_H
#define GLC_BASE_CONFIG_H

#include <stdint.h>

/* Accepted address limits: shadows start above 64 KiB (and vm.mmap_min_addr), and 32-bit code
 * cannot address more than 4 GiB. */
#define GLC_LIMIT_MIN ((uint64_t)1 << 20)
#define GLC_LIMIT_MAX ((uint64_t)1 << 32)

/* A size in bytes (see above; 0 is a size). 0, or -EINVAL when text is not one. */
int glc_parse_size(const char *text, uint64_t *out);

/* An address limit: 0; -EINVAL when text is not a size; -ERANGE when it is outside
 * [GLC_LIMIT_MIN, GLC_LIMIT_MAX] (*out is set to the size then). */
int glc_parse_limit(const char *text, uint64_t *out);

/* A flag's value: 1 on, 0 off, dflt when text is NULL or empty. */
int glc_parse_flag(const char *text, int dflt);

/* A log level (GLCOHERENT_LOG_*, api/glcoherent.h): 0, or -EINVAL. */
int glc_parse_log_level(const char *text, int *out);

/* glc_parse_flag of the environment variable `name`. */
int glc_env_flag(const char *name, int dflt);

#endif
