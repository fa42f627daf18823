/*
 * scenario.c — load a scenario file into the model of scenario.h, validating it strictly.
 *
 * How it reads: scenario_yaml.c turns the text into a positioned tree; this file walks the tree
 * with small typed getters (text, unsigned integer, boolean, duration, errno, expected result,
 * comparison), each of which either stores a value or writes the one error message
 *     FILE:LINE:COL: <what is wrong>; expected <the form>
 * and returns -EINVAL. The first error stops the load; nothing else happens (the loader never
 * touches a mount or a file other than the scenario itself).
 *
 * Steps are described by a table (one row per kind: its YAML name, the targets it is valid for,
 * its parser and its destructor), so adding a step kind is adding a row and a parser section.
 * After each step parses, a few facts that span steps are checked in order: a descriptor is
 * opened before it is used, a rule label exists before `clear` names it, a command is started
 * before it is waited for, stopped or crashed.
 */
#include "scenario.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "duration.h"
#include "errname.h"
#include "faults.h"
#include "scenario_yaml.h"

#define SCENARIO_MAX_FDS      16
#define SCENARIO_MAX_LABELS   64
#define SCENARIO_MAX_STARTED  16
#define SCENARIO_DEFAULT_NAME "app"

/* ---- The loader's state ------------------------------------------------------------------------ */

struct loader {
	struct scenario *sc;
	char *errbuf;
	size_t errlen;
	/* facts spanning steps, checked in step order (names point into the steps) */
	const char *open_fds[SCENARIO_MAX_FDS];
	size_t open_fd_count;
	const char *labels[SCENARIO_MAX_LABELS];
	size_t label_count;
	const char *started[SCENARIO_MAX_STARTED];
	size_t started_count;
};

static int fail(struct loader *ld, const struct syaml_node *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* fail - write "FILE:LINE:COL: message" for node AT and return -EINVAL. */
static int fail(struct loader *ld, const struct syaml_node *at, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (ld->errlen > 0)
		snprintf(ld->errbuf, ld->errlen, "%s:%u:%u: %s", ld->sc->path, at ? at->line : 1,
		         at ? at->col : 1, msg);
	return -EINVAL;
}

/* oom - the one message for allocation failure. */
static int oom(struct loader *ld)
{
	if (ld->errlen > 0)
		snprintf(ld->errbuf, ld->errlen, "%s: out of memory", ld->sc->path);
	return -ENOMEM;
}

static struct scenario_pos pos_of(struct loader *ld, const struct syaml_node *node)
{
	struct scenario_pos pos = {
	    .file = ld->sc->path, .line = node ? node->line : 1, .col = node ? node->col : 1};
	return pos;
}

/* ---- Mappings: looking keys up, refusing unknown ones ----------------------------------------- */

/* map_find - the value under KEY in MAP (and the key node in *keyp), or NULL. */
static const struct syaml_node *map_find(const struct syaml_node *map, const char *key,
                                         const struct syaml_node **keyp)
{
	if (map == NULL || map->type != SYAML_MAP)
		return NULL;
	for (size_t i = 0; i < map->count; i++) {
		if (strlen(key) == map->keys[i]->len && strcmp(map->keys[i]->text, key) == 0) {
			if (keyp != NULL)
				*keyp = map->keys[i];
			return map->values[i];
		}
	}
	return NULL;
}

/* join_words - "a, b, c" from a NULL-terminated list, into buf. */
static const char *join_words(const char *const *words, char *buf, size_t len)
{
	size_t used = 0;
	buf[0] = '\0';
	for (size_t i = 0; words[i] != NULL && used < len; i++) {
		int n = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", words[i]);
		if (n < 0)
			break;
		used += (size_t)n;
	}
	return buf;
}

/* check_keys - every key of MAP must be in ALLOWED (NULL-terminated); WHAT names the mapping. */
static int check_keys(struct loader *ld, const struct syaml_node *map, const char *const *allowed,
                      const char *what)
{
	for (size_t i = 0; i < map->count; i++) {
		const struct syaml_node *key = map->keys[i];
		bool known = false;
		for (size_t k = 0; allowed[k] != NULL; k++)
			if (strlen(allowed[k]) == key->len && strcmp(allowed[k], key->text) == 0)
				known = true;
		if (!known) {
			char list[512];
			return fail(ld, key, "unknown key '%s' in %s; expected one of: %s", key->text, what,
			            join_words(allowed, list, sizeof(list)));
		}
	}
	return 0;
}

/* ---- Typed getters: each stores a value or fails at the node ------------------------------------ */

static bool is_scalar_text(const struct syaml_node *node)
{
	return node != NULL && node->type == SYAML_SCALAR && !syaml_is_null(node);
}

/* get_text - a non-empty scalar without NUL bytes, copied. FORM is the expected spelling. */
static int get_text(struct loader *ld, const struct syaml_node *node, const char *what, const char *form,
                    char **out)
{
	if (!is_scalar_text(node) || node->len == 0)
		return fail(ld, node, "%s must be text, got %s; expected %s", what, syaml_type_name(node),
		            form);
	if (strlen(node->text) != node->len)
		return fail(ld, node, "%s contains a NUL byte; expected %s", what, form);
	*out = strdup(node->text);
	return *out ? 0 : oom(ld);
}

/* is_name - [a-z0-9][a-z0-9_-]* , at most 64 characters. */
static bool is_name(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		bool ok =
		    (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (i > 0 && (c == '-' || c == '_'));
		if (!ok)
			return false;
	}
	return true;
}

/* get_name - a short identifier (descriptor names, labels, command names). */
static int get_name(struct loader *ld, const struct syaml_node *node, const char *what, char **out)
{
	if (!is_scalar_text(node) || !is_name(node->text))
		return fail(
		    ld, node,
		    "%s must be a short name, got %s%s%s; expected lower-case letters, digits, - or _", what,
		    is_scalar_text(node) ? "'" : syaml_type_name(node),
		    is_scalar_text(node) ? node->text : "", is_scalar_text(node) ? "'" : "");
	*out = strdup(node->text);
	return *out ? 0 : oom(ld);
}

/* parse_u64 - decimal digits only (no sign, no spaces), value <= max. */
static bool parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	if (*s == '\0')
		return false;
	uint64_t v = 0;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		unsigned d = (unsigned)(*s - '0');
		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*out = v;
	return true;
}

/* get_uint - a plain unsigned integer in [min, max]. */
static int get_uint(struct loader *ld, const struct syaml_node *node, const char *what, uint64_t min,
                    uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (!is_scalar_text(node) || !node->plain || !parse_u64(node->text, UINT64_MAX, &v))
		return fail(ld, node,
		            "%s must be a whole number, got %s%s%s; expected an integer from %llu to %llu",
		            what, is_scalar_text(node) ? "'" : syaml_type_name(node),
		            is_scalar_text(node) ? node->text : "", is_scalar_text(node) ? "'" : "",
		            (unsigned long long)min, (unsigned long long)max);
	if (v < min || v > max)
		return fail(ld, node, "%s %llu is out of range; expected an integer from %llu to %llu", what,
		            (unsigned long long)v, (unsigned long long)min, (unsigned long long)max);
	*out = v;
	return 0;
}

/* get_bool - plain true or false. */
static int get_bool(struct loader *ld, const struct syaml_node *node, const char *what, bool *out)
{
	if (is_scalar_text(node) && node->plain && strcmp(node->text, "true") == 0) {
		*out = true;
		return 0;
	}
	if (is_scalar_text(node) && node->plain && strcmp(node->text, "false") == 0) {
		*out = false;
		return 0;
	}
	return fail(ld, node, "%s must be true or false, got %s%s%s; expected true or false", what,
	            is_scalar_text(node) ? "'" : syaml_type_name(node),
	            is_scalar_text(node) ? node->text : "", is_scalar_text(node) ? "'" : "");
}

/* get_duration - "5ms", "2s" ... (and "never" when allowed). */
static int get_duration(struct loader *ld, const struct syaml_node *node, const char *what, bool allow_never,
                        int64_t *out)
{
	const char *form = allow_never ? "a duration such as 5ms, 250us, 2s, or never"
	                               : "a duration such as 5ms, 250us or 2s";
	if (!is_scalar_text(node))
		return fail(ld, node, "%s must be a duration, got %s; expected %s", what,
		            syaml_type_name(node), form);
	int rc = duration_parse(node->text, allow_never, out);
	if (rc == -ERANGE)
		return fail(ld, node, "%s '%s' is too long; expected %s", what, node->text, form);
	if (rc < 0)
		return fail(ld, node, "invalid duration '%s' for %s; expected %s", node->text, what, form);
	return 0;
}

/* get_errno - an errno name ("EIO"). */
static int get_errno(struct loader *ld, const struct syaml_node *node, const char *what, int *out)
{
	int err = is_scalar_text(node) ? errname_parse(node->text) : -EINVAL;
	if (err < 0)
		return fail(ld, node,
		            "unknown errno %s%s%s for %s; expected a name such as EIO, ENOSPC, EDQUOT, EROFS",
		            is_scalar_text(node) ? "'" : "",
		            is_scalar_text(node) ? node->text : syaml_type_name(node),
		            is_scalar_text(node) ? "'" : "", what);
	*out = err;
	return 0;
}

/* Which spellings an expected result may take at a given step. */
#define RESULT_PANIC_OK 1u /* `panic` makes sense (the WAL's panic policy) */

/* get_result - ok | error | panic | any | an errno name. */
static int get_result(struct loader *ld, const struct syaml_node *node, const char *what, unsigned flags,
                      struct scenario_result *out)
{
	const char *form = (flags & RESULT_PANIC_OK) ? "ok, panic, error, any, or an errno name such as EIO"
	                                             : "ok, error, any, or an errno name such as EIO";
	if (!is_scalar_text(node))
		return fail(ld, node, "%s must be a result, got %s; expected %s", what, syaml_type_name(node),
		            form);
	const char *t = node->text;
	out->err = 0;
	if (strcmp(t, "ok") == 0) {
		out->kind = SCENARIO_RESULT_OK;
	} else if (strcmp(t, "error") == 0) {
		out->kind = SCENARIO_RESULT_ERROR;
	} else if (strcmp(t, "any") == 0) {
		out->kind = SCENARIO_RESULT_ANY;
	} else if (strcmp(t, "panic") == 0) {
		if (!(flags & RESULT_PANIC_OK))
			return fail(ld, node, "%s cannot be 'panic' here (only the WAL panics); expected %s",
			            what, form);
		out->kind = SCENARIO_RESULT_PANIC;
	} else if (t[0] == 'E' && errname_parse(t) > 0) {
		out->kind = SCENARIO_RESULT_ERRNO;
		out->err = errname_parse(t);
	} else {
		return fail(ld, node, "invalid result '%s' for %s; expected %s", t, what, form);
	}
	return 0;
}

/* How a metric's value is spelled in a comparison. */
enum cmp_unit {
	CMP_COUNT,
	CMP_DURATION,
	CMP_BOOL,
	CMP_FS_STATE,
};

static const char *const fs_state_names[] = {"ok", "read-only", "shutdown", NULL};

