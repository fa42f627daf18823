/*
 * control_client.c — talks to the control socket of a mounted fsynclab filesystem (see
 * control_client.h for the calls, fusefs/control.h for the protocol), and turns `fsynclab inject`
 * options into a rule object.
 *
 * One request per connection: connect, send one line, read one line, close. Everything runs
 * against one deadline, so a daemon that accepts and then hangs cannot hang the caller.
 */
#include "control_client.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "duration.h"
#include "errname.h"
#include "faults.h"

#define CONTROL_CLIENT_MAX_ANSWER (64u << 20) /* longest answer accepted, bytes */

static void client_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void client_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (err == NULL || errlen == 0)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---- One exchange ---- */

static int64_t client_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until FD is ready for EVENTS or DEADLINE passes. Returns 0, -ETIMEDOUT or -errno. */
static int client_wait(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - client_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		struct pollfd pfd = {.fd = fd, .events = events};
		int n = poll(&pfd, 1, left > INT_MAX ? INT_MAX : (int)left);
		if (n > 0)
			return 0;
		if (n == 0)
			return -ETIMEDOUT;
		if (errno != EINTR)
			return -errno;
	}
}

/* Connect to the socket of MNT. Returns the fd or -errno (message in err). */
static int client_connect(const char *mnt, char *err, size_t errlen)
{
	char sock[PATH_MAX], pidfile[PATH_MAX];
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	int rc = control_socket_path(mnt, sock, sizeof(sock), pidfile, sizeof(pidfile));

	if (rc == -ENOENT || rc == -ENOTDIR) {
		client_err(err, errlen, "no fsynclab daemon for %s (its parent directory does not exist)",
		           mnt);
		return rc;
	}
	if (rc < 0) {
		client_err(err, errlen, "cannot find the control socket of %s: %s", mnt, strerror(-rc));
		return rc;
	}
	size_t n = strlen(sock);
	if (n >= sizeof(sun.sun_path)) {
		client_err(err, errlen, "control socket path too long: %s", sock);
		return -ENAMETOOLONG;
	}
	memcpy(sun.sun_path, sock, n + 1);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		rc = -errno;
		client_err(err, errlen, "socket: %s", strerror(errno));
		return rc;
	}
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) < 0) {
		rc = -errno;
		if (rc == -ENOENT || rc == -ECONNREFUSED)
			client_err(err, errlen, "no fsynclab daemon for %s", mnt);
		else if (rc == -EAGAIN)
			client_err(err, errlen, "the fsynclab daemon for %s is too busy to accept", mnt);
		else
			client_err(err, errlen, "cannot reach the fsynclab daemon for %s: %s", mnt,
			           strerror(-rc));
		if (close(fd) < 0)
			perror("fsynclab: close");
		return rc;
	}
	return fd;
}

/* Send all of BUF before DEADLINE. Returns 0 or -errno. */
static int client_send_all(int fd, const char *buf, size_t len, int64_t deadline)
{
	while (len > 0) {
		ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				int rc = client_wait(fd, POLLOUT, deadline);
				if (rc < 0)
					return rc;
				continue;
			}
			return -errno;
		}
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Receive one line (without its '\n') into a malloc'd *line before DEADLINE. Returns 0 or -errno. */
static int client_recv_line(int fd, char **line, size_t *linelen, int64_t deadline)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int rc;

	for (;;) {
		if (cap - len < 4096) {
			size_t ncap = cap ? cap * 2 : 8192;
			char *nb = realloc(buf, ncap);
			if (nb == NULL) {
				rc = -ENOMEM;
				goto out_err;
			}
			buf = nb;
			cap = ncap;
		}
		ssize_t n = recv(fd, buf + len, cap - len - 1, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EAGAIN || errno == EWOULDBLOCK) {
				if ((rc = client_wait(fd, POLLIN, deadline)) < 0)
					goto out_err;
				continue;
			}
			rc = -errno;
			goto out_err;
		}
		if (n == 0) {
			rc = -ECONNRESET;
			goto out_err;
		}
		char *nl = memchr(buf + len, '\n', (size_t)n);
		len += (size_t)n;
		if (nl != NULL) {
			*nl = '\0';
			*line = buf;
			*linelen = (size_t)(nl - buf);
			return 0;
		}
		if (len > CONTROL_CLIENT_MAX_ANSWER) {
			rc = -E2BIG;
			goto out_err;
		}
	}
