/*
 * scenario_yaml.h — a small YAML tree with source positions, built from libfyaml's event stream.
 *
 * Why not libfyaml's own document tree: its 0.7 API gives no start mark for mappings and
 * sequences, and a scenario error must point at the exact line and column of whatever is wrong.
 * The tree here keeps, for every node, its 1-based position, its type, and for scalars the text
 * and whether it was written plain (unquoted: `123` may be a number, `"123"` is always text).
 *
 * What it refuses (the scenario language does not need them, and refusing keeps error positions
 * honest): bytes that are not UTF-8, NUL bytes, directives (%YAML), anchors and aliases, tags,
 * more than one document, nesting deeper than SYAML_MAX_DEPTH, more than SYAML_MAX_NODES nodes,
 * and duplicate keys in a mapping.
 */
#ifndef FSYNCLAB_SCENARIO_YAML_H
#define FSYNCLAB_SCENARIO_YAML_H

#include <stdbool.h>
#include <stddef.h>

#define SYAML_MAX_DEPTH 32     /* a scenario nests 4 deep; the rest is a mistake or an attack */
#define SYAML_MAX_NODES 100000 /* keeps hostile inputs (and the fuzzer) fast */

enum syaml_type {
	SYAML_SCALAR,
	SYAML_MAP,
	SYAML_SEQ,
};

struct syaml_node {
	enum syaml_type type;
	unsigned line, col; /* 1-based */
	/* SYAML_SCALAR */
	char *text; /* NUL-terminated copy (may also contain NULs: use len) */
	size_t len;
	bool plain; /* written without quotes or block style */
	/* SYAML_MAP: keys[i] -> values[i]; SYAML_SEQ: values[i] */
	struct syaml_node **keys;
	struct syaml_node **values;
	size_t count;
	size_t cap;
};

/*
 * syaml_parse - parse TEXT[0..len) into a tree. Returns 0 with *root set (NULL for an empty
 * document), or -EINVAL with "FILE:LINE:COL: <what>" in errbuf, or -ENOMEM.
 */
int syaml_parse(const char *file, const char *text, size_t len, struct syaml_node **root, char *errbuf,
                size_t errlen);

/* syaml_free - free a tree; NULL is fine. */
void syaml_free(struct syaml_node *node);

/* syaml_is_null - a plain scalar "", "~", "null", "Null" or "NULL". */
bool syaml_is_null(const struct syaml_node *node);

/* syaml_type_name - "a mapping", "a list", "a scalar" (for messages). */
const char *syaml_type_name(const struct syaml_node *node);

#endif