/* get_cmp - "N" / "== N" / "<= N" / ">= N" / "< N" / "> N" for counts and durations; true/false. */
static int get_cmp(struct loader *ld, const struct syaml_node *node, const char *what, enum cmp_unit unit,
                   struct scenario_cmp *out)
{
	static const char *const forms[] = {
	    [CMP_COUNT] = "a count such as 0, \"<= 5\" or \">= 1\"",
	    [CMP_DURATION] = "a bound such as \"<= 5ms\" or \"<= window\"",
	    [CMP_BOOL] = "true or false",
	    [CMP_FS_STATE] = "ok, read-only or shutdown",
	};
	if (!is_scalar_text(node))
		return fail(ld, node, "%s must be a value, got %s; expected %s", what, syaml_type_name(node),
		            forms[unit]);
	if (unit == CMP_BOOL) {
		bool b = false;
		int rc = get_bool(ld, node, what, &b);
		out->op = SCENARIO_CMP_EQ;
		out->value = b;
		return rc;
	}
	if (unit == CMP_FS_STATE) {
		for (int i = 0; fs_state_names[i] != NULL; i++) {
			if (strcmp(node->text, fs_state_names[i]) == 0) {
				out->op = SCENARIO_CMP_EQ;
				out->value = i;
				return 0;
			}
		}
		return fail(ld, node, "invalid %s '%s'; expected %s", what, node->text, forms[unit]);
	}
	const char *t = node->text;
	static const struct {
		const char *sym;
		enum scenario_cmp_op op;
	} ops[] = {{"<=", SCENARIO_CMP_LE},
	           {">=", SCENARIO_CMP_GE},
	           {"==", SCENARIO_CMP_EQ},
	           {"<", SCENARIO_CMP_LT},
	           {">", SCENARIO_CMP_GT}};
	out->op = SCENARIO_CMP_EQ;
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
		size_t n = strlen(ops[i].sym);
		if (strncmp(t, ops[i].sym, n) == 0) {
			out->op = ops[i].op;
			t += n;
			while (*t == ' ')
				t++;
			break;
		}
	}
	if (unit == CMP_DURATION && strcmp(t, "window") == 0) {
		if (ld->sc->options.sync != SCENARIO_SYNC_BATCH)
			return fail(ld, node,
			            "%s '%s' needs sync: batch:WINDOW in options; expected a bound such as "
			            "\"<= 5ms\"",
			            what, node->text);
		if (out->op != SCENARIO_CMP_LE && out->op != SCENARIO_CMP_LT)
			return fail(ld, node, "%s '%s' is an upper bound; expected \"<= window\"", what,
			            node->text);
		out->window = true;
		out->value = ld->sc->options.batch_window_ns;
		return 0;
	}
	if (unit == CMP_DURATION) {
		int64_t ns = 0;
		if (duration_parse(t, 0, &ns) < 0)
			return fail(ld, node, "invalid %s '%s'; expected %s", what, node->text, forms[unit]);
		out->value = ns;
		return 0;
	}
	uint64_t v = 0;
	if (!parse_u64(t, INT64_MAX, &v))
		return fail(ld, node, "invalid %s '%s'; expected %s", what, node->text, forms[unit]);
	out->value = (int64_t)v;
	return 0;
}

/* get_status - an exit status 0..255, nonzero or any. */
static int get_status(struct loader *ld, const struct syaml_node *node, struct scenario_status *out)
{
	if (is_scalar_text(node) && strcmp(node->text, "any") == 0) {
		out->kind = SCENARIO_STATUS_ANY;
		return 0;
	}
	if (is_scalar_text(node) && strcmp(node->text, "nonzero") == 0) {
		out->kind = SCENARIO_STATUS_NONZERO;
		return 0;
	}
	uint64_t v = 0;
	if (!is_scalar_text(node) || !node->plain || !parse_u64(node->text, 255, &v))
		return fail(ld, node, "invalid exit status %s%s%s; expected 0..255, nonzero or any",
		            is_scalar_text(node) ? "'" : "",
		            is_scalar_text(node) ? node->text : syaml_type_name(node),
		            is_scalar_text(node) ? "'" : "");
	out->kind = SCENARIO_STATUS_EXACT;
	out->code = (int)v;
	return 0;
}

/* get_bytes - literal content (may hold NUL bytes written as "\0" in a double-quoted string). */
static int get_bytes(struct loader *ld, const struct syaml_node *node, const char *what, uint8_t **out,
                     size_t *len)
{
	if (!is_scalar_text(node) || node->len == 0)
		return fail(ld, node,
		            "%s must be non-empty text, got %s; expected a string such as \"hello\\n\"", what,
		            syaml_type_name(node));
	*out = malloc(node->len);
	if (*out == NULL)
		return oom(ld);
	memcpy(*out, node->text, node->len);
	*len = node->len;
	return 0;
}

/* ---- Facts that span steps ---------------------------------------------------------------------- */

static bool name_in(const char *const *names, size_t count, const char *name)
{
	for (size_t i = 0; i < count; i++)
		if (strcmp(names[i], name) == 0)
			return true;
	return false;
}

static void name_remove(const char **names, size_t *count, const char *name)
{
	for (size_t i = 0; i < *count; i++) {
		if (strcmp(names[i], name) == 0) {
			names[i] = names[*count - 1];
			(*count)--;
			return;
		}
	}
}

/* need_open_fd - NAME must have been opened by an earlier step and not closed since. */
static int need_open_fd(struct loader *ld, const struct syaml_node *at, const char *name)
{
	if (!name_in(ld->open_fds, ld->open_fd_count, name))
		return fail(ld, at,
		            "descriptor '%s' is not open here; expected a name given by an earlier open step",
		            name);
	return 0;
}

/* need_started - NAME must have been started by an earlier step and not stopped since. */
static int need_started(struct loader *ld, const struct syaml_node *at, const char *name)
{
	if (!name_in(ld->started, ld->started_count, name))
		return fail(
		    ld, at,
		    "command '%s' is not running here; expected a name given by an earlier start step", name);
	return 0;
}

/* ---- Step parsers: one section per kind ------------------------------------------------------------ */

/*
 * Every parser gets the step being filled, the kind's key node (for messages about the step as a
 * whole) and the value node (a scalar shorthand, a mapping, or NULL when the step was written as
 * a bare word such as `- reboot`).
 */
typedef int (*step_parse_fn)(struct loader *ld, struct scenario_step *step, const struct syaml_node *key,
                             const struct syaml_node *value);
typedef void (*step_free_fn)(struct scenario_step *step);

/* need_map - the step's value must be a mapping; FORM is its full spelling. */
static int need_map(struct loader *ld, const struct syaml_node *key, const struct syaml_node *value,
                    const char *form)
{
	if (value == NULL || syaml_is_null(value))
		return fail(ld, key, "%s needs parameters; expected %s", key->text, form);
	if (value->type != SYAML_MAP)
		return fail(ld, value, "%s takes a mapping, got %s; expected %s", key->text,
		            syaml_type_name(value), form);
	return 0;
}

/* ---- append (wal) ---- */

static int parse_append(struct loader *ld, struct scenario_step *step, const struct syaml_node *key,
                        const struct syaml_node *value)
{
	static const char *const keys[] = {"records",    "size",   "writers", "interval",
	                                   "background", "expect", NULL};
	static const char form[] =
	    "append: N or append: {records: N, size: BYTES, writers: W, interval: DURATION, "
	    "background: true|false, expect: RESULT}";
	struct scenario_append *a = &step->u.append;
	const struct syaml_node *v;
	uint64_t u = 0;
	int rc;
	a->size = ld->sc->options.record_size;
	a->writers = 1;
	a->expect.kind = SCENARIO_RESULT_OK;
	if (value != NULL && value->type == SYAML_SCALAR && !syaml_is_null(value))
		return get_uint(ld, value, "append's record count", 1, 100000000, &a->records);
	if ((rc = need_map(ld, key, value, form)) < 0 || (rc = check_keys(ld, value, keys, "append")) < 0)
		return rc;
	if ((v = map_find(value, "records", NULL)) == NULL)
		return fail(ld, key, "append needs 'records'; expected %s", form);
	if ((rc = get_uint(ld, v, "records", 1, 100000000, &a->records)) < 0)
		return rc;
	if ((v = map_find(value, "size", NULL)) != NULL) {
		if ((rc = get_uint(ld, v, "size", 1, 16u << 20, &u)) < 0)
			return rc;
		a->size = (uint32_t)u;
	}
	if ((v = map_find(value, "writers", NULL)) != NULL) {
		if ((rc = get_uint(ld, v, "writers", 1, 64, &u)) < 0)
			return rc;
		a->writers = (uint32_t)u;
	}
	if ((v = map_find(value, "interval", NULL)) != NULL &&
	    (rc = get_duration(ld, v, "interval", false, &a->interval_ns)) < 0)
		return rc;
	if ((v = map_find(value, "background", NULL)) != NULL &&
	    (rc = get_bool(ld, v, "background", &a->background)) < 0)
		return rc;
	if ((v = map_find(value, "expect", NULL)) != NULL &&
	    (rc = get_result(ld, v, "append's expect", RESULT_PANIC_OK, &a->expect)) < 0)
		return rc;
	return 0;
}

/* ---- update (table) ---- */

static int parse_update(struct loader *ld, struct scenario_step *step, const struct syaml_node *key,
                        const struct syaml_node *value)
{
	static const char *const keys[] = {"pages", "first", "background", "expect", NULL};
	static const char form[] =
	    "update: N or update: {pages: N, first: P, background: true|false, expect: RESULT}";
	struct scenario_update *u = &step->u.update;
	const struct syaml_node *v;
	int rc;
	u->expect.kind = SCENARIO_RESULT_OK;
	if (value != NULL && value->type == SYAML_SCALAR && !syaml_is_null(value))
		return get_uint(ld, value, "update's page count", 1, 1000000, &u->pages);
	if ((rc = need_map(ld, key, value, form)) < 0 || (rc = check_keys(ld, value, keys, "update")) < 0)
		return rc;
	if ((v = map_find(value, "pages", NULL)) == NULL)
		return fail(ld, key, "update needs 'pages'; expected %s", form);
	if ((rc = get_uint(ld, v, "pages", 1, 1000000, &u->pages)) < 0)
		return rc;
	if ((v = map_find(value, "first", NULL)) != NULL &&
	    (rc = get_uint(ld, v, "first", 0, 1000000, &u->first)) < 0)
		return rc;
	if ((v = map_find(value, "background", NULL)) != NULL &&
	    (rc = get_bool(ld, v, "background", &u->background)) < 0)
		return rc;
	if ((v = map_find(value, "expect", NULL)) != NULL &&
	    (rc = get_result(ld, v, "update's expect", RESULT_PANIC_OK, &u->expect)) < 0)
		return rc;
	return 0;
}

/* ---- open / write / close (file) ---- */

static int parse_open(struct loader *ld, struct scenario_step *step, const struct syaml_node *key,
                      const struct syaml_node *value)
{
	static const char *const keys[] = {"fd", "path", "expect", NULL};
	static const char form[] = "open: {fd: NAME, path: FILE, expect: RESULT}";
	struct scenario_open *o = &step->u.open;
	const struct syaml_node *v;
	const struct syaml_node *fdnode;
	int rc;
	o->expect.kind = SCENARIO_RESULT_OK;
	if ((rc = need_map(ld, key, value, form)) < 0 || (rc = check_keys(ld, value, keys, "open")) < 0)
		return rc;
	if ((fdnode = map_find(value, "fd", NULL)) == NULL)
		return fail(ld, key, "open needs 'fd' (a name for the descriptor); expected %s", form);
	if ((rc = get_name(ld, fdnode, "fd", &o->fd)) < 0)
		return rc;
	if ((v = map_find(value, "path", NULL)) == NULL)
		return fail(ld, key, "open needs 'path'; expected %s", form);
	if ((rc = get_text(ld, v, "path", "a file name relative to the mount", &o->path)) < 0)
		return rc;
	if ((v = map_find(value, "expect", NULL)) != NULL &&
	    (rc = get_result(ld, v, "open's expect", 0, &o->expect)) < 0)
		return rc;
	if (name_in(ld->open_fds, ld->open_fd_count, o->fd))
		return fail(ld, fdnode,
		            "descriptor '%s' is already open; expected a new name or a close step first",
		            o->fd);
	if (o->expect.kind == SCENARIO_RESULT_OK) { /* an open expected to fail names no descriptor */
		if (ld->open_fd_count == SCENARIO_MAX_FDS)
			return fail(ld, fdnode, "more than %d descriptors open; expected fewer",
			            SCENARIO_MAX_FDS);
		ld->open_fds[ld->open_fd_count++] = o->fd;
	}
	return 0;
}

