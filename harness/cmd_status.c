/*
 * cmd_status.c — `fsynclab status MNT [--json]`: what a mounted fsynclab filesystem holds right
 * now: its fault rules with match and hit counts, dirty and failed pages per file, the errors it
 * recorded, its state (ok, read-only, shutdown), the namespace operations a power cut would undo,
 * and the FUSE requests the kernel has sent (by opcode).
 *
 * --json prints the daemon's status object as is. Without it, a readable summary of whatever
 * fields are present: an older or newer daemon that omits or adds fields is shown, not refused.
 * Exit: 0, 1 no daemon / daemon error, 2 bad usage.
 */
#include "commands.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "control_client.h"

/* Print ARR of page numbers compactly ("0-3,7"); non-numbers are printed as JSON. */
static void status_print_pages(const char *label, json_t *arr)
{
	size_t n = json_array_size(arr);
	if (!json_is_array(arr))
		return;
	printf("    %s (%zu):", label, n);
	if (n == 0)
		printf(" none");
	for (size_t i = 0; i < n;) {
		json_t *v = json_array_get(arr, i);
		printf("%s", i ? "," : " ");
		if (!json_is_integer(v)) {
			char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
			printf("%s", text ? text : "?");
			free(text);
			i++;
			continue;
		}
		json_int_t first = json_integer_value(v), last = first;
		size_t j = i + 1;
		while (j < n && json_is_integer(json_array_get(arr, j)) &&
		       json_integer_value(json_array_get(arr, j)) == last + 1)
			last = json_integer_value(json_array_get(arr, j++));
		if (last > first)
			printf("%" JSON_INTEGER_FORMAT "-%" JSON_INTEGER_FORMAT, first, last);
		else
			printf("%" JSON_INTEGER_FORMAT, first);
		i = j;
	}
	printf("\n");
}

/* Print a JSON scalar as text (strings bare). */
static void status_print_scalar(json_t *v)
{
	if (json_is_string(v)) {
		printf("%s", json_string_value(v));
		return;
	}
	char *text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	printf("%s", text ? text : "?");
	free(text);
}

static void status_print_rules(json_t *rules)
{
	char line[512];
	if (!json_is_array(rules))
		return;
	printf("rules (%zu):\n", json_array_size(rules));
	if (json_array_size(rules) == 0)
		printf("  none\n");
	size_t i;
	json_t *rule;
	json_array_foreach(rules, i, rule)
	{
		json_t *id = json_object_get(rule, "id");
		printf("  #%-3" JSON_INTEGER_FORMAT " %s", json_integer_value(id),
		       control_client_rule_describe(rule, line, sizeof(line)));
		json_t *m = json_object_get(rule, "matches"), *h = json_object_get(rule, "hits");
		if (json_is_integer(m))
			printf("  matches %" JSON_INTEGER_FORMAT, json_integer_value(m));
		if (json_is_integer(h))
			printf("  hits %" JSON_INTEGER_FORMAT, json_integer_value(h));
		printf("\n");
	}
}

static void status_print_files(json_t *files)
{
	if (!json_is_array(files))
		return;
	printf("files with cached pages (%zu):\n", json_array_size(files));
	if (json_array_size(files) == 0)
		printf("  none\n");
	size_t i;
	json_t *f;
	json_array_foreach(files, i, f)
	{
		const char *path = json_string_value(json_object_get(f, "path"));
		printf("  %s", path ? path : "?");
		json_t *size = json_object_get(f, "size");
		if (json_is_integer(size))
			printf("  size %" JSON_INTEGER_FORMAT, json_integer_value(size));
		printf("\n");
		status_print_pages("dirty pages", json_object_get(f, "dirty_pages"));
		status_print_pages("failed pages", json_object_get(f, "failed_pages"));
	}
}

static void status_print_errors(json_t *errors)
{
	if (!json_is_array(errors))
		return;
	printf("recorded errors (%zu):\n", json_array_size(errors));
	if (json_array_size(errors) == 0)
		printf("  none\n");
	size_t i;
	json_t *e;
	json_array_foreach(errors, i, e)
	{
		const char *keys[] = {"path", "op", "errno", "block"};
		printf(" ");
		for (size_t k = 0; k < 4; k++) {
			json_t *v = json_object_get(e, keys[k]);
			if (v == NULL)
				continue;
			printf(" %s", k == 3 ? "block " : "");
			status_print_scalar(v);
		}
		/* anything else the daemon recorded about the error */
		const char *key;
		json_t *v;
		json_object_foreach(e, key, v)
		{
			if (strcmp(key, "path") && strcmp(key, "op") && strcmp(key, "errno") &&
			    strcmp(key, "block")) {
				printf(" %s=", key);
				status_print_scalar(v);
			}
		}
		printf("\n");
	}
}

