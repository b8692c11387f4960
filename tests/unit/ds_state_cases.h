/*
 * The hostile transport records every device server's checkpoint load must
 * refuse (device-servers/include/devsrv.h ds_state_t, checked by
 * ds_state_check in device-servers/common/ds_access.c): one list, applied to
 * each device's own saved record by its own suite.
 */
#ifndef NESTOR_TEST_DS_STATE_CASES_H
#define NESTOR_TEST_DS_STATE_CASES_H

#include <devsrv.h>

/* A device's load of @bad must answer @code, log a refusal holding @why
 * and leave the device as it was: the suite's own harness. */
typedef void (*ds_refused_fn)(const ds_state_t *bad, unsigned code, const char *why);

/* Each transport mutation of @good (a record the device just saved, its
 * last queue at least as far as its first, every queue progress in line
 * with the rings in guest memory, an interrupt pending or not) handed to
 * @refused with the code and reason the load must give. @other_device is a
 * device type that is not @good's. Returns the number of cases run. */
unsigned ds_state_hostile_transport(const ds_state_t *good, uint32_t other_device,
                                    ds_refused_fn refused);

#endif