/* get_fd_or_path - exactly one of `fd` (an open descriptor) and `path`. */
static int get_fd_or_path(struct loader *ld, const struct syaml_node *key, const struct syaml_node *map,
                          const char *form, char **fd, char **path)
{
	const struct syaml_node *fdnode = map_find(map, "fd", NULL);
	const struct syaml_node *pathnode = map_find(map, "path", NULL);
	int rc;
	if (fdnode != NULL && pathnode != NULL)
		return fail(ld, pathnode, "%s takes 'fd' or 'path', not both; expected %s", key->text, form);
	if (fdnode == NULL && pathnode == NULL)
		return fail(ld, key, "%s needs 'fd' or 'path'; expected %s", key->text, form);
	if (fdnode != NULL) {
		if ((rc = get_name(ld, fdnode, "fd", fd)) < 0)
			return rc;
		return need_open_fd(ld, fdnode, *fd);
	}
	return get_text(ld, pathnode, "path", "a file name relative to the mount", path);
}

static int parse_write(struct loader *ld, struct scenario_step *step, const struct syaml_node *key,
                       const struct syaml_node *value)
{
	static const char *const keys[] = {"fd", "path", "offset", "length", "bytes", "expect", NULL};
	static const char form[] =
	    "write: {fd: NAME | path: FILE, offset: O, length: L | bytes: \"...\", expect: RESULT}";
	struct scenario_write *w = &step->u.write;
	const struct syaml_node *v;
	const struct syaml_node *lennode;
	int rc;
	w->expect.kind = SCENARIO_RESULT_OK;
	if ((rc = need_map(ld, key, value, form)) < 0 || (rc = check_keys(ld, value, keys, "write")) < 0)
		return rc;
	if ((rc = get_fd_or_path(ld, key, value, form, &w->fd, &w->path)) < 0)
		return rc;
	if ((v = map_find(value, "offset", NULL)) != NULL &&
	    (rc = get_uint(ld, v, "offset", 0, 1ull << 40, &w->offset)) < 0)
		return rc;
	lennode = map_find(value, "length", NULL);
	v = map_find(value, "bytes", NULL);
	if (lennode != NULL && v != NULL)
		return fail(ld, v, "write takes 'length' or 'bytes', not both; expected %s", form);
	if (lennode == NULL && v == NULL)
		return fail(ld, key, "write needs 'length' or 'bytes'; expected %s", form);
	if (lennode != NULL && (rc = get_uint(ld, lennode, "length", 1, 64u << 20, &w->length)) < 0)
		return rc;
	if (v != NULL) {
		if ((rc = get_bytes(ld, v, "bytes", &w->bytes, &w->bytes_len)) < 0)
			return rc;
		w->length = w->bytes_len;
	}
	if ((v = map_find(value, "expect", NULL)) != NULL &&
	    (rc = get_result(ld, v, "write's expect", 0, &w->expect)) < 0)
		return rc;
	return 0;
}

static int parse_close(struct loader *ld, struct scenario_step *step, const struct syaml_node *key,
                       const struct syaml_node *value)
{
	static const char *const keys[] = {"fd", "expect", NULL};
	static const char form[] = "close: NAME or close: {fd: NAME, expect: RESULT}";
	struct scenario_close *c = &step->u.close;
	const struct syaml_node *fdnode = value;
	const struct syaml_node *v;
	int rc;
	c->expect.kind = SCENARIO_RESULT_OK;
	if (value == NULL || value->type != SYAML_SCALAR || syaml_is_null(value)) {
		if ((rc = need_map(ld, key, value, form)) < 0 ||
		    (rc = check_keys(ld, value, keys, "close")) < 0)
			return rc;
		if ((fdnode = map_find(value, "fd", NULL)) == NULL)
			return fail(ld, key, "close needs 'fd'; expected %s", form);
		if ((v = map_find(value, "expect", NULL)) != NULL &&
		    (rc = get_result(ld, v, "close's expect", 0, &c->expect)) < 0)
			return rc;
	}
	if ((rc = get_name(ld, fdnode, "fd", &c->fd)) < 0 || (rc = need_open_fd(ld, fdnode, c->fd)) < 0)
		return rc;
	name_remove(ld->open_fds, &ld->open_fd_count, c->fd);
	return 0;
}

/* ---- inject / clear ---- */

/* The effects of faults.h (its op names come from fault_op_name); fault_rule_validate_json() has the
 * last word on combinations (an effect that does not apply to an op, nth <= after, ...). */
static const char *const inject_effects[] = {"corrupt", "torn", "lost", "misdirected", "delay", NULL};

/* inject_op_names - "write, read, ..." from faults.c's own table, for messages. */
static const char *inject_op_names(char *buf, size_t len)
{
	const char *names[FAULT_OP_COUNT + 1];
	for (int i = 0; i < FAULT_OP_COUNT; i++)
		names[i] = fault_op_name((enum fault_op)i);
	names[FAULT_OP_COUNT] = NULL;
	return join_words(names, buf, len);
}

static bool word_in(const char *const *words, const char *w)
{
	for (size_t i = 0; words[i] != NULL; i++)
		if (strcmp(words[i], w) == 0)
			return true;
	return false;
}

/* rule_set - json_object_set_new that reports ENOMEM. */
static int rule_set(struct loader *ld, json_t *rule, const char *key, json_t *value)
{
	if (value == NULL || json_object_set_new(rule, key, value) != 0)
		return oom(ld);
	return 0;
}

static int parse_inject(struct loader *ld, struct scenario_step *step, const struct syaml_node *key,
                        const struct syaml_node *value)
{
	static const char *const keys[] = {"op",       "path",        "block", "blocks", "offset", "length",
	                                   "errno",    "effect",      "delay", "times",  "after",  "nth",
	                                   "sequence", "probability", "seed",  "label",  NULL};
	static const char form[] = "inject: {op: OP, path: GLOB, errno: ERRNO | effect: EFFECT, ...} "
	                           "(the keys of `fsynclab inject`)";
	struct scenario_inject *in = &step->u.inject;
	const struct syaml_node *v;
	const struct syaml_node *errnode;
	const struct syaml_node *effnode;
	char list[256];
	uint64_t u = 0;
	int rc;
	if ((rc = need_map(ld, key, value, form)) < 0 || (rc = check_keys(ld, value, keys, "inject")) < 0)
		return rc;
	in->rule = json_object();
	if (in->rule == NULL)
		return oom(ld);

	if ((v = map_find(value, "op", NULL)) == NULL)
		return fail(ld, key, "inject needs 'op'; expected op: one of %s",
		            inject_op_names(list, sizeof(list)));
	if (!is_scalar_text(v) || fault_op_parse(v->text) < 0)
		return fail(ld, v, "unknown op %s%s%s; expected one of: %s", is_scalar_text(v) ? "'" : "",
		            is_scalar_text(v) ? v->text : syaml_type_name(v), is_scalar_text(v) ? "'" : "",
		            inject_op_names(list, sizeof(list)));
	if ((rc = rule_set(ld, in->rule, "op", json_string(v->text))) < 0)
		return rc;

	if ((v = map_find(value, "path", NULL)) != NULL) {
		char *path = NULL;
		if ((rc = get_text(ld, v, "path", "a glob relative to the mount, such as \"*.log\"", &path)) <
		    0)
			return rc;
		rc = rule_set(ld, in->rule, "path", json_string(path));
		free(path);
		if (rc < 0)
			return rc;
	}

	/* where: block | blocks | offset+length — one of them at most */
	const struct syaml_node *block = map_find(value, "block", NULL);
	const struct syaml_node *blocks = map_find(value, "blocks", NULL);
	const struct syaml_node *offset = map_find(value, "offset", NULL);
	const struct syaml_node *length = map_find(value, "length", NULL);
	if ((block != NULL) + (blocks != NULL) + (offset != NULL || length != NULL) > 1)
		return fail(ld, blocks ? blocks : (offset ? offset : length),
		            "inject takes one of block, blocks, or offset+length; expected a single range");
	if (block != NULL) {
		if ((rc = get_uint(ld, block, "block", 0, INT64_MAX, &u)) < 0 ||
		    (rc = rule_set(ld, in->rule, "block", json_integer((json_int_t)u))) < 0)
			return rc;
	}
	if (blocks != NULL) {
		uint64_t a = 0, b = 0;
		if (blocks->type != SYAML_SEQ || blocks->count != 2)
			return fail(ld, blocks,
			            "blocks must be a pair, got %s; expected blocks: [FIRST, LAST]",
			            syaml_type_name(blocks));
		if ((rc = get_uint(ld, blocks->values[0], "first block", 0, INT64_MAX, &a)) < 0 ||
		    (rc = get_uint(ld, blocks->values[1], "last block", 0, INT64_MAX, &b)) < 0)
			return rc;
		if (b < a)
			return fail(ld, blocks->values[1],
			            "last block %llu is before first block %llu; expected [FIRST, LAST]",
			            (unsigned long long)b, (unsigned long long)a);
		json_t *pair = json_pack("[II]", (json_int_t)a, (json_int_t)b);
		if ((rc = rule_set(ld, in->rule, "blocks", pair)) < 0)
			return rc;
	}
	if (offset != NULL || length != NULL) {
		if (offset == NULL || length == NULL)
			return fail(ld, offset ? offset : length,
			            "inject takes 'offset' and 'length' together; expected "
			            "offset: BYTE, length: BYTES");
		uint64_t o = 0, l = 0;
		if ((rc = get_uint(ld, offset, "offset", 0, INT64_MAX, &o)) < 0 ||
		    (rc = get_uint(ld, length, "length", 1, INT64_MAX, &l)) < 0)
			return rc;
		if ((rc = rule_set(ld, in->rule, "offset", json_integer((json_int_t)o))) < 0 ||
		    (rc = rule_set(ld, in->rule, "length", json_integer((json_int_t)l))) < 0)
			return rc;
	}

	/* what: errno | effect (+ delay) */
	errnode = map_find(value, "errno", NULL);
	effnode = map_find(value, "effect", NULL);
	if (errnode != NULL && effnode != NULL)
		return fail(ld, effnode, "inject takes 'errno' or 'effect', not both; expected one of them");
	if (errnode == NULL && effnode == NULL)
		return fail(ld, key, "inject needs 'errno' or 'effect'; expected errno: EIO or effect: %s",
		            join_words(inject_effects, list, sizeof(list)));
	if (errnode != NULL) {
		int err = 0;
		if ((rc = get_errno(ld, errnode, "errno", &err)) < 0 ||
		    (rc = rule_set(ld, in->rule, "errno", json_string(errname_str(err)))) < 0)
			return rc;
	}
	/* effect: delay takes its duration from `delay: D`, or inline as `effect: delay:D` */
	const char *inline_delay = NULL;
	if (effnode != NULL) {
		char effname[16] = "";
		if (is_scalar_text(effnode)) {
			const char *colon = strchr(effnode->text, ':');
			size_t n = colon ? (size_t)(colon - effnode->text) : effnode->len;
			if (n < sizeof(effname)) {
				memcpy(effname, effnode->text, n);
				effname[n] = '\0';
			}
			if (colon != NULL && strcmp(effname, "delay") == 0)
				inline_delay = colon + 1;
			else if (colon != NULL)
				effname[0] = '\0';
		}
		if (!word_in(inject_effects, effname))
			return fail(ld, effnode,
			            "unknown effect %s%s%s; expected one of: %s (or delay:DURATION)",
			            is_scalar_text(effnode) ? "'" : "",
			            is_scalar_text(effnode) ? effnode->text : syaml_type_name(effnode),
			            is_scalar_text(effnode) ? "'" : "",
			            join_words(inject_effects, list, sizeof(list)));
		if ((rc = rule_set(ld, in->rule, "effect", json_string(effname))) < 0)
			return rc;
	}
	v = map_find(value, "delay", NULL);
	bool is_delay = effnode != NULL && strncmp(effnode->text, "delay", 5) == 0;
	if (is_delay && v == NULL && inline_delay == NULL)
		return fail(ld, effnode,
		            "effect delay needs a duration; expected effect: delay:5ms or delay: 5ms");
	if (v != NULL && (!is_delay || inline_delay != NULL))
		return fail(
		    ld, v,
		    "'delay' goes with effect: delay (given once); expected effect: delay, delay: DURATION");
	if (is_delay) {
		int64_t ns = 0;
		const struct syaml_node *at = v ? v : effnode;
		const char *spelled = v ? v->text : inline_delay;
		if (!is_scalar_text(at) || duration_parse(spelled, 0, &ns) < 0 || ns <= 0)
			return fail(ld, at,
			            "invalid delay '%s'; expected a duration above zero such as 5ms or 250us",
			            is_scalar_text(at) ? spelled : syaml_type_name(at));
		if ((rc = rule_set(ld, in->rule, "delay", json_string(spelled))) < 0)
			return rc;
	}

	/* when: times, after, nth, sequence, probability + seed */
	static const char *const counters[] = {"times", "after", "nth", NULL};
	for (size_t i = 0; counters[i] != NULL; i++) {
		if ((v = map_find(value, counters[i], NULL)) == NULL)
			continue;
		uint64_t min = strcmp(counters[i], "nth") == 0 ? 1 : 0;
		if ((rc = get_uint(ld, v, counters[i], min, INT64_MAX, &u)) < 0 ||
		    (rc = rule_set(ld, in->rule, counters[i], json_integer((json_int_t)u))) < 0)
			return rc;
	}
	if ((v = map_find(value, "sequence", NULL)) != NULL) {
		bool ok = is_scalar_text(v);
		for (size_t i = 0; ok && i < v->len; i++) {
			char c = v->text[i];
			bool last = i + 1 == v->len;
			ok = c == 'w' || c == 'x' || (last && (c == 'W' || c == 'X'));
		}
		if (!ok)
			return fail(
			    ld, v,
			    "invalid sequence %s%s%s; expected letters w (pass) and x (fail), a final W or X "
			    "repeating forever, such as \"wwxW\"",
			    is_scalar_text(v) ? "'" : "", is_scalar_text(v) ? v->text : syaml_type_name(v),
			    is_scalar_text(v) ? "'" : "");
		if ((rc = rule_set(ld, in->rule, "sequence", json_string(v->text))) < 0)
			return rc;
	}
	if ((v = map_find(value, "probability", NULL)) != NULL) {
		char *end = NULL;
		double p = is_scalar_text(v) && v->plain ? strtod(v->text, &end) : NAN;
		if (end == NULL || *end != '\0' || end == v->text || !(p >= 0.0 && p <= 1.0))
			return fail(
			    ld, v, "invalid probability %s%s%s; expected a number from 0 to 1 such as 0.25",
			    is_scalar_text(v) ? "'" : "", is_scalar_text(v) ? v->text : syaml_type_name(v),
			    is_scalar_text(v) ? "'" : "");
		if ((rc = rule_set(ld, in->rule, "probability", json_real(p))) < 0)
			return rc;
	}
	if ((v = map_find(value, "seed", NULL)) != NULL) {
		if (map_find(value, "probability", NULL) == NULL)
			return fail(ld, v,
			            "'seed' goes with 'probability'; expected probability: P, seed: S");
		if ((rc = get_uint(ld, v, "seed", 0, INT64_MAX, &u)) < 0 ||
		    (rc = rule_set(ld, in->rule, "seed", json_integer((json_int_t)u))) < 0)
			return rc;
	} else if (map_find(value, "probability", NULL) != NULL) {
		/* a probabilistic rule replays from the scenario's seed unless it names its own */
		json_int_t seed = (json_int_t)(ld->sc->options.seed & INT64_MAX);
		if ((rc = rule_set(ld, in->rule, "seed", json_integer(seed))) < 0)
			return rc;
	}

	if ((v = map_find(value, "label", NULL)) != NULL) {
		if ((rc = get_name(ld, v, "label", &in->label)) < 0)
			return rc;
		if (name_in(ld->labels, ld->label_count, in->label))
			return fail(ld, v, "label '%s' is already used; expected a new label", in->label);
		if (ld->label_count == SCENARIO_MAX_LABELS)
			return fail(ld, v, "more than %d labelled rules; expected fewer",
			            SCENARIO_MAX_LABELS);
		ld->labels[ld->label_count++] = in->label;
	}

	/* the filesystem's own validator has the last word (combinations of triggers, ...) */
	char why[256] = "";
	if (fault_rule_validate_json(in->rule, why, sizeof(why)) < 0)
		return fail(ld, key, "invalid inject rule: %s; expected %s", why[0] ? why : "refused", form);
	return 0;
}