out_err:
	free(buf);
	return rc;
}

int control_client_request(const char *mnt, json_t *req, int timeout_ms, json_t **resp, char *err,
                           size_t errlen)
{
	char *text = NULL, *line = NULL;
	size_t linelen = 0;
	json_error_t jerr;
	int rc;

	*resp = NULL;
	if (timeout_ms <= 0)
		timeout_ms = CONTROL_CLIENT_TIMEOUT_MS;
	int64_t deadline = client_now_ms() + timeout_ms;
	int fd = client_connect(mnt, err, errlen);
	if (fd < 0)
		return fd;
	text = json_dumps(req, JSON_COMPACT);
	if (text == NULL) {
		rc = -ENOMEM;
		client_err(err, errlen, "out of memory");
		goto out;
	}
	size_t n = strlen(text);
	text[n] = '\n'; /* json_dumps' NUL becomes the line end; length n + 1 */
	rc = client_send_all(fd, text, n + 1, deadline);
	if (rc == 0)
		rc = client_recv_line(fd, &line, &linelen, deadline);
	if (rc == -ETIMEDOUT) {
		client_err(err, errlen, "the fsynclab daemon for %s did not answer within %d ms", mnt,
		           timeout_ms);
		goto out;
	}
	if (rc == -ECONNRESET || rc == -EPIPE) {
		client_err(err, errlen, "the fsynclab daemon for %s closed the connection without answering",
		           mnt);
		goto out;
	}
	if (rc < 0) {
		client_err(err, errlen, "talking to the fsynclab daemon for %s: %s", mnt, strerror(-rc));
		goto out;
	}
	json_t *answer = json_loadb(line, linelen, 0, &jerr);
	if (!json_is_object(answer)) {
		json_decref(answer);
		rc = -EPROTO;
		client_err(err, errlen,
		           "the fsynclab daemon for %s answered something that is not a JSON object", mnt);
		goto out;
	}
	if (!json_is_true(json_object_get(answer, "ok"))) {
		const char *why = json_string_value(json_object_get(answer, "error"));
		int e = errname_parse(json_string_value(json_object_get(answer, "errno")));
		rc = e > 0 ? -e : -EIO;
		client_err(err, errlen, "%s", why ? why : "the daemon refused without a reason");
		json_decref(answer);
		goto out;
	}
	*resp = answer;
	rc = 0;
out:
	free(line);
	if (text != NULL)
		text[n] = '\0';
	free(text);
	if (close(fd) < 0)
		perror("fsynclab: close");
	return rc;
}

