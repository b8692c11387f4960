/* The shared hostile transport records (ds_state_cases.h). */
#include "ds_state_cases.h"
#include <virtio_mmio.h>

#define WHY_LAYOUT  "another state version, device type or number of queues"
#define WHY_STATUS  "a Status other than the driver's writes give"
#define WHY_FLAG    "a flag that is neither 0 nor 1"
#define WHY_ERROR   "an error that does not match the broken flag"

/* A Status bit no version of the spec defines (virtio 1.2 2.1: bits 0-3, 6
 * and 7 are defined). */
#define STATUS_UNDEFINED_BIT 0x20u
/* An InterruptStatus bit beyond used-buffer and configuration change
 * (virtio 1.2 4.2.2). */
#define INT_UNDEFINED_BIT    0x4u

unsigned ds_state_hostile_transport(const ds_state_t *good, uint32_t other_device,
                                    ds_refused_fn refused)
{
    const unsigned last = good->nqueues - 1;     /* the device's last queue */
    unsigned n = 0;
    ds_state_t bad;

#define CASE(mutation, code, why) \
    do { bad = *good; mutation; refused(&bad, (code), (why)); n++; } while (0)

    CASE(bad.version = DS_STATE_VERSION + 1, DS_STATE_E_VERSION, WHY_LAYOUT);
    CASE(bad.device_id = other_device, DS_STATE_E_VERSION, WHY_LAYOUT);
    CASE(bad.nqueues = good->nqueues + 1, DS_STATE_E_VERSION, WHY_LAYOUT);
    CASE(bad.status &= ~VIRTIO_STATUS_DRIVER_OK, DS_STATE_E_STATUS, WHY_STATUS);
    CASE(bad.status &= ~VIRTIO_STATUS_FEATURES_OK, DS_STATE_E_STATUS, WHY_STATUS);
    CASE(bad.status |= STATUS_UNDEFINED_BIT, DS_STATE_E_STATUS, WHY_STATUS);
    CASE(bad.interrupt_status = INT_UNDEFINED_BIT, DS_STATE_E_STATUS, "undefined interrupt bits");
    CASE((bad.q[0].used_idx += 3, bad.q[0].last_avail = bad.q[0].used_idx), DS_STATE_E_QUEUE,
         "a used index other than the used ring's in guest memory");
    CASE(bad.q[last].last_avail = (uint16_t)(bad.q[last].used_idx + 1), DS_STATE_E_QUEUE,
         "chains in flight");
    CASE(bad.q[0].notify_off = 2, DS_STATE_E_QUEUE, WHY_FLAG);
    CASE(bad.q[last].broken = 2, DS_STATE_E_QUEUE, WHY_FLAG);
    CASE(bad.q[0].broken = 1, DS_STATE_E_QUEUE, WHY_ERROR);
    CASE(bad.q[last].error = VIRTQ_ERR_AVAIL_IDX_JUMP, DS_STATE_E_QUEUE, WHY_ERROR);
    CASE(bad.q[good->nqueues].used_idx = 1, DS_STATE_E_QUEUE,
         "progress for a queue the device does not have");
#undef CASE
    return n;
}