static int parse_clear(struct loader *ld, struct scenario_step *step, const struct syaml_node *key,
                       const struct syaml_node *value)
{
	int rc;
	(void)key;
	if (value == NULL || syaml_is_null(value))
		return 0;
	if ((rc = get_name(ld, value, "clear's label", &step->u.clear.label)) < 0)
		return rc;
	if (!name_in(ld->labels, ld->label_count, step->u.clear.label))
		return fail(ld, value,
		            "no inject step has label '%s'; expected clear (every rule) or clear: LABEL",
		            step->u.clear.label);
	return 0;
}

/* ---- fsync / sync / checkpoint ---- */

static int parse_fsync(struct loader *ld, struct scenario_step *step, const struct syaml_node *key,
                       const struct syaml_node *value)
{
	static const char *const file_keys[] = {"fd", "path", "datasync", "expect", NULL};
	static const char *const other_keys[] = {"expect", NULL};
	struct scenario_fsync *f = &step->u.fsync;
	bool file = ld->sc->target == SCENARIO_TARGET_FILE && step->kind == SCENARIO_STEP_FSYNC;
	bool wal = ld->sc->target == SCENARIO_TARGET_WAL || ld->sc->target == SCENARIO_TARGET_TABLE;
	unsigned flags = wal && step->kind != SCENARIO_STEP_SYNC ? RESULT_PANIC_OK : 0;
	char form[160];
	const struct syaml_node *v;
	int rc;
	if (file)
		snprintf(form, sizeof(form),
		         "fsync: {fd: NAME | path: FILE, datasync: true|false, expect: RESULT}");
	else
		snprintf(form, sizeof(form), "%s, %s: RESULT or %s: {expect: RESULT}", key->text, key->text,
		         key->text);
	f->expect.kind = SCENARIO_RESULT_OK;
	if (value == NULL || syaml_is_null(value)) {
		if (file)
			return fail(ld, key, "fsync needs a descriptor here; expected %s", form);
		return 0;
	}
	if (value->type == SYAML_SCALAR) {
		if (file)
			return fail(ld, value, "fsync needs a descriptor here; expected %s", form);
		return get_result(ld, value, key->text, flags, &f->expect);
	}
	if ((rc = need_map(ld, key, value, form)) < 0)
		return rc;
	if ((rc = check_keys(ld, value, file ? file_keys : other_keys, key->text)) < 0)
		return rc;
	if (file && (rc = get_fd_or_path(ld, key, value, form, &f->fd, &f->path)) < 0)
		return rc;
	if ((v = map_find(value, "datasync", NULL)) != NULL &&
	    (rc = get_bool(ld, v, "datasync", &f->datasync)) < 0)
		return rc;
	if ((v = map_find(value, "expect", NULL)) != NULL &&
	    (rc = get_result(ld, v, key->text, flags, &f->expect)) < 0)
		return rc;
	return 0;
}

/* ---- read ---- */

static int parse_read(struct loader *ld, struct scenario_step *step, const struct syaml_node *key,
                      const struct syaml_node *value)
{
	static const char *const table_keys[] = {"page", "expect", "bytes", NULL};
	static const char *const file_keys[] = {"fd", "path", "offset", "length", "expect", "bytes", NULL};
	static const char table_form[] =
	    "read: {page: N, expect: new|old|zeros|ERRNO|error|any} or {page: N, bytes: \"...\"}";
	static const char file_form[] = "read: {fd: NAME | path: FILE, offset: O, length: L, "
	                                "expect: new|old|zeros|ERRNO|error|any | bytes: \"...\"}";
	static const char expect_form[] = "new, old, zeros, error, any, or an errno name such as EIO";
	struct scenario_read *r = &step->u.read;
	bool table = ld->sc->target == SCENARIO_TARGET_TABLE;
	const char *form = table ? table_form : file_form;
	const struct syaml_node *v;
	const struct syaml_node *bytes;
	int rc;
	if ((rc = need_map(ld, key, value, form)) < 0 ||
	    (rc = check_keys(ld, value, table ? table_keys : file_keys, "read")) < 0)
		return rc;
	r->length = ld->sc->options.block_size;
	if (table) {
		if ((v = map_find(value, "page", NULL)) == NULL)
			return fail(ld, key, "read needs 'page'; expected %s", form);
		if ((rc = get_uint(ld, v, "page", 0, 1000000, &r->page)) < 0)
			return rc;
		r->has_page = true;
	} else {
		if ((rc = get_fd_or_path(ld, key, value, form, &r->fd, &r->path)) < 0)
			return rc;
		if ((v = map_find(value, "offset", NULL)) != NULL &&
		    (rc = get_uint(ld, v, "offset", 0, 1ull << 40, &r->offset)) < 0)
			return rc;
		if ((v = map_find(value, "length", NULL)) != NULL &&
		    (rc = get_uint(ld, v, "length", 1, 64u << 20, &r->length)) < 0)
			return rc;
	}
	v = map_find(value, "expect", NULL);
	bytes = map_find(value, "bytes", NULL);
	if (v != NULL && bytes != NULL)
		return fail(ld, bytes, "read takes 'expect' or 'bytes', not both; expected %s", form);
	if (v == NULL && bytes == NULL)
		return fail(ld, key, "read needs 'expect' or 'bytes'; expected %s", form);
	if (bytes != NULL) {
		if ((rc = get_bytes(ld, bytes, "bytes", &r->bytes, &r->bytes_len)) < 0)
			return rc;
		r->expect = SCENARIO_READ_BYTES;
		const struct syaml_node *lenode = map_find(value, "length", NULL);
		if (lenode != NULL && r->length != r->bytes_len)
			return fail(
			    ld, lenode,
			    "length %llu differs from the %zu bytes expected; expected no length with "
			    "bytes, or the same",
			    (unsigned long long)r->length, r->bytes_len);
		r->length = r->bytes_len;
		return 0;
	}
	if (!is_scalar_text(v))
		return fail(ld, v, "read's expect must be a word, got %s; expected %s", syaml_type_name(v),
		            expect_form);
	if (strcmp(v->text, "new") == 0)
		r->expect = SCENARIO_READ_NEW;
	else if (strcmp(v->text, "old") == 0)
		r->expect = SCENARIO_READ_OLD;
	else if (strcmp(v->text, "zeros") == 0)
		r->expect = SCENARIO_READ_ZEROS;
	else if (strcmp(v->text, "error") == 0)
		r->expect = SCENARIO_READ_ERROR;
	else if (strcmp(v->text, "any") == 0)
		r->expect = SCENARIO_READ_ANY;
	else if (v->text[0] == 'E' && errname_parse(v->text) > 0) {
		r->expect = SCENARIO_READ_ERRNO;
		r->err = errname_parse(v->text);
	} else
		return fail(ld, v, "invalid read expectation '%s'; expected %s", v->text, expect_form);
	return 0;
}

/* ---- reboot / crash ---- */

static int parse_reboot(struct loader *ld, struct scenario_step *step, const struct syaml_node *key,
                        const struct syaml_node *value)
{
	(void)step;
	(void)key;
	if (value != NULL && !syaml_is_null(value) && !(value->type == SYAML_MAP && value->count == 0))
		return fail(ld, value, "reboot takes no parameters, got %s; expected - reboot",
		            syaml_type_name(value));
	/* a power cut kills every process: descriptors and started commands are gone */
	ld->open_fd_count = 0;
	ld->started_count = 0;
	return 0;
}

static int parse_crash(struct loader *ld, struct scenario_step *step, const struct syaml_node *key,
                       const struct syaml_node *value)
{
	int rc;
	(void)key;
	if (value == NULL || syaml_is_null(value)) {
		if (ld->sc->target == SCENARIO_TARGET_EXEC && ld->started_count == 0)
			return fail(
			    ld, key,
			    "crash kills a started command and none is running; expected a start step first");
		/* the workload (or, for exec, every started command) dies with its descriptors */
		ld->open_fd_count = 0;
		if (ld->sc->target == SCENARIO_TARGET_EXEC)
			ld->started_count = 0;
		return 0;
	}
	if ((rc = get_name(ld, value, "crash's command name", &step->u.crash.name)) < 0 ||
	    (rc = need_started(ld, value, step->u.crash.name)) < 0)
		return rc;
	name_remove(ld->started, &ld->started_count, step->u.crash.name);
	return 0;
}

