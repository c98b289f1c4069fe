/* SPDX-License-Identifier: MIT */
#ifndef NM_CLOCK_H
#define NM_CLOCK_H

/*
 * The monotonic clock, for deadlines and durations: unlike the wall clock
 * it never jumps when the time is set, so a freeze deadline cannot expire
 * early or late.
 */
double nm_now_seconds(void);
double nm_now_ms(void);

#endif
