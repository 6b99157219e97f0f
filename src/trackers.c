// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The table of trackers, in report order (see trackers.h). */
#include "trackers.h"

const struct tracker *const lt_trackers[] = {
	&lt_tracker_mem,
	&lt_tracker_threads,
	&lt_tracker_timers,
	&lt_tracker_fds,
	&lt_tracker_mmap,
	&lt_tracker_goroutines,
	&lt_tracker_goheap,
};

const int lt_ntrackers = sizeof(lt_trackers) / sizeof(lt_trackers[0]);

int trackers__views(unsigned track, const struct lt_view **out, int max)
{
	int n = 0;

	for (int i = 0; i < lt_ntrackers && n < max; i++)
		if (track & lt_trackers[i]->track)
			out[n++] = lt_trackers[i]->view;
	return n;
}