/* ---- recover ---- */

static int parse_recover(struct loader *ld, struct scenario_step *step, const struct syaml_node *key,
                         const struct syaml_node *value)
{
	static const char *const keys[] = {"result", "records", "tail", "corruption", NULL};
	static const char form[] = "recover, recover: RESULT or recover: {result: RESULT, records: COUNT, "
	                           "tail: torn|clean|any, corruption: none|detected|any|RECORD}";
	struct scenario_recover *r = &step->u.recover;
	const struct syaml_node *v;
	int rc;
	r->result.kind = SCENARIO_RESULT_OK;
	if (value == NULL || syaml_is_null(value))
		return 0;
	if (value->type == SYAML_SCALAR)
		return get_result(ld, value, "recover", 0, &r->result);
	if ((rc = need_map(ld, key, value, form)) < 0 || (rc = check_keys(ld, value, keys, "recover")) < 0)
		return rc;
	if ((v = map_find(value, "result", NULL)) != NULL &&
	    (rc = get_result(ld, v, "recover's result", 0, &r->result)) < 0)
		return rc;
	if ((v = map_find(value, "records", NULL)) != NULL) {
		if ((rc = get_cmp(ld, v, "records", CMP_COUNT, &r->records)) < 0)
			return rc;
		r->has_records = true;
	}
	if ((v = map_find(value, "tail", NULL)) != NULL) {
		if (is_scalar_text(v) && strcmp(v->text, "torn") == 0)
			r->tail = SCENARIO_TAIL_TORN;
		else if (is_scalar_text(v) && strcmp(v->text, "clean") == 0)
			r->tail = SCENARIO_TAIL_CLEAN;
		else if (is_scalar_text(v) && strcmp(v->text, "any") == 0)
			r->tail = SCENARIO_TAIL_ANY;
		else
			return fail(ld, v, "invalid tail %s%s%s; expected torn, clean or any",
			            is_scalar_text(v) ? "'" : "",
			            is_scalar_text(v) ? v->text : syaml_type_name(v),
			            is_scalar_text(v) ? "'" : "");
	}
	if ((v = map_find(value, "corruption", NULL)) != NULL) {
		uint64_t at = 0;
		if (is_scalar_text(v) && strcmp(v->text, "none") == 0)
			r->corruption = SCENARIO_CORRUPTION_NONE;
		else if (is_scalar_text(v) && strcmp(v->text, "detected") == 0)
			r->corruption = SCENARIO_CORRUPTION_DETECTED;
		else if (is_scalar_text(v) && strcmp(v->text, "any") == 0)
			r->corruption = SCENARIO_CORRUPTION_ANY;
		else if (is_scalar_text(v) && v->plain && parse_u64(v->text, INT64_MAX, &at)) {
			r->corruption = SCENARIO_CORRUPTION_DETECTED;
			r->has_corruption_at = true;
			r->corruption_at = at;
		} else
			return fail(
			    ld, v,
			    "invalid corruption %s%s%s; expected none, detected, any, or the record number",
			    is_scalar_text(v) ? "'" : "", is_scalar_text(v) ? v->text : syaml_type_name(v),
			    is_scalar_text(v) ? "'" : "");
	}
	/* expected corruption may make the WAL refuse to open: that refusal is the report */
	if (r->corruption == SCENARIO_CORRUPTION_DETECTED && map_find(value, "result", NULL) == NULL)
		r->result.kind = SCENARIO_RESULT_ANY;
	return 0;
}

/* ---- expect ---- */

static const struct {
	const char *name;
	enum cmp_unit unit;
	bool wal_only; /* measured by the WAL/table runner only */
} metric_table[SCENARIO_METRIC_COUNT] = {
    [SCENARIO_METRIC_ACKED] = {"acked", CMP_COUNT, true},
    [SCENARIO_METRIC_ACKED_LOST] = {"acked_lost", CMP_COUNT, true},
    [SCENARIO_METRIC_DURABLE_LOST] = {"durable_lost", CMP_COUNT, true},
    [SCENARIO_METRIC_LOSS_WINDOW] = {"loss_window", CMP_DURATION, true},
    [SCENARIO_METRIC_PANICKED] = {"panicked", CMP_BOOL, true},
    [SCENARIO_METRIC_RECORDS] = {"records", CMP_COUNT, true},
    [SCENARIO_METRIC_CHECKSUM_ERRORS] = {"checksum_errors", CMP_COUNT, true},
    [SCENARIO_METRIC_BAD_RECORDS_RETURNED] = {"bad_records_returned", CMP_COUNT, true},
    [SCENARIO_METRIC_TORN_TAIL] = {"torn_tail", CMP_BOOL, true},
    [SCENARIO_METRIC_CORRUPTION] = {"corruption", CMP_BOOL, true},
    [SCENARIO_METRIC_FAULT_HITS] = {"fault_hits", CMP_COUNT, false},
    [SCENARIO_METRIC_FS_STATE] = {"fs_state", CMP_FS_STATE, false},
};

static int parse_expect(struct loader *ld, struct scenario_step *step, const struct syaml_node *key,
                        const struct syaml_node *value)
{
	static const char form[] =
	    "expect: {METRIC: VALUE, ...} such as expect: {acked_lost: 0, panicked: true}";
	struct scenario_expect *e = &step->u.expect;
	bool wal = ld->sc->target == SCENARIO_TARGET_WAL || ld->sc->target == SCENARIO_TARGET_TABLE;
	const char *names[SCENARIO_METRIC_COUNT + 1];
	char list[512];
	int rc;
	size_t n = 0;
	for (int m = 0; m < SCENARIO_METRIC_COUNT; m++)
		if (wal || !metric_table[m].wal_only)
			names[n++] = metric_table[m].name;
	names[n] = NULL;
	if ((rc = need_map(ld, key, value, form)) < 0)
		return rc;
	if (value->count == 0)
		return fail(ld, value, "expect lists no check; expected %s", form);
	e->checks = calloc(value->count, sizeof(*e->checks));
	if (e->checks == NULL)
		return oom(ld);
	for (size_t i = 0; i < value->count; i++) {
		const struct syaml_node *k = value->keys[i];
		int metric = -1;
		for (int m = 0; m < SCENARIO_METRIC_COUNT; m++)
			if (strcmp(k->text, metric_table[m].name) == 0 && (wal || !metric_table[m].wal_only))
				metric = m;
		if (metric < 0)
			return fail(ld, k, "unknown metric '%s' for target %s; expected one of: %s", k->text,
			            scenario_target_name(ld->sc->target),
			            join_words(names, list, sizeof(list)));
		struct scenario_check *c = &e->checks[e->count++];
		c->metric = (enum scenario_metric)metric;
		c->pos = pos_of(ld, k);
		if ((rc = get_cmp(ld, value->values[i], k->text, metric_table[metric].unit, &c->cmp)) < 0)
			return rc;
	}
	return 0;
}

/* ---- start / exec / wait / stop / sleep ---- */

static int parse_start(struct loader *ld, struct scenario_step *step, const struct syaml_node *key,
                       const struct syaml_node *value)
{
	static const char *const keys[] = {"command", "name", "user", "ready", "timeout", NULL};
	static const char form[] = "start: COMMAND or start: {command: COMMAND, name: NAME, user: USER, "
	                           "ready: REGEX, timeout: DURATION}";
	struct scenario_start *s = &step->u.start;
	const struct syaml_node *v;
	const struct syaml_node *namenode = key;
	int rc;
	s->timeout_ns = 10LL * 1000000000LL;
	if (value != NULL && value->type == SYAML_SCALAR && !syaml_is_null(value)) {
		if ((rc = get_text(ld, value, "start's command", form, &s->command)) < 0)
			return rc;
	} else {
		if ((rc = need_map(ld, key, value, form)) < 0 ||
		    (rc = check_keys(ld, value, keys, "start")) < 0)
			return rc;
		if ((v = map_find(value, "command", NULL)) == NULL)
			return fail(ld, key, "start needs 'command'; expected %s", form);
		if ((rc = get_text(ld, v, "command", "a shell command", &s->command)) < 0)
			return rc;
		if ((v = map_find(value, "name", NULL)) != NULL) {
			if ((rc = get_name(ld, v, "name", &s->name)) < 0)
				return rc;
			namenode = v;
		}
		if ((v = map_find(value, "user", NULL)) != NULL &&
		    (rc = get_text(ld, v, "user", "a user name", &s->user)) < 0)
			return rc;
		if ((v = map_find(value, "ready", NULL)) != NULL &&
		    (rc = get_text(ld, v, "ready", "a regular expression matched against the output",
		                   &s->ready)) < 0)
			return rc;
		if ((v = map_find(value, "timeout", NULL)) != NULL &&
		    (rc = get_duration(ld, v, "timeout", false, &s->timeout_ns)) < 0)
			return rc;
	}
	if (s->name == NULL && (s->name = strdup(SCENARIO_DEFAULT_NAME)) == NULL)
		return oom(ld);
	if (name_in(ld->started, ld->started_count, s->name))
		return fail(ld, namenode,
		            "a command named '%s' is already running; expected another name: (name: NAME)",
		            s->name);
	if (ld->started_count == SCENARIO_MAX_STARTED)
		return fail(ld, namenode, "more than %d commands running; expected fewer",
		            SCENARIO_MAX_STARTED);
	ld->started[ld->started_count++] = s->name;
	return 0;
}

static int parse_exec(struct loader *ld, struct scenario_step *step, const struct syaml_node *key,
                      const struct syaml_node *value)
{
	static const char *const keys[] = {"command", "status", "user", "timeout", NULL};
	static const char form[] =
	    "exec: COMMAND or exec: {command: COMMAND, status: 0..255|nonzero|any, user: USER, "
	    "timeout: DURATION}";
	struct scenario_exec *x = &step->u.exec;
	const struct syaml_node *v;
	int rc;
	x->timeout_ns = 30LL * 1000000000LL;
	x->status.kind = SCENARIO_STATUS_EXACT;
	x->status.code = 0;
	if (value != NULL && value->type == SYAML_SCALAR && !syaml_is_null(value))
		return get_text(ld, value, "exec's command", form, &x->command);
	if ((rc = need_map(ld, key, value, form)) < 0 || (rc = check_keys(ld, value, keys, "exec")) < 0)
		return rc;
	if ((v = map_find(value, "command", NULL)) == NULL)
		return fail(ld, key, "exec needs 'command'; expected %s", form);
	if ((rc = get_text(ld, v, "command", "a shell command", &x->command)) < 0)
		return rc;
	if ((v = map_find(value, "status", NULL)) != NULL && (rc = get_status(ld, v, &x->status)) < 0)
		return rc;
	if ((v = map_find(value, "user", NULL)) != NULL &&
	    (rc = get_text(ld, v, "user", "a user name", &x->user)) < 0)
		return rc;
	if ((v = map_find(value, "timeout", NULL)) != NULL &&
	    (rc = get_duration(ld, v, "timeout", false, &x->timeout_ns)) < 0)
		return rc;
	return 0;
}

