/*
 * fuzz_scenario.c — libFuzzer entry for the scenario loader: every input either loads (and is
 * freed, and its names and formats are exercised) or is refused with a FILE:LINE:COL message.
 * Crashes, leaks, undefined behaviour and an empty refusal message are all findings.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scenario *sc = NULL;
	char err[512];
	int rc = scenario_load_string("fuzz.yaml", (const char *)data, size, &sc, err, sizeof(err));
	if (rc != 0) {
		/* a refusal always explains itself, and never leaves a scenario behind */
		if (sc != NULL || err[0] == '\0')
			abort();
		return 0;
	}
	char buf[128];
	scenario_sync_format(&sc->options, buf, sizeof(buf));
	for (size_t i = 0; i < sc->step_count; i++) {
		const struct scenario_step *step = &sc->steps[i];
		if (step->pos.line == 0 || step->pos.col == 0 ||
		    strcmp(scenario_step_kind_name(step->kind), "?") == 0)
			abort();
		if (step->kind == SCENARIO_STEP_EXPECT) {
			for (size_t c = 0; c < step->u.expect.count; c++)
				scenario_cmp_format(
				    &step->u.expect.checks[c].cmp,
				    scenario_metric_is_duration(step->u.expect.checks[c].metric), buf,
				    sizeof(buf));
		}
		if (step->kind == SCENARIO_STEP_INJECT && !json_is_object(step->u.inject.rule))
			abort();
	}
	scenario_free(sc);
	return 0;
}
