/*
 * scenario_yaml.c — build a positioned YAML tree from libfyaml's events; see scenario_yaml.h.
 *
 * The parser runs in collect-diagnostics mode, so libfyaml never prints: its first error becomes
 * our one-line message with its own line and column.
 */
#include "scenario_yaml.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfyaml.h>

#define SYAML_MAX_MAP_KEYS 1024 /* duplicate-key detection is quadratic; no scenario map is this big */

struct syaml_builder {
	const char *file;
	char *errbuf;
	size_t errlen;
	struct syaml_node *stack[SYAML_MAX_DEPTH + 1];       /* open mappings and sequences */
	struct syaml_node *pending_key[SYAML_MAX_DEPTH + 1]; /* per open mapping: key awaiting its value */
	int depth;
	size_t nodes;
	struct syaml_node *root;
};

static void syaml_error(struct syaml_builder *b, unsigned line, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* syaml_error - "FILE:LINE:COL: message" into the builder's errbuf. */
static void syaml_error(struct syaml_builder *b, unsigned line, unsigned col, const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (b->errlen > 0)
		snprintf(b->errbuf, b->errlen, "%s:%u:%u: %s", b->file, line, col, msg);
}

void syaml_free(struct syaml_node *node)
{
	if (node == NULL)
		return;
	for (size_t i = 0; i < node->count; i++) {
		if (node->keys != NULL)
			syaml_free(node->keys[i]);
		syaml_free(node->values[i]);
	}
	free(node->keys);
	free(node->values);
	free(node->text);
	free(node);
}

bool syaml_is_null(const struct syaml_node *node)
{
	if (node == NULL)
		return true;
	if (node->type != SYAML_SCALAR || !node->plain)
		return false;
	return node->len == 0 || strcmp(node->text, "~") == 0 || strcmp(node->text, "null") == 0 ||
	       strcmp(node->text, "Null") == 0 || strcmp(node->text, "NULL") == 0;
}

const char *syaml_type_name(const struct syaml_node *node)
{
	if (node == NULL || syaml_is_null(node))
		return "nothing";
	switch (node->type) {
	case SYAML_MAP:
		return "a mapping";
	case SYAML_SEQ:
		return "a list";
	case SYAML_SCALAR:
		break;
	}
	return "a scalar";
}

/* syaml_append - add VALUE (and KEY for a mapping) to CONTAINER. Returns 0 or -ENOMEM. */
static int syaml_append(struct syaml_node *container, struct syaml_node *key, struct syaml_node *value)
{
	if (container->count == container->cap) {
		size_t cap = container->cap ? container->cap * 2 : 4;
		struct syaml_node **values = realloc(container->values, cap * sizeof(*values));
		if (values == NULL)
			return -ENOMEM;
		container->values = values;
		if (container->type == SYAML_MAP) {
			struct syaml_node **keys = realloc(container->keys, cap * sizeof(*keys));
			if (keys == NULL)
				return -ENOMEM;
			container->keys = keys;
		}
		container->cap = cap;
	}
	if (container->type == SYAML_MAP)
		container->keys[container->count] = key;
	container->values[container->count] = value;
	container->count++;
	return 0;
}

/*
 * syaml_attach - NODE is complete (a scalar) or just opened (a container): hang it under the open
 * container, as a key or a value. Takes ownership of NODE in every case. Returns 0 or -errno.
 */
static int syaml_attach(struct syaml_builder *b, struct syaml_node *node)
{
	if (b->depth == 0) {
		if (b->root != NULL) {
			syaml_error(b, node->line, node->col,
			            "more than one document; expected one scenario per file");
			syaml_free(node);
			return -EINVAL;
		}
		b->root = node;
		return 0;
	}
	struct syaml_node *parent = b->stack[b->depth - 1];
	if (parent->type == SYAML_SEQ) {
		int rc = syaml_append(parent, NULL, node);
		if (rc < 0)
			syaml_free(node);
		return rc;
	}
	struct syaml_node *key = b->pending_key[b->depth - 1];
	if (key == NULL) {
		if (node->type != SYAML_SCALAR) {
			syaml_error(b, node->line, node->col,
			            "a key must be a plain word; expected `key: value`");
			syaml_free(node);
			return -EINVAL;
		}
		for (size_t i = 0; i < parent->count; i++) {
			if (parent->keys[i]->len == node->len &&
			    memcmp(parent->keys[i]->text, node->text, node->len) == 0) {
				syaml_error(b, node->line, node->col,
				            "duplicate key '%s' (first at line %u); expected each key once",
				            node->text, parent->keys[i]->line);
				syaml_free(node);
				return -EINVAL;
			}
		}
		if (parent->count >= SYAML_MAX_MAP_KEYS) {
			syaml_error(b, node->line, node->col,
			            "more than %d keys in one mapping; expected fewer", SYAML_MAX_MAP_KEYS);
			syaml_free(node);
			return -EINVAL;
		}
		b->pending_key[b->depth - 1] = node;
		return 0;
	}
	b->pending_key[b->depth - 1] = NULL;
	int rc = syaml_append(parent, key, node);
	if (rc < 0) {
		syaml_free(key);
		syaml_free(node);
	}
	return rc;
}

/* syaml_new - a node of TYPE at the event's start mark; NULL on ENOMEM or too many nodes. */
static struct syaml_node *syaml_new(struct syaml_builder *b, enum syaml_type type, struct fy_event *ev)
{
	const struct fy_mark *mark = fy_event_start_mark(ev);
	unsigned line = mark ? (unsigned)mark->line + 1 : 1;
	unsigned col = mark ? (unsigned)mark->column + 1 : 1;
	if (++b->nodes > SYAML_MAX_NODES) {
		syaml_error(b, line, col, "more than %d YAML nodes; expected a smaller file",
		            SYAML_MAX_NODES);
		return NULL;
	}
	struct syaml_node *node = calloc(1, sizeof(*node));
	if (node == NULL) {
		syaml_error(b, line, col, "out of memory; expected a smaller file");
		return NULL;
	}
	node->type = type;
	node->line = line;
	node->col = col;
	return node;
}

/*
 * syaml_scalar_text - the scalar's processed text (escapes resolved, folding applied), read with a
 * token iterator into a buffer of our own. Not fy_token_get_text(): in libfyaml 0.7.12 the text it
 * caches for a single-quoted scalar with five or more '' escapes is never freed (a fuzzer finding).
 * Returns 0 with a NUL-terminated malloc'ed copy, or -ENOMEM.
 */
static int syaml_scalar_text(struct fy_token *token, char **out, size_t *outlen)
{
	size_t len = 0, cap = 64;
	char *buf = malloc(cap);
	if (buf == NULL)
		return -ENOMEM;
	struct fy_token_iter *iter = fy_token_iter_create(token);
	if (iter == NULL) {
		free(buf);
		return -ENOMEM;
	}
	const struct fy_iter_chunk *chunk = NULL;
	int err = 0;
	while ((chunk = fy_token_iter_chunk_next(iter, chunk, &err)) != NULL) {
		if (chunk->len >= cap - len) {
			size_t ncap = cap;
			while (chunk->len >= ncap - len)
				ncap *= 2;
			char *bigger = realloc(buf, ncap);
			if (bigger == NULL) {
				fy_token_iter_destroy(iter);
				free(buf);
				return -ENOMEM;
			}
			buf = bigger;
			cap = ncap;
		}
		memcpy(buf + len, chunk->str, chunk->len);
		len += chunk->len;
	}
	fy_token_iter_destroy(iter);
	if (err != 0) {
		free(buf);
		return -EINVAL;
	}
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
}

/* syaml_refuse_decorations - anchors and tags are not part of the scenario language. */
static int syaml_refuse_decorations(struct syaml_builder *b, struct fy_event *ev)
{
	const struct fy_mark *mark = fy_event_start_mark(ev);
	unsigned line = mark ? (unsigned)mark->line + 1 : 1;
	unsigned col = mark ? (unsigned)mark->column + 1 : 1;
	if (fy_event_get_anchor_token(ev) != NULL) {
		syaml_error(b, line, col,
		            "anchors (&name) are not supported; expected the value written out");
		return -EINVAL;
	}
	if (fy_event_get_tag_token(ev) != NULL) {
		syaml_error(b, line, col, "tags (!tag) are not supported; expected a plain value");
		return -EINVAL;
	}
	return 0;
}

/* syaml_event - apply one event to the builder. Returns 0, 1 at stream end, or -errno. */
static int syaml_event(struct syaml_builder *b, struct fy_event *ev)
{
	struct syaml_node *node;
	int rc;
	switch (ev->type) {
	case FYET_STREAM_END:
		return 1;
	case FYET_NONE:
	case FYET_STREAM_START:
	case FYET_DOCUMENT_START:
	case FYET_DOCUMENT_END:
		return 0;
	case FYET_ALIAS: {
		const struct fy_mark *mark = fy_event_start_mark(ev);
		syaml_error(b, mark ? (unsigned)mark->line + 1 : 1, mark ? (unsigned)mark->column + 1 : 1,
		            "aliases (*name) are not supported; expected the value written out");
		return -EINVAL;
	}
	case FYET_SCALAR: {
		rc = syaml_refuse_decorations(b, ev);
		if (rc < 0)
			return rc;
		node = syaml_new(b, SYAML_SCALAR, ev);
		if (node == NULL)
			return b->nodes > SYAML_MAX_NODES ? -EINVAL : -ENOMEM;
		rc = syaml_scalar_text(ev->scalar.value, &node->text, &node->len);
		if (rc < 0) {
			syaml_error(b, node->line, node->col, "%s; expected text",
			            rc == -ENOMEM ? "out of memory reading a value" : "an unreadable value");
			syaml_free(node);
			return rc;
		}
		node->plain = fy_token_scalar_style(ev->scalar.value) == FYSS_PLAIN;
		return syaml_attach(b, node);
	}
	case FYET_MAPPING_START:
	case FYET_SEQUENCE_START: {
		rc = syaml_refuse_decorations(b, ev);
		if (rc < 0)
			return rc;
		node = syaml_new(b, ev->type == FYET_MAPPING_START ? SYAML_MAP : SYAML_SEQ, ev);
		if (node == NULL)
			return b->nodes > SYAML_MAX_NODES ? -EINVAL : -ENOMEM;
		if (b->depth >= SYAML_MAX_DEPTH) {
			syaml_error(b, node->line, node->col,
			            "nested deeper than %d levels; expected a flatter file", SYAML_MAX_DEPTH);
			syaml_free(node);
			return -EINVAL;
		}
		rc = syaml_attach(b, node);
		if (rc < 0)
			return rc;
		b->stack[b->depth] = node;
		b->pending_key[b->depth] = NULL;
		b->depth++;
		return 0;
	}
	case FYET_MAPPING_END:
	case FYET_SEQUENCE_END:
		if (b->depth > 0) {
			b->depth--;
			/* a key without a value cannot happen in a well-formed stream; be safe anyway */
			syaml_free(b->pending_key[b->depth]);
			b->pending_key[b->depth] = NULL;
		}
		return 0;
	}
	return 0;
}

/*
 * syaml_precheck - refuse, before libfyaml sees them, inputs a scenario never contains: bytes that
 * are not UTF-8, NUL bytes, and YAML directives ('%' at the start of a line). Besides clearer
 * messages, this keeps libfyaml 0.7.12 away from a directive scanner that loops forever on "%\xd0"
 * (found by tests/fuzz/fuzz_scenario.c). Returns 0 or -EINVAL with the position in errbuf.
 */
static int syaml_precheck(struct syaml_builder *b, const unsigned char *s, size_t len)
{
	unsigned line = 1, col = 1;
	size_t i = 0;
	while (i < len) {
		unsigned char c = s[i];
		size_t n = 1;
		if (c == '\0') {
			syaml_error(b, line, col, "a NUL byte; expected text");
			return -EINVAL;
		}
		if (c == '%' && col == 1) {
			syaml_error(
			    b, line, col,
			    "YAML directives (%%...) are not supported; expected the document itself");
			return -EINVAL;
		}
		if (c >= 0x80) {
			uint32_t cp;
			if (c >= 0xc2 && c <= 0xdf) {
				n = 2;
				cp = c & 0x1f;
			} else if (c >= 0xe0 && c <= 0xef) {
				n = 3;
				cp = c & 0x0f;
			} else if (c >= 0xf0 && c <= 0xf4) {
				n = 4;
				cp = c & 0x07;
			} else {
				n = 0;
				cp = 0;
			}
			bool ok = n > 0 && i + n <= len;
			for (size_t k = 1; ok && k < n; k++) {
				ok = (s[i + k] & 0xc0) == 0x80;
				cp = (cp << 6) | (s[i + k] & 0x3f);
			}
			/* no overlong forms, no surrogates, nothing above U+10FFFF */
			ok = ok && !(n == 3 && cp < 0x800) && !(n == 4 && cp < 0x10000) && cp <= 0x10ffff &&
			     !(cp >= 0xd800 && cp <= 0xdfff);
			if (!ok) {
				syaml_error(b, line, col, "invalid UTF-8 byte 0x%02x; expected UTF-8 text",
				            c);
				return -EINVAL;
			}
		}
		if (c == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
		i += n;
	}
	return 0;
}

int syaml_parse(const char *file, const char *text, size_t len, struct syaml_node **root, char *errbuf,
                size_t errlen)
{
	struct syaml_builder b = {.file = file, .errbuf = errbuf, .errlen = errlen};
	struct fy_diag *diag = NULL;
	struct fy_parser *parser = NULL;
	int rc = 0;

	*root = NULL;
	if (errlen > 0)
		errbuf[0] = '\0';

	rc = syaml_precheck(&b, (const unsigned char *)text, len);
	if (rc < 0)
		goto out;

	struct fy_diag_cfg dcfg;
	fy_diag_cfg_default(&dcfg);
	dcfg.fp = NULL;
	dcfg.output_fn = NULL;
	dcfg.colorize = false;
	diag = fy_diag_create(&dcfg);
	if (diag == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	fy_diag_set_collect_errors(diag, true);

	struct fy_parse_cfg pcfg = {.flags = FYPCF_QUIET | FYPCF_DISABLE_RECYCLING, .diag = diag};
	parser = fy_parser_create(&pcfg);
	if (parser == NULL) {
		rc = -ENOMEM;
		goto out;
	}
	/* libfyaml wants a non-NULL pointer even for an empty input */
	if (fy_parser_set_string(parser, len ? text : "", len) != 0) {
		rc = -ENOMEM;
		goto out;
	}

	for (;;) {
		struct fy_event *ev = fy_parser_parse(parser);
		if (ev == NULL) {
			if (fy_parser_get_stream_error(parser)) {
				void *iter = NULL;
				struct fy_diag_error *de = fy_diag_errors_iterate(diag, &iter);
				if (de != NULL)
					syaml_error(&b, de->line > 0 ? (unsigned)de->line : 1,
					            de->column > 0 ? (unsigned)de->column : 1,
					            "YAML syntax: %s; expected well-formed YAML%s",
					            de->msg ? de->msg : "malformed input",
					            de->msg && strstr(de->msg, "multiline plain key")
					                ? " (a bare step followed by `note:` needs a colon: "
					                  "`- reboot:`)"
					                : "");
				else
					syaml_error(
					    &b, 1, 1,
					    "YAML syntax: malformed input; expected well-formed YAML");
				rc = -EINVAL;
			}
			break;
		}
		rc = syaml_event(&b, ev);
		fy_parser_event_free(parser, ev);
		if (rc != 0)
			break;
	}
	if (rc == 1)
		rc = 0;
out:
	if (rc == -ENOMEM && errlen > 0 && errbuf[0] == '\0')
		snprintf(errbuf, errlen, "%s: out of memory", file);
	/* containers still open after an error belong to the tree rooted at b.root */
	for (int i = 0; i < b.depth; i++)
		syaml_free(b.pending_key[i]);
	if (rc < 0)
		syaml_free(b.root);
	else
		*root = b.root;
	if (parser != NULL)
		fy_parser_destroy(parser);
	if (diag != NULL)
		fy_diag_destroy(diag);
	return rc;
}