static int parse_wait(struct loader *ld, struct scenario_step *step, const struct syaml_node *key,
                      const struct syaml_node *value)
{
	static const char *const keys[] = {"pattern", "file", "output", "timeout", NULL};
	static const char form[] = "wait: {pattern: REGEX, file: PATH | output: NAME, timeout: DURATION}";
	struct scenario_wait *w = &step->u.wait;
	const struct syaml_node *v;
	const struct syaml_node *file;
	const struct syaml_node *output;
	int rc;
	w->timeout_ns = 10LL * 1000000000LL;
	if ((rc = need_map(ld, key, value, form)) < 0 || (rc = check_keys(ld, value, keys, "wait")) < 0)
		return rc;
	if ((v = map_find(value, "pattern", NULL)) == NULL)
		return fail(ld, key, "wait needs 'pattern'; expected %s", form);
	if ((rc = get_text(ld, v, "pattern", "a regular expression", &w->pattern)) < 0)
		return rc;
	file = map_find(value, "file", NULL);
	output = map_find(value, "output", NULL);
	if (file != NULL && output != NULL)
		return fail(ld, output, "wait takes 'file' or 'output', not both; expected %s", form);
	if (file == NULL && output == NULL)
		return fail(ld, key, "wait needs 'file' or 'output'; expected %s", form);
	if (file != NULL &&
	    (rc = get_text(ld, file, "file", "a path (relative to the mount, or absolute)", &w->file)) < 0)
		return rc;
	if (output != NULL) {
		if ((rc = get_name(ld, output, "output", &w->output)) < 0 ||
		    (rc = need_started(ld, output, w->output)) < 0)
			return rc;
	}
	if ((v = map_find(value, "timeout", NULL)) != NULL &&
	    (rc = get_duration(ld, v, "timeout", false, &w->timeout_ns)) < 0)
		return rc;
	return 0;
}

static int parse_stop(struct loader *ld, struct scenario_step *step, const struct syaml_node *key,
                      const struct syaml_node *value)
{
	static const char *const keys[] = {"name", "signal", "timeout", "status", NULL};
	static const char form[] =
	    "stop, stop: NAME or stop: {name: NAME, signal: TERM|INT|HUP|QUIT|KILL|USR1|USR2, "
	    "timeout: DURATION, status: 0..255|nonzero|any}";
	static const struct {
		const char *name;
		int sig;
	} signals[] = {{"TERM", SIGTERM}, {"INT", SIGINT},   {"HUP", SIGHUP},  {"QUIT", SIGQUIT},
	               {"KILL", SIGKILL}, {"USR1", SIGUSR1}, {"USR2", SIGUSR2}};
	struct scenario_stop *s = &step->u.stop;
	const struct syaml_node *v;
	const struct syaml_node *namenode = NULL;
	int rc;
	s->signal = SIGTERM;
	s->timeout_ns = 10LL * 1000000000LL;
	s->status.kind = SCENARIO_STATUS_ANY;
	if (value != NULL && value->type == SYAML_SCALAR && !syaml_is_null(value)) {
		namenode = value;
	} else if (value != NULL && !syaml_is_null(value)) {
		if ((rc = need_map(ld, key, value, form)) < 0 ||
		    (rc = check_keys(ld, value, keys, "stop")) < 0)
			return rc;
		namenode = map_find(value, "name", NULL);
		if ((v = map_find(value, "signal", NULL)) != NULL) {
			bool found = false;
			for (size_t i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
				if (is_scalar_text(v) && strcmp(v->text, signals[i].name) == 0) {
					s->signal = signals[i].sig;
					found = true;
				}
			}
			if (!found)
				return fail(ld, v,
				            "invalid signal %s%s%s; expected TERM, INT, HUP, QUIT, KILL, "
				            "USR1 or USR2",
				            is_scalar_text(v) ? "'" : "",
				            is_scalar_text(v) ? v->text : syaml_type_name(v),
				            is_scalar_text(v) ? "'" : "");
		}
		if ((v = map_find(value, "timeout", NULL)) != NULL &&
		    (rc = get_duration(ld, v, "timeout", false, &s->timeout_ns)) < 0)
			return rc;
		if ((v = map_find(value, "status", NULL)) != NULL && (rc = get_status(ld, v, &s->status)) < 0)
			return rc;
	}
	if (namenode != NULL) {
		if ((rc = get_name(ld, namenode, "stop's command name", &s->name)) < 0)
			return rc;
	} else if ((s->name = strdup(SCENARIO_DEFAULT_NAME)) == NULL) {
		return oom(ld);
	}
	if ((rc = need_started(ld, namenode ? namenode : key, s->name)) < 0)
		return rc;
	name_remove(ld->started, &ld->started_count, s->name);
	return 0;
}

static int parse_sleep(struct loader *ld, struct scenario_step *step, const struct syaml_node *key,
                       const struct syaml_node *value)
{
	if (value == NULL || syaml_is_null(value))
		return fail(ld, key, "sleep needs a duration; expected sleep: DURATION such as 50ms");
	return get_duration(ld, value, "sleep", false, &step->u.sleep.ns);
}

/* ---- Destructors ---- */

static void free_nothing(struct scenario_step *step)
{
	(void)step;
}

static void free_open(struct scenario_step *step)
{
	free(step->u.open.fd);
	free(step->u.open.path);
}

static void free_write(struct scenario_step *step)
{
	free(step->u.write.fd);
	free(step->u.write.path);
	free(step->u.write.bytes);
}

static void free_close(struct scenario_step *step)
{
	free(step->u.close.fd);
}

static void free_inject(struct scenario_step *step)
{
	json_decref(step->u.inject.rule);
	free(step->u.inject.label);
}

static void free_clear(struct scenario_step *step)
{
	free(step->u.clear.label);
}

static void free_fsync(struct scenario_step *step)
{
	free(step->u.fsync.fd);
	free(step->u.fsync.path);
}

static void free_read(struct scenario_step *step)
{
	free(step->u.read.fd);
	free(step->u.read.path);
	free(step->u.read.bytes);
}

static void free_crash(struct scenario_step *step)
{
	free(step->u.crash.name);
}

static void free_expect(struct scenario_step *step)
{
	free(step->u.expect.checks);
}

static void free_start(struct scenario_step *step)
{
	free(step->u.start.name);
	free(step->u.start.command);
	free(step->u.start.user);
	free(step->u.start.ready);
}

static void free_exec(struct scenario_step *step)
{
	free(step->u.exec.command);
	free(step->u.exec.user);
}

static void free_wait(struct scenario_step *step)
{
	free(step->u.wait.pattern);
	free(step->u.wait.file);
	free(step->u.wait.output);
}

static void free_stop(struct scenario_step *step)
{
	free(step->u.stop.name);
}

/* ---- The step table ---------------------------------------------------------------------------- */

#define T_WAL   (1u << SCENARIO_TARGET_WAL)
#define T_TABLE (1u << SCENARIO_TARGET_TABLE)
#define T_FILE  (1u << SCENARIO_TARGET_FILE)
#define T_EXEC  (1u << SCENARIO_TARGET_EXEC)
#define T_ALL   (T_WAL | T_TABLE | T_FILE | T_EXEC)

static const struct step_kind {
	const char *name;
	unsigned targets; /* T_* bits where the step makes sense */
	step_parse_fn parse;
	step_free_fn free;
} step_kinds[SCENARIO_STEP_COUNT] = {
    [SCENARIO_STEP_APPEND] = {"append", T_WAL, parse_append, free_nothing},
    [SCENARIO_STEP_UPDATE] = {"update", T_TABLE, parse_update, free_nothing},
    [SCENARIO_STEP_OPEN] = {"open", T_FILE, parse_open, free_open},
    [SCENARIO_STEP_WRITE] = {"write", T_FILE, parse_write, free_write},
    [SCENARIO_STEP_CLOSE] = {"close", T_FILE, parse_close, free_close},
    [SCENARIO_STEP_INJECT] = {"inject", T_ALL, parse_inject, free_inject},
    [SCENARIO_STEP_CLEAR] = {"clear", T_ALL, parse_clear, free_clear},
    [SCENARIO_STEP_FSYNC] = {"fsync", T_WAL | T_TABLE | T_FILE, parse_fsync, free_fsync},
    [SCENARIO_STEP_SYNC] = {"sync", T_ALL, parse_fsync, free_fsync},
    [SCENARIO_STEP_CHECKPOINT] = {"checkpoint", T_TABLE, parse_fsync, free_fsync},
    [SCENARIO_STEP_READ] = {"read", T_TABLE | T_FILE, parse_read, free_read},
    [SCENARIO_STEP_REBOOT] = {"reboot", T_ALL, parse_reboot, free_nothing},
    [SCENARIO_STEP_CRASH] = {"crash", T_ALL, parse_crash, free_crash},
    [SCENARIO_STEP_RECOVER] = {"recover", T_WAL | T_TABLE, parse_recover, free_nothing},
    [SCENARIO_STEP_EXPECT] = {"expect", T_ALL, parse_expect, free_expect},
    [SCENARIO_STEP_START] = {"start", T_ALL, parse_start, free_start},
    [SCENARIO_STEP_EXEC] = {"exec", T_ALL, parse_exec, free_exec},
    [SCENARIO_STEP_WAIT] = {"wait", T_ALL, parse_wait, free_wait},
    [SCENARIO_STEP_STOP] = {"stop", T_ALL, parse_stop, free_stop},
    [SCENARIO_STEP_SLEEP] = {"sleep", T_ALL, parse_sleep, free_nothing},
};

/* step_kinds_for - the names of the kinds valid for TARGET, for messages. */
static const char *step_kinds_for(enum scenario_target target, char *buf, size_t len)
{
	const char *names[SCENARIO_STEP_COUNT + 1];
	size_t n = 0;
	for (int k = 0; k < SCENARIO_STEP_COUNT; k++)
		if (step_kinds[k].targets & (1u << target))
			names[n++] = step_kinds[k].name;
	names[n] = NULL;
	return join_words(names, buf, len);
}

/*
 * parse_step - one item of `steps:`: a bare word (`- reboot`) or a mapping with exactly one kind
 * key and optionally `note`.
 */
static int parse_step(struct loader *ld, const struct syaml_node *item, struct scenario_step *step)
{
	const struct syaml_node *key = NULL;
	const struct syaml_node *value = NULL;
	char list[512];
	int kind = -1;
	int rc;

	if (item->type == SYAML_SCALAR && !syaml_is_null(item) && item->plain) {
		key = item;
	} else if (item->type == SYAML_MAP) {
		for (size_t i = 0; i < item->count; i++) {
			const struct syaml_node *k = item->keys[i];
			if (strcmp(k->text, "note") == 0)
				continue;
			if (key != NULL)
				return fail(
				    ld, k,
				    "one step has two kinds, '%s' and '%s'; expected one kind per step "
				    "(start a new '- ' item)",
				    key->text, k->text);
			key = k;
			value = item->values[i];
		}
		if (key == NULL)
			return fail(ld, item, "step has no kind; expected one of: %s",
			            step_kinds_for(ld->sc->target, list, sizeof(list)));
	} else {
		return fail(ld, item,
		            "a step must be a word or a mapping, got %s; expected a step such as `- reboot` "
		            "or `- fsync: EIO`",
		            syaml_type_name(item));
	}

	for (int k = 0; k < SCENARIO_STEP_COUNT; k++)
		if (strlen(step_kinds[k].name) == key->len && strcmp(step_kinds[k].name, key->text) == 0)
			kind = k;
	if (kind < 0)
		return fail(ld, key, "unknown step '%s'; expected one of: %s", key->text,
		            step_kinds_for(ld->sc->target, list, sizeof(list)));
	if (!(step_kinds[kind].targets & (1u << ld->sc->target)))
		return fail(ld, key, "step '%s' does not apply to target %s; expected one of: %s", key->text,
		            scenario_target_name(ld->sc->target),
		            step_kinds_for(ld->sc->target, list, sizeof(list)));

	step->kind = (enum scenario_step_kind)kind;
	step->pos = pos_of(ld, key);
	if (item->type == SYAML_MAP) {
		const struct syaml_node *note = map_find(item, "note", NULL);
		if (note != NULL &&
		    (rc = get_text(ld, note, "note", "a sentence shown with the step", &step->note)) < 0)
			return rc;
	}
	return step_kinds[kind].parse(ld, step, key, value);
}

/* ---- The header: name, teaches, profile, target, options ----------------------------------------- */

static const char *const profile_names[SCENARIO_PROFILE_COUNT + 1] = {
    [SCENARIO_PROFILE_EXT4_ORDERED] = "ext4-ordered",
    [SCENARIO_PROFILE_EXT4_DATA] = "ext4-data",
    [SCENARIO_PROFILE_XFS] = "xfs",
    [SCENARIO_PROFILE_BTRFS] = "btrfs",
    [SCENARIO_PROFILE_KEEP_DIRTY] = "keep-dirty",
    [SCENARIO_PROFILE_COUNT] = NULL,
};

