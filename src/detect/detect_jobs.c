/* The detector jobs (detect.h: detect_jobs_register): detect.incremental every minute
 * (each workspace with users changed past its watermark) and detect.sweep daily (every
 * workspace's full pass: gone_quiet and trial are time-based). Both run in a worker or
 * serve's job runner, on the maintenance path (store_maint_workspaces lists the
 * workspaces; each pass then uses workspace-scoped transactions). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "core/log.h"
#include "detect/detect_int.h"
#include "jobs/job.h"
#include "store/store.h"

#define INCREMENTAL_PERIOD_MS (60 * 1000)
#define SWEEP_PERIOD_MS (24 * 3600 * 1000)
#define DETECT_LEASE_MS (30 * 60 * 1000)

static enum job_status each_workspace(const struct job *j, int full, char *err, size_t errlen)
{
	int64_t *ids = NULL;
	size_t n = 0;
	if (j->workspace_id > 0) { /* enqueued for one workspace (e.g. by the ingest writer) */
		ids = malloc(sizeof(*ids));
		if (!ids) {
			snprintf(err, errlen, "out of memory");
			return JOB_FAILED;
		}
		ids[0] = j->workspace_id;
		n = 1;
	} else if (store_maint_workspaces(j->conn, &ids, &n) < 0) {
		snprintf(err, errlen, "listing workspaces: %s", store_errmsg(j->conn));
		return JOB_FAILED;
	}
	enum job_status rc = JOB_OK;
	for (size_t i = 0; i < n; i++) {
		struct detect_stats st;
		char e[256];
		int r = full ? detect_run_full(j->conn, ids[i], &st, e, sizeof(e))
		             : detect_run_incremental(j->conn, ids[i], &st, e, sizeof(e));
		if (r < 0) {
			/* one failing workspace does not stop the others; the job is retried */
			snprintf(err, errlen, "workspace %" PRId64 ": %s", ids[i], e);
			rc = JOB_FAILED;
		}
	}
	free(ids);
	return rc;
}

static enum job_status job_incremental(const struct job *j, char *err, size_t errlen)
{
	return each_workspace(j, 0, err, errlen);
}

static enum job_status job_sweep(const struct job *j, char *err, size_t errlen)
{
	return each_workspace(j, 1, err, errlen);
}

int detect_jobs_register(void)
{
	if (job_register("detect.incremental", job_incremental, DETECT_LEASE_MS, 3) < 0 ||
	    job_register("detect.sweep", job_sweep, DETECT_LEASE_MS, 5) < 0 ||
	    job_register_recurring("detect.incremental", INCREMENTAL_PERIOD_MS, 0) < 0 ||
	    job_register_recurring("detect.sweep", SWEEP_PERIOD_MS, 0) < 0)
		return -1;
	return 0;
}
