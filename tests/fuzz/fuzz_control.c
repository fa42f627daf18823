/*
 * fuzz_control.c — libFuzzer target on the control protocol: any bytes handed to
 * control_handle_request() with a real fault table and dummy daemon handlers must produce an
 * answer object, never a crash, leak or sanitizer report. Rules the input manages to arm are then
 * exercised by fault_table_check() and fault_table_status_json(), so the rule parser, matcher and
 * triggers are fuzzed through the same door a client uses.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "control.h"
#include "faults.h"

static int fuzz_reboot(void *ctx)
{
	(void)ctx;
	return 0;
}

static int fuzz_sync(void *ctx)
{
	(void)ctx;
	return -5; /* -EIO: the error path of an action */
}

static json_t *fuzz_status(void *ctx)
{
	(void)ctx;
	return json_pack("{s:s,s:s,s:[]}", "mountpoint", "/m", "state", "ok", "files");
}

static const struct control_handlers fuzz_handlers = {
    .ctx = NULL, .reboot = fuzz_reboot, .sync = fuzz_sync, .status = fuzz_status};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct fault_table *table;
	if (table == NULL && (table = fault_table_new(4096)) == NULL)
		abort();
	json_t *resp = control_handle_request((const char *)data, size, table, &fuzz_handlers);
	if (resp == NULL || !json_is_object(resp) || !json_is_boolean(json_object_get(resp, "ok")))
		abort(); /* every request gets an answer with "ok" */
	char *text = json_dumps(resp, JSON_COMPACT);
	free(text);
	json_decref(resp);
	/* drive whatever got armed */
	struct fault_hit hit;
	const char *paths[] = {"", "a.log", "dir/b", "x"};
	for (int op = 0; op < FAULT_OP_COUNT; op++)
		for (size_t p = 0; p < 4; p++)
			(void)fault_table_check(table, (enum fault_op)op, paths[p], size * 512, size % 8192,
			                        &hit);
	json_decref(fault_table_status_json(table));
	if (fault_table_remove(table, 0) != 0)
		abort();
	return 0;
}