static const char *const target_names[SCENARIO_TARGET_COUNT + 1] = {
    [SCENARIO_TARGET_WAL] = "wal",   [SCENARIO_TARGET_TABLE] = "table", [SCENARIO_TARGET_FILE] = "file",
    [SCENARIO_TARGET_EXEC] = "exec", [SCENARIO_TARGET_COUNT] = NULL,
};

/* get_enum - one of NAMES (NULL-terminated). */
static int get_enum(struct loader *ld, const struct syaml_node *node, const char *what,
                    const char *const *names, int *out)
{
	char list[256];
	if (is_scalar_text(node)) {
		for (int i = 0; names[i] != NULL; i++) {
			if (strcmp(node->text, names[i]) == 0) {
				*out = i;
				return 0;
			}
		}
		return fail(ld, node, "unknown %s '%s'; expected one of: %s", what, node->text,
		            join_words(names, list, sizeof(list)));
	}
	return fail(ld, node, "%s must be a word, got %s; expected one of: %s", what, syaml_type_name(node),
	            join_words(names, list, sizeof(list)));
}

static int parse_options(struct loader *ld, const struct syaml_node *key, const struct syaml_node *map)
{
	static const char *const keys[] = {"sync",      "sync_error",     "seed",        "block_size",
	                                   "writeback", "legacy_errors",  "record_size", "timeout",
	                                   "namespace", "sync_directory", NULL};
	static const char sync_form[] = "always, os, or batch:WINDOW such as batch:5ms";
	struct scenario_options *o = &ld->sc->options;
	const struct syaml_node *v;
	uint64_t u = 0;
	int rc;
	o->pos = pos_of(ld, key);
	if (map->type != SYAML_MAP)
		return fail(ld, map,
		            "options must be a mapping, got %s; expected options: {sync: POLICY, sync_error: "
		            "panic|retry, seed: N, ...}",
		            syaml_type_name(map));
	if ((rc = check_keys(ld, map, keys, "options")) < 0)
		return rc;
	if ((v = map_find(map, "sync", NULL)) != NULL) {
		if (!is_scalar_text(v))
			return fail(ld, v, "sync must be a policy, got %s; expected %s", syaml_type_name(v),
			            sync_form);
		if (strcmp(v->text, "always") == 0) {
			o->sync = SCENARIO_SYNC_ALWAYS;
		} else if (strcmp(v->text, "os") == 0) {
			o->sync = SCENARIO_SYNC_OS;
		} else if (strncmp(v->text, "batch:", 6) == 0) {
			o->sync = SCENARIO_SYNC_BATCH;
			if (duration_parse(v->text + 6, 0, &o->batch_window_ns) < 0 ||
			    o->batch_window_ns <= 0)
				return fail(ld, v, "invalid batch window '%s'; expected %s", v->text + 6,
				            sync_form);
		} else {
			return fail(ld, v, "unknown sync policy '%s'; expected %s", v->text, sync_form);
		}
	}
	if ((v = map_find(map, "sync_error", NULL)) != NULL) {
		static const char *const names[] = {"panic", "retry", NULL};
		int e = 0;
		if ((rc = get_enum(ld, v, "sync_error policy", names, &e)) < 0)
			return rc;
		o->sync_error = (enum scenario_sync_error)e;
	}
	if ((v = map_find(map, "seed", NULL)) != NULL &&
	    (rc = get_uint(ld, v, "seed", 0, INT64_MAX, &o->seed)) < 0)
		return rc;
	if ((v = map_find(map, "block_size", NULL)) != NULL) {
		if ((rc = get_uint(ld, v, "block_size", 512, 65536, &u)) < 0)
			return rc;
		if ((u & (u - 1)) != 0)
			return fail(ld, v,
			            "block_size %llu is not a power of two; expected 512, 1024, 2048, 4096, "
			            "... 65536",
			            (unsigned long long)u);
		o->block_size = (uint32_t)u;
	}
	if ((v = map_find(map, "writeback", NULL)) != NULL &&
	    (rc = get_duration(ld, v, "writeback", true, &o->writeback_ns)) < 0)
		return rc;
	if ((v = map_find(map, "writeback", NULL)) != NULL && o->writeback_ns == 0)
		return fail(ld, v,
		            "writeback interval 0 would spin; expected a duration above zero, or never");
	if ((v = map_find(map, "legacy_errors", NULL)) != NULL &&
	    (rc = get_bool(ld, v, "legacy_errors", &o->legacy_errors)) < 0)
		return rc;
	if ((v = map_find(map, "record_size", NULL)) != NULL) {
		if ((rc = get_uint(ld, v, "record_size", 1, 16u << 20, &u)) < 0)
			return rc;
		o->record_size = (uint32_t)u;
	}
	if ((v = map_find(map, "namespace", NULL)) != NULL) {
		static const char *const names[] = {"profile", "posix", "durable", NULL};
		int e = 0;
		if ((rc = get_enum(ld, v, "namespace rule", names, &e)) < 0)
			return rc;
		o->namespace_posix = e == 1;
		o->namespace_durable = e == 2;
	}
	if ((v = map_find(map, "sync_directory", NULL)) != NULL &&
	    (rc = get_bool(ld, v, "sync_directory", &o->sync_directory)) < 0)
		return rc;
	if ((v = map_find(map, "timeout", NULL)) != NULL) {
		if ((rc = get_duration(ld, v, "timeout", false, &o->timeout_ns)) < 0)
			return rc;
		if (o->timeout_ns <= 0)
			return fail(ld, v, "timeout must be above zero; expected a duration such as 30s");
	}
	return 0;
}

static void options_default(struct scenario_options *o)
{
	memset(o, 0, sizeof(*o));
	o->sync = SCENARIO_SYNC_ALWAYS;
	o->sync_error = SCENARIO_SYNC_ERROR_PANIC;
	o->seed = 1;
	o->block_size = 4096;
	o->writeback_ns = 30LL * 1000000000LL;
	o->legacy_errors = false;
	o->record_size = 128;
	o->sync_directory = true;
	o->timeout_ns = 60LL * 1000000000LL;
}

static const char *const backend_names[SCENARIO_BACKEND_COUNT + 1] = {
    [SCENARIO_BACKEND_EMULATED] = "emulated",
    [SCENARIO_BACKEND_KERNEL] = "kernel",
    [SCENARIO_BACKEND_DM] = "dm",
    [SCENARIO_BACKEND_COUNT] = NULL,
};

static const char *const kernel_fs_names[] = {"ext4", "xfs", "btrfs", NULL};

/* parse_backend - backend, fs, mkfs, mount_options (all optional; see scenario_kernel). */
static int parse_backend(struct loader *ld, const struct syaml_node *root)
{
	struct scenario_kernel *k = &ld->sc->kernel;
	const struct syaml_node *v, *key = NULL;
	int e = 0, rc;
	k->backend = SCENARIO_BACKEND_EMULATED;
	k->fs = -1;
	if ((v = map_find(root, "backend", &key)) != NULL) {
		k->pos = pos_of(ld, key);
		if ((rc = get_enum(ld, v, "backend", backend_names, &e)) < 0)
			return rc;
		k->backend = (enum scenario_backend)e;
	}
	const struct syaml_node *fs = map_find(root, "fs", NULL);
	if (k->backend == SCENARIO_BACKEND_EMULATED) {
		static const char *const kernel_only[] = {"fs", "mkfs", "mount_options", NULL};
		for (size_t i = 0; kernel_only[i] != NULL; i++)
			if ((v = map_find(root, kernel_only[i], &key)) != NULL)
				return fail(
				    ld, key,
				    "'%s' applies to a real kernel filesystem; expected backend: kernel (or "
				    "dm) before it",
				    kernel_only[i]);
		return 0;
	}
	if (fs == NULL)
		return fail(ld, root, "backend %s needs 'fs'; expected fs: ext4 (or xfs, btrfs)",
		            backend_names[k->backend]);
	if ((rc = get_enum(ld, fs, "fs", kernel_fs_names, &e)) < 0)
		return rc;
	k->fs = e;
	if ((v = map_find(root, "mkfs", NULL)) != NULL &&
	    (rc = get_text(ld, v, "mkfs", "extra mkfs arguments such as \"-O ^metadata_csum\"",
	                   &k->mkfs_options)) < 0)
		return rc;
	if ((v = map_find(root, "mount_options", NULL)) != NULL &&
	    (rc = get_text(ld, v, "mount_options", "mount options such as data=journal", &k->mount_options)) <
	        0)
		return rc;
	return 0;
}

static int parse_document(struct loader *ld, const struct syaml_node *root)
{
	static const char *const keys[] = {"name",          "teaches", "profile", "target",
	                                   "options",       "steps",   "backend", "fs",
	                                   "mount_options", "mkfs",    NULL};
	static const char doc_form[] =
	    "a mapping with name, teaches, profile, target, options (optional) and steps";
	struct scenario *sc = ld->sc;
	const struct syaml_node *v;
	const struct syaml_node *k = NULL;
	int e = 0;
	int rc;

	if (root == NULL || syaml_is_null(root))
		return fail(ld, root, "the file is empty; expected %s", doc_form);
	if (root->type != SYAML_MAP)
		return fail(ld, root, "a scenario must be a mapping, got %s; expected %s",
		            syaml_type_name(root), doc_form);
	sc->pos = pos_of(ld, root);
	if ((rc = check_keys(ld, root, keys, "a scenario")) < 0)
		return rc;

	if ((v = map_find(root, "name", NULL)) == NULL)
		return fail(ld, root, "missing 'name'; expected name: a-short-name");
	if (!is_scalar_text(v) || !is_name(v->text) || strchr(v->text, '_') != NULL)
		return fail(
		    ld, v,
		    "name must be a short name, got %s%s%s; expected lower-case letters, digits and '-'",
		    is_scalar_text(v) ? "'" : "", is_scalar_text(v) ? v->text : syaml_type_name(v),
		    is_scalar_text(v) ? "'" : "");
	if ((sc->name = strdup(v->text)) == NULL)
		return oom(ld);
	options_default(&sc->options);
	sc->options.pos = pos_of(ld, v);

	if ((v = map_find(root, "teaches", NULL)) == NULL)
		return fail(ld, root,
		            "missing 'teaches'; expected teaches: one paragraph on what this story shows");
	if ((rc = get_text(ld, v, "teaches", "one paragraph on what this story shows", &sc->teaches)) < 0)
		return rc;

	if ((v = map_find(root, "profile", NULL)) == NULL)
		return fail(ld, root,
		            "missing 'profile'; expected profile: ext4-ordered (or ext4-data, xfs, btrfs, "
		            "keep-dirty)");
	if ((rc = get_enum(ld, v, "profile", profile_names, &e)) < 0)
		return rc;
	sc->profile = (enum scenario_profile)e;

	if ((v = map_find(root, "target", NULL)) == NULL)
		return fail(ld, root, "missing 'target'; expected target: wal (or table, file, exec)");
	if ((rc = get_enum(ld, v, "target", target_names, &e)) < 0)
		return rc;
	sc->target = (enum scenario_target)e;

	sc->kernel.pos = pos_of(ld, root);
	if ((rc = parse_backend(ld, root)) < 0)
		return rc;

	/* options before steps: step defaults (record size, block size, seed) come from them */
	if ((v = map_find(root, "options", &k)) != NULL && !syaml_is_null(v) &&
	    (rc = parse_options(ld, k, v)) < 0)
		return rc;

	if ((v = map_find(root, "steps", &k)) == NULL)
		return fail(ld, root, "missing 'steps'; expected steps: a list such as - append: 10");
	if (v->type != SYAML_SEQ || v->count == 0)
		return fail(ld, v->type == SYAML_SEQ || syaml_is_null(v) ? k : v,
		            "steps must be a non-empty list, got %s; expected steps: followed by items such "
		            "as - reboot",
		            v->type == SYAML_SEQ ? "an empty list" : syaml_type_name(v));
	sc->steps = calloc(v->count, sizeof(*sc->steps));
	if (sc->steps == NULL)
		return oom(ld);
	for (size_t i = 0; i < v->count; i++) {
		sc->step_count = i + 1; /* so that scenario_free frees what the failing step allocated */
		if ((rc = parse_step(ld, v->values[i], &sc->steps[i])) < 0)
			return rc;
	}
	return 0;
}