/* The namespace operations a power cut would undo, oldest first, and the rule that commits them. */
static void status_print_namespace(json_t *ns)
{
	if (!json_is_object(ns))
		return;
	json_t *pending = json_object_get(ns, "pending");
	const char *rule = json_string_value(json_object_get(ns, "rule"));
	printf("pending namespace operations (%zu, committed by: %s):\n", json_array_size(pending),
	       rule ? rule : "?");
	if (json_array_size(pending) == 0)
		printf("  none\n");
	size_t i;
	json_t *op;
	json_array_foreach(pending, i, op)
	{
		const char *name = json_string_value(json_object_get(op, "op"));
		const char *path = json_string_value(json_object_get(op, "path"));
		const char *to = json_string_value(json_object_get(op, "to"));
		json_t *age = json_object_get(op, "age_ms");
		printf("  %s %s%s%s", name ? name : "?", path ? path : "?", to ? " -> " : "", to ? to : "");
		if (json_is_integer(age))
			printf("  (%lld ms ago)", (long long)json_integer_value(age));
		printf("\n");
	}
}

/* The FUSE requests the kernel has sent, most frequent first, and what was negotiated. */
static void status_print_fuse(json_t *fuse)
{
	json_t *req = json_object_get(fuse, "requests");
	const char *names[64];
	json_int_t counts[64];
	size_t n = 0;
	const char *key;
	json_t *v;

	if (!json_is_object(fuse))
		return;
	json_object_foreach(req, key, v)
	{
		if (n == 64 || !json_is_integer(v))
			continue;
		/* insertion by count, descending */
		size_t at = n++;
		while (at > 0 && counts[at - 1] < json_integer_value(v)) {
			names[at] = names[at - 1];
			counts[at] = counts[at - 1];
			at--;
		}
		names[at] = key;
		counts[at] = json_integer_value(v);
	}
	printf("FUSE requests from the kernel (KILLPRIV_V2 %s):\n ",
	       json_is_true(json_object_get(fuse, "killpriv_v2")) ? "on: no getxattr before each write"
	                                                          : "off");
	if (n == 0)
		printf(" none");
	for (size_t i = 0; i < n; i++)
		printf(" %s %lld%s", names[i], (long long)counts[i], i + 1 < n ? "," : "");
	printf("\n");
}

/* The summary: header fields first, then rules, files and errors, then any other field. */
static void status_print(json_t *st)
{
	static const char *const header[][2] = {
	    {"mountpoint", "mount point"}, {"backing", "backing"}, {"profile", "profile"}, {"cache", "cache"},
	    {"block_size", "block size"},  {"state", "state"},
	};
	for (size_t i = 0; i < sizeof(header) / sizeof(header[0]); i++) {
		json_t *v = json_object_get(st, header[i][0]);
		if (v == NULL)
			continue;
		printf("%-12s ", header[i][1]);
		status_print_scalar(v);
		printf("\n");
	}
	const char *key;
	json_t *v;
	json_object_foreach(st, key, v)
	{
		bool known = strcmp(key, "rules") == 0 || strcmp(key, "files") == 0 ||
		             strcmp(key, "errors") == 0 || strcmp(key, "namespace") == 0 ||
		             strcmp(key, "fuse") == 0;
		for (size_t i = 0; i < sizeof(header) / sizeof(header[0]) && !known; i++)
			known = strcmp(key, header[i][0]) == 0;
		if (!known) {
			printf("%-12s ", key);
			status_print_scalar(v);
			printf("\n");
		}
	}
	status_print_rules(json_object_get(st, "rules"));
	status_print_files(json_object_get(st, "files"));
	status_print_errors(json_object_get(st, "errors"));
	status_print_namespace(json_object_get(st, "namespace"));
	status_print_fuse(json_object_get(st, "fuse"));
}

int cmd_status(int argc, char **argv)
{
	char err[512] = "";
	const char *mnt = NULL;
	bool as_json = false;
	json_t *st = NULL;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			printf("usage: fsynclab status MNT [--json]\n");
			return 0;
		} else if (strcmp(argv[i], "--json") == 0) {
			as_json = true;
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "fsynclab status: unknown option '%s'\n", argv[i]);
			return 2;
		} else if (mnt == NULL) {
			mnt = argv[i];
		} else {
			fprintf(stderr, "fsynclab status: unexpected argument '%s'\n", argv[i]);
			return 2;
		}
	}
	if (mnt == NULL) {
		fprintf(stderr, "usage: fsynclab status MNT [--json]\n");
		return 2;
	}
	if (control_client_status(mnt, &st, err, sizeof(err)) < 0) {
		fprintf(stderr, "fsynclab status: %s\n", err);
		return 1;
	}
	if (as_json) {
		if (json_dumpf(st, stdout, JSON_INDENT(2)) < 0) {
			json_decref(st);
			return 1;
		}
		printf("\n");
	} else {
		status_print(st);
	}
	json_decref(st);
	return fflush(stdout) == 0 ? 0 : 1;
}