/* Send {"cmd":CMD} (plus KEY:VALUE when KEY is given; VALUE consumed) and drop the answer. */
static int client_simple(const char *mnt, const char *cmd, int timeout_ms, json_t **answer, char *err,
                         size_t errlen)
{
	json_t *req = json_pack("{s:s}", "cmd", cmd), *resp = NULL;
	if (req == NULL) {
		client_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	int rc = control_client_request(mnt, req, timeout_ms, &resp, err, errlen);
	json_decref(req);
	if (answer != NULL)
		*answer = resp;
	else
		json_decref(resp);
	return rc;
}

int control_client_ping(const char *mnt, json_t **info, char *err, size_t errlen)
{
	if (info != NULL)
		*info = NULL;
	return client_simple(mnt, "ping", 0, info, err, errlen);
}

int64_t control_client_inject(const char *mnt, json_t *rule, char *err, size_t errlen)
{
	json_t *resp = NULL, *req = json_pack("{s:s,s:O}", "cmd", "inject", "rule", rule);
	if (req == NULL) {
		client_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	int rc = control_client_request(mnt, req, 0, &resp, err, errlen);
	json_decref(req);
	if (rc < 0)
		return rc;
	json_t *id = json_object_get(resp, "id");
	int64_t out =
	    json_is_integer(id) && json_integer_value(id) > 0 ? (int64_t)json_integer_value(id) : -EPROTO;
	if (out < 0)
		client_err(err, errlen, "the daemon armed the rule but sent no id");
	json_decref(resp);
	return out;
}

int control_client_clear(const char *mnt, uint64_t id, char *err, size_t errlen)
{
	json_t *resp = NULL, *req = json_pack("{s:s}", "cmd", "clear");
	if (req == NULL || (id != 0 && json_object_set_new(req, "id", json_integer((json_int_t)id)) < 0)) {
		json_decref(req);
		client_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	int rc = control_client_request(mnt, req, 0, &resp, err, errlen);
	json_decref(req);
	json_decref(resp);
	return rc;
}

int control_client_status(const char *mnt, json_t **status, char *err, size_t errlen)
{
	json_t *resp = NULL;
	*status = NULL;
	int rc = client_simple(mnt, "status", 0, &resp, err, errlen);
	if (rc < 0)
		return rc;
	json_t *st = json_object_get(resp, "status");
	if (!json_is_object(st)) {
		json_decref(resp);
		client_err(err, errlen, "the daemon's status answer has no status object");
		return -EPROTO;
	}
	*status = json_incref(st);
	json_decref(resp);
	return 0;
}

int control_client_reboot(const char *mnt, char *err, size_t errlen)
{
	return client_simple(mnt, "reboot", CONTROL_CLIENT_LONG_TIMEOUT_MS, NULL, err, errlen);
}

int control_client_sync(const char *mnt, char *err, size_t errlen)
{
	return client_simple(mnt, "sync", CONTROL_CLIENT_LONG_TIMEOUT_MS, NULL, err, errlen);
}

/* ---- `fsynclab inject` options -> rule ---- */

const char *control_client_inject_usage(void)
{
	return "fsynclab inject MNT --op OP [--path GLOB] [--block N | --blocks A-B | --offset X --length "
	       "L]\n"
	       "                (--errno NAME | --effect corrupt|torn|lost|misdirected|delay:DURATION)\n"
	       "                [--times N] [--after N] [--nth N] [--sequence PATTERN] [--probability P "
	       "--seed S]\n"
	       "  OP: write read fsync fdatasync writeback journal open create rename unlink truncate "
	       "fallocate mkdir\n"
	       "  --blocks A-B is inclusive; --sequence: w pass once, x fail once, a final W/X repeats "
	       "forever\n"
	       "  prints the new rule's id once the rule is armed\n";
}

/* Parse an unsigned integer with an optional binary suffix (k, m, g). Returns 0 or -EINVAL. */
static int client_parse_u64(const char *s, bool allow_suffix, uint64_t *out)
{
	char *end;
	if (s == NULL || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0)
		return -EINVAL;
	uint64_t mult = 1;
	if (allow_suffix && *end != '\0' && end[1] == '\0') {
		switch (*end) {
		case 'k':
		case 'K':
			mult = 1ull << 10;
			break;
		case 'm':
		case 'M':
			mult = 1ull << 20;
			break;
		case 'g':
		case 'G':
			mult = 1ull << 30;
			break;
		default:
			return -EINVAL;
		}
		end++;
	}
	if (*end != '\0' || v > INT64_MAX / mult)
		return -EINVAL;
	*out = v * mult;
	return 0;
}

/* The options of `fsynclab inject`, each with its rule key. */
enum client_opt_kind { OPT_STRING, OPT_UINT, OPT_SIZE, OPT_BLOCKS, OPT_ERRNO, OPT_EFFECT, OPT_PROB };

struct client_opt {
	const char *name; /* without "--" */
	const char *key;  /* rule key */
	enum client_opt_kind kind;
};

static const struct client_opt client_opts[] = {
    {"op", "op", OPT_STRING},
    {"path", "path", OPT_STRING},
    {"block", "block", OPT_UINT},
    {"blocks", "blocks", OPT_BLOCKS},
    {"offset", "offset", OPT_SIZE},
    {"length", "length", OPT_SIZE},
    {"errno", "errno", OPT_ERRNO},
    {"effect", "effect", OPT_EFFECT},
    {"times", "times", OPT_UINT},
    {"after", "after", OPT_UINT},
    {"nth", "nth", OPT_UINT},
    {"sequence", "sequence", OPT_STRING},
    {"probability", "probability", OPT_PROB},
    {"seed", "seed", OPT_UINT},
};

/* Set rule[key] from VALUE per KIND. Returns 0 or -EINVAL with a message naming VALUE. */
static int client_opt_apply(json_t *rule, const struct client_opt *opt, const char *value, char *err,
                            size_t errlen)
{
	uint64_t a, b;
	json_t *v = NULL;

	switch (opt->kind) {
	case OPT_STRING:
		if (*value == '\0') {
			client_err(err, errlen, "empty value for --%s", opt->name);
			return -EINVAL;
		}
		if (strcmp(opt->key, "op") == 0 && fault_op_parse(value) < 0) {
			client_err(err, errlen,
			           "unknown op '%s' for --op (write, read, fsync, fdatasync, writeback, "
			           "journal, open, "
			           "create, rename, unlink, truncate, fallocate, mkdir)",
			           value);
			return -EINVAL;
		}
		v = json_string(value);
		break;
	case OPT_UINT:
	case OPT_SIZE:
		if (client_parse_u64(value, opt->kind == OPT_SIZE, &a) < 0) {
			client_err(err, errlen, "bad value '%s' for --%s: not a non-negative integer", value,
			           opt->name);
			return -EINVAL;
		}
		v = json_integer((json_int_t)a);
		break;
	case OPT_BLOCKS: {
		const char *dash = strchr(value, '-');
		char first[32];
		if (dash == NULL || (size_t)(dash - value) >= sizeof(first)) {
			client_err(err, errlen, "bad value '%s' for --blocks: expected A-B", value);
			return -EINVAL;
		}
		memcpy(first, value, (size_t)(dash - value));
		first[dash - value] = '\0';
		if (client_parse_u64(first, false, &a) < 0 || client_parse_u64(dash + 1, false, &b) < 0 ||
		    b < a) {
			client_err(err, errlen, "bad value '%s' for --blocks: expected A-B with A <= B",
			           value);
			return -EINVAL;
		}
		v = json_pack("[I,I]", (json_int_t)a, (json_int_t)b);
		break;
	}
	case OPT_ERRNO:
		if (errname_parse(value) <= 0) {
			client_err(err, errlen,
			           "unknown errno '%s' for --errno (e.g. EIO, ENOSPC, EDQUOT, EROFS)", value);
			return -EINVAL;
		}
		v = json_string(value);
		break;
	case OPT_EFFECT:
		if (strncmp(value, "delay:", 6) == 0) {
			int64_t ns;
			if (duration_parse(value + 6, 0, &ns) < 0 || ns <= 0) {
				client_err(err, errlen, "bad duration '%s' in --effect %s (e.g. delay:5ms)",
				           value + 6, value);
				return -EINVAL;
			}
			if (json_object_set_new(rule, "delay", json_string(value + 6)) < 0)
				return -ENOMEM;
			v = json_string("delay");
		} else if (strcmp(value, "corrupt") == 0 || strcmp(value, "torn") == 0 ||
		           strcmp(value, "lost") == 0 || strcmp(value, "misdirected") == 0) {
			v = json_string(value);
		} else {
			client_err(err, errlen,
			           "unknown effect '%s' for --effect (corrupt, torn, lost, misdirected, "
			           "delay:DURATION)",
			           value);
			return -EINVAL;
		}
		break;
	case OPT_PROB: {
		char *end;
		errno = 0;
		double p = strtod(value, &end);
		if (errno != 0 || end == value || *end != '\0' || !isfinite(p) || p < 0.0 || p > 1.0) {
			client_err(err, errlen,
			           "bad value '%s' for --probability: expected a number in [0, 1]", value);
			return -EINVAL;
		}
		v = json_real(p);
		break;
	}
	}
	if (v == NULL || json_object_set_new(rule, opt->key, v) < 0) {
		client_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	return 0;
}

int control_client_rule_from_argv(int argc, char **argv, json_t **out, char *err, size_t errlen)
{
	json_t *rule = json_object();
	int rc;

	*out = NULL;
	if (rule == NULL) {
		client_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (int i = 0; i < argc; i++) {
		const char *word = argv[i];
		if (strncmp(word, "--", 2) != 0) {
			client_err(err, errlen, "unexpected argument '%s'", word);
			rc = -EINVAL;
			goto out_err;
		}
		const char *eq = strchr(word, '=');
		size_t namelen = eq ? (size_t)(eq - word - 2) : strlen(word + 2);
		const struct client_opt *opt = NULL;
		for (size_t k = 0; k < sizeof(client_opts) / sizeof(client_opts[0]); k++)
			if (strlen(client_opts[k].name) == namelen &&
			    strncmp(word + 2, client_opts[k].name, namelen) == 0)
				opt = &client_opts[k];
		if (opt == NULL) {
			client_err(err, errlen, "unknown option '%.*s'", (int)(namelen + 2), word);
			rc = -EINVAL;
			goto out_err;
		}
		const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
		if (value == NULL) {
			client_err(err, errlen, "option '--%s' needs a value", opt->name);
			rc = -EINVAL;
			goto out_err;
		}
		if (json_object_get(rule, opt->key) != NULL ||
		    (opt->kind == OPT_EFFECT && json_object_get(rule, "delay"))) {
			client_err(err, errlen, "option '--%s' given twice", opt->name);
			rc = -EINVAL;
			goto out_err;
		}
		if ((rc = client_opt_apply(rule, opt, value, err, errlen)) < 0)
			goto out_err;
	}
	/* Conflicts, named by their options (the validator below names rule keys). */
	if (json_object_get(rule, "op") == NULL) {
		client_err(err, errlen, "missing '--op'");
		rc = -EINVAL;
		goto out_err;
	}
	const char *ranges[] = {"block", "blocks", "offset"};
	const char *first_range = NULL;
	for (size_t k = 0; k < 3; k++) {
		if (json_object_get(rule, ranges[k]) == NULL)
			continue;
		if (first_range != NULL) {
			client_err(err, errlen, "'--%s' and '--%s' both give a range: keep one", first_range,
			           ranges[k]);
			rc = -EINVAL;
			goto out_err;
		}
		first_range = ranges[k];
	}
	if ((json_object_get(rule, "offset") != NULL) != (json_object_get(rule, "length") != NULL)) {
		client_err(err, errlen, "'--%s' needs '--%s'",
		           json_object_get(rule, "offset") ? "offset" : "length",
		           json_object_get(rule, "offset") ? "length" : "offset");
		rc = -EINVAL;
		goto out_err;
	}
	if (json_object_get(rule, "errno") != NULL && json_object_get(rule, "effect") != NULL) {
		client_err(err, errlen, "'--errno' and '--effect' both give an effect: keep one");
		rc = -EINVAL;
		goto out_err;
	}
	if (json_object_get(rule, "errno") == NULL && json_object_get(rule, "effect") == NULL) {
		client_err(err, errlen, "missing '--errno NAME' or '--effect KIND'");
		rc = -EINVAL;
		goto out_err;
	}
	if (json_object_get(rule, "seed") != NULL && json_object_get(rule, "probability") == NULL) {
		client_err(err, errlen, "'--seed' goes with '--probability'");
		rc = -EINVAL;
		goto out_err;
	}
	char why[256] = "";
	if ((rc = fault_rule_validate_json(rule, why, sizeof(why))) < 0) {
		client_err(err, errlen, "invalid rule: %s", why);
		goto out_err;
	}
	*out = rule;
	return 0;
out_err:
	json_decref(rule);
	return rc;
}

/* ---- Describing a rule ---- */

/* Append to buf at *pos, never overflowing; a full buffer truncates silently. */
static void describe_add(char *buf, size_t len, size_t *pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void describe_add(char *buf, size_t len, size_t *pos, const char *fmt, ...)
{
	if (*pos >= len)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf + *pos, len - *pos, fmt, ap);
	va_end(ap);
	if (n > 0)
		*pos = (size_t)n >= len - *pos ? len - 1 : *pos + (size_t)n;
}

char *control_client_rule_describe(json_t *rule, char *buf, size_t len)
{
	size_t pos = 0;
	json_t *v;

	if (buf == NULL || len == 0)
		return buf;
	buf[0] = '\0';
	const char *op = json_string_value(json_object_get(rule, "op"));
	const char *path = json_string_value(json_object_get(rule, "path"));
	describe_add(buf, len, &pos, "%s %s", op ? op : "?", path ? path : "*");
	if (json_is_integer(v = json_object_get(rule, "block")))
		describe_add(buf, len, &pos, " block %" JSON_INTEGER_FORMAT, json_integer_value(v));
	if (json_is_array(v = json_object_get(rule, "blocks")))
		describe_add(buf, len, &pos, " blocks %" JSON_INTEGER_FORMAT "-%" JSON_INTEGER_FORMAT,
		             json_integer_value(json_array_get(v, 0)),
		             json_integer_value(json_array_get(v, 1)));
	if (json_is_integer(v = json_object_get(rule, "offset")))
		describe_add(buf, len, &pos, " bytes %" JSON_INTEGER_FORMAT "+%" JSON_INTEGER_FORMAT,
		             json_integer_value(v), json_integer_value(json_object_get(rule, "length")));
	const char *errname = json_string_value(json_object_get(rule, "errno"));
	const char *effect = json_string_value(json_object_get(rule, "effect"));
	const char *delay = json_string_value(json_object_get(rule, "delay"));
	if (errname != NULL)
		describe_add(buf, len, &pos, " -> %s", errname);
	else if (effect != NULL)
		describe_add(buf, len, &pos, " -> %s%s%s", effect, delay ? " " : "", delay ? delay : "");
	describe_add(buf, len, &pos, " [");
	size_t open = pos;
	const char *counters[] = {"after", "nth", "times"};
	for (size_t i = 0; i < 3; i++)
		if (json_is_integer(v = json_object_get(rule, counters[i])) && json_integer_value(v) != 0)
			describe_add(buf, len, &pos, "%s%s %" JSON_INTEGER_FORMAT, pos > open ? ", " : "",
			             counters[i], json_integer_value(v));
	if (json_is_string(v = json_object_get(rule, "sequence")))
		describe_add(buf, len, &pos, "%ssequence %s", pos > open ? ", " : "", json_string_value(v));
	if (json_is_number(v = json_object_get(rule, "probability"))) {
		describe_add(buf, len, &pos, "%sprobability %g", pos > open ? ", " : "",
		             json_number_value(v));
		json_t *seed = json_object_get(rule, "seed");
		describe_add(buf, len, &pos, " seed %" JSON_INTEGER_FORMAT,
		             json_is_integer(seed) ? json_integer_value(seed) : 0);
	}
	if (pos == open)
		describe_add(buf, len, &pos, "every match");
	describe_add(buf, len, &pos, "]");
	return buf;
}