/* ---- Public entry points -------------------------------------------------------------------------- */

int scenario_load_string(const char *path, const char *text, size_t len, struct scenario **out, char *errbuf,
                         size_t errlen)
{
	struct syaml_node *root = NULL;
	int rc;

	*out = NULL;
	if (errlen > 0)
		errbuf[0] = '\0';
	struct scenario *sc = calloc(1, sizeof(*sc));
	if (sc == NULL || (sc->path = strdup(path)) == NULL) {
		free(sc);
		if (errlen > 0)
			snprintf(errbuf, errlen, "%s: out of memory", path);
		return -ENOMEM;
	}
	options_default(&sc->options);
	struct loader ld = {.sc = sc, .errbuf = errbuf, .errlen = errlen};

	rc = syaml_parse(sc->path, text, len, &root, errbuf, errlen);
	if (rc == 0)
		rc = parse_document(&ld, root);
	syaml_free(root);
	if (rc < 0) {
		scenario_free(sc);
		return rc;
	}
	*out = sc;
	return 0;
}

int scenario_load_file(const char *path, struct scenario **out, char *errbuf, size_t errlen)
{
	*out = NULL;
	FILE *fp = fopen(path, "rb");
	if (fp == NULL) {
		int err = errno;
		snprintf(errbuf, errlen, "%s: %s", path, strerror(err));
		return -err;
	}
	char *text = NULL;
	size_t len = 0, cap = 0;
	int rc = 0;
	for (;;) {
		if (len == cap) {
			if (cap >= (16u << 20)) {
				snprintf(errbuf, errlen, "%s: larger than 16 MiB; expected a scenario file",
				         path);
				rc = -EFBIG;
				break;
			}
			cap = cap ? cap * 2 : 8192;
			char *bigger = realloc(text, cap);
			if (bigger == NULL) {
				snprintf(errbuf, errlen, "%s: out of memory", path);
				rc = -ENOMEM;
				break;
			}
			text = bigger;
		}
		size_t n = fread(text + len, 1, cap - len, fp);
		len += n;
		if (n == 0) {
			if (ferror(fp)) {
				snprintf(errbuf, errlen, "%s: read error", path);
				rc = -EIO;
			}
			break;
		}
	}
	if (fclose(fp) != 0 && rc == 0) {
		int err = errno;
		snprintf(errbuf, errlen, "%s: %s", path, strerror(err));
		rc = -err;
	}
	if (rc == 0)
		rc = scenario_load_string(path, text ? text : "", len, out, errbuf, errlen);
	free(text);
	return rc;
}

void scenario_free(struct scenario *sc)
{
	if (sc == NULL)
		return;
	for (size_t i = 0; i < sc->step_count; i++) {
		struct scenario_step *step = &sc->steps[i];
		if (step->kind < SCENARIO_STEP_COUNT)
			step_kinds[step->kind].free(step);
		free(step->note);
	}
	free(sc->steps);
	free(sc->name);
	free(sc->teaches);
	free(sc->kernel.mkfs_options);
	free(sc->kernel.mount_options);
	free(sc->path);
	free(sc);
}

const char *scenario_backend_name(enum scenario_backend backend)
{
	return (unsigned)backend < SCENARIO_BACKEND_COUNT ? backend_names[backend] : "?";
}

/* ---- Names and formatting ----------------------------------------------------------------------- */

bool scenario_cmp_holds(const struct scenario_cmp *cmp, int64_t observed)
{
	switch (cmp->op) {
	case SCENARIO_CMP_EQ:
		return observed == cmp->value;
	case SCENARIO_CMP_LE:
		return observed <= cmp->value;
	case SCENARIO_CMP_GE:
		return observed >= cmp->value;
	case SCENARIO_CMP_LT:
		return observed < cmp->value;
	case SCENARIO_CMP_GT:
		return observed > cmp->value;
	}
	return false;
}

bool scenario_cmp_holds_window(const struct scenario_cmp *cmp, int64_t observed, int64_t slack_ns)
{
	if (!cmp->window)
		return scenario_cmp_holds(cmp, observed);
	struct scenario_cmp widened = *cmp;
	if (slack_ns > 0)
		widened.value = cmp->value > INT64_MAX - slack_ns ? INT64_MAX : cmp->value + slack_ns;
	return scenario_cmp_holds(&widened, observed);
}

const char *scenario_profile_name(enum scenario_profile profile)
{
	return (unsigned)profile < SCENARIO_PROFILE_COUNT ? profile_names[profile] : "?";
}

const char *scenario_target_name(enum scenario_target target)
{
	return (unsigned)target < SCENARIO_TARGET_COUNT ? target_names[target] : "?";
}

const char *scenario_step_kind_name(enum scenario_step_kind kind)
{
	return (unsigned)kind < SCENARIO_STEP_COUNT ? step_kinds[kind].name : "?";
}

const char *scenario_metric_name(enum scenario_metric metric)
{
	return (unsigned)metric < SCENARIO_METRIC_COUNT ? metric_table[metric].name : "?";
}

const char *scenario_fs_state_name(enum scenario_fs_state state)
{
	return (unsigned)state <= SCENARIO_FS_SHUTDOWN ? fs_state_names[state] : "?";
}

const char *scenario_cmp_op_name(enum scenario_cmp_op op)
{
	static const char *const names[] = {"==", "<=", ">=", "<", ">"};
	return (unsigned)op < sizeof(names) / sizeof(names[0]) ? names[op] : "?";
}

bool scenario_metric_is_duration(enum scenario_metric metric)
{
	return (unsigned)metric < SCENARIO_METRIC_COUNT && metric_table[metric].unit == CMP_DURATION;
}

bool scenario_metric_is_bool(enum scenario_metric metric)
{
	return (unsigned)metric < SCENARIO_METRIC_COUNT && metric_table[metric].unit == CMP_BOOL;
}

void scenario_sync_format(const struct scenario_options *options, char *buf, size_t len)
{
	char window[32];
	switch (options->sync) {
	case SCENARIO_SYNC_ALWAYS:
		snprintf(buf, len, "always");
		return;
	case SCENARIO_SYNC_OS:
		snprintf(buf, len, "os");
		return;
	case SCENARIO_SYNC_BATCH:
		duration_format(options->batch_window_ns, window, sizeof(window));
		snprintf(buf, len, "batch:%s", window);
		return;
	}
	snprintf(buf, len, "?");
}

void scenario_result_format(const struct scenario_result *result, char *buf, size_t len)
{
	static const char *const names[] = {[SCENARIO_RESULT_OK] = "ok",
	                                    [SCENARIO_RESULT_ERRNO] = "errno",
	                                    [SCENARIO_RESULT_ERROR] = "error",
	                                    [SCENARIO_RESULT_PANIC] = "panic",
	                                    [SCENARIO_RESULT_ANY] = "any"};
	if (result->kind == SCENARIO_RESULT_ERRNO)
		snprintf(buf, len, "%s", errname_str(result->err));
	else if ((unsigned)result->kind <= SCENARIO_RESULT_ANY)
		snprintf(buf, len, "%s", names[result->kind]);
	else
		snprintf(buf, len, "?");
}

void scenario_cmp_format(const struct scenario_cmp *cmp, bool is_duration, char *buf, size_t len)
{
	char value[32];
	if (is_duration && cmp->window) {
		duration_format(cmp->value, value, sizeof(value));
		snprintf(buf, len, "%s window (%s + the longest fsync)", scenario_cmp_op_name(cmp->op),
		         value);
		return;
	}
	if (is_duration)
		duration_format(cmp->value, value, sizeof(value));
	else
		snprintf(value, sizeof(value), "%lld", (long long)cmp->value);
	snprintf(buf, len, "%s %s", scenario_cmp_op_name(cmp->op), value);
}

/* ---- Catalogues ---------------------------------------------------------------------------------- */

static int path_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_yaml_suffix(const char *name)
{
	size_t n = strlen(name);
	return (n > 5 && strcmp(name + n - 5, ".yaml") == 0) || (n > 4 && strcmp(name + n - 4, ".yml") == 0);
}

/* list_push - append a copy of PATH; returns 0 or -ENOMEM. */
static int list_push(char ***paths, size_t *count, size_t *cap, char *path)
{
	if (*count == *cap) {
		size_t ncap = *cap ? *cap * 2 : 32;
		char **bigger = realloc(*paths, ncap * sizeof(*bigger));
		if (bigger == NULL)
			return -ENOMEM;
		*paths = bigger;
		*cap = ncap;
	}
	(*paths)[(*count)++] = path;
	return 0;
}

/* list_dir - files of DIR sorted, then (recursive) each subfolder sorted, depth-first. */
static int list_dir(const char *dir, bool recursive, int depth, char ***paths, size_t *count, size_t *cap,
                    char *errbuf, size_t errlen)
{
	DIR *d = opendir(dir);
	if (d == NULL) {
		int err = errno;
		snprintf(errbuf, errlen, "%s: %s", dir, strerror(err));
		return -err;
	}
	char **files = NULL, **subdirs = NULL;
	size_t nfiles = 0, capfiles = 0, nsub = 0, capsub = 0;
	int rc = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		char *full = NULL;
		if (asprintf(&full, "%s/%s", dir, de->d_name) < 0) {
			rc = -ENOMEM;
			break;
		}
		struct stat st;
		if (stat(full, &st) != 0) { /* a dangling link: not a scenario */
			free(full);
			continue;
		}
		if (S_ISREG(st.st_mode) && has_yaml_suffix(de->d_name))
			rc = list_push(&files, &nfiles, &capfiles, full);
		else if (S_ISDIR(st.st_mode) && recursive && depth < 8)
			rc = list_push(&subdirs, &nsub, &capsub, full);
		else
			free(full);
		if (rc < 0) {
			free(full);
			break;
		}
	}
	if (closedir(d) != 0 && rc == 0)
		rc = -errno;
	if (files != NULL)
		qsort(files, nfiles, sizeof(*files), path_cmp);
	if (subdirs != NULL)
		qsort(subdirs, nsub, sizeof(*subdirs), path_cmp);
	for (size_t i = 0; i < nfiles; i++) {
		if (rc == 0 && (rc = list_push(paths, count, cap, files[i])) == 0)
			continue;
		free(files[i]);
	}
	for (size_t i = 0; i < nsub; i++) {
		if (rc == 0)
			rc = list_dir(subdirs[i], recursive, depth + 1, paths, count, cap, errbuf, errlen);
		free(subdirs[i]);
	}
	free(files);
	free(subdirs);
	if (rc == -ENOMEM && errlen > 0 && errbuf[0] == '\0')
		snprintf(errbuf, errlen, "%s: out of memory", dir);
	return rc;
}

int scenario_list_dir(const char *dir, bool recursive, char ***paths, size_t *count, char *errbuf,
                      size_t errlen)
{
	size_t cap = 0;
	*paths = NULL;
	*count = 0;
	if (errlen > 0)
		errbuf[0] = '\0';
	int rc = list_dir(dir, recursive, 0, paths, count, &cap, errbuf, errlen);
	if (rc < 0) {
		scenario_list_free(*paths, *count);
		*paths = NULL;
		*count = 0;
	}
	return rc;
}

void scenario_list_free(char **paths, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(paths[i]);
	free(paths);
}

const char *scenario_catalogue_dir(void)
{
	const char *env = getenv("FSYNCLAB_SCENARIOS");
	if (env != NULL && env[0] != '\0')
		return env;
#ifdef FSYNCLAB_SOURCE_SCENARIOS
	struct stat st;
	if (stat(FSYNCLAB_SOURCE_SCENARIOS, &st) == 0 && S_ISDIR(st.st_mode))
		return FSYNCLAB_SOURCE_SCENARIOS;
#endif
#ifdef FSYNCLAB_INSTALLED_SCENARIOS
	return FSYNCLAB_INSTALLED_SCENARIOS;
#else
	return "scenarios";
#endif
}
