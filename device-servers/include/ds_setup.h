/*
 * device-servers/include/ds_setup.h - the server side of the VMM's setup
 * call (devsrv.h DS_BADGE_SETUP), shared by every device server: check the
 * numbers the VMM sent and map the VM's RAM frames it granted.
 */
#ifndef DS_SETUP_H
#define DS_SETUP_H
#include <stdint.h>
#include <user/space.h>
#include <user/sys.h>

#define DS_MIN_FRAME_BITS 12
#define DS_MAX_FRAME_BITS 30
#define DS_MAX_RADIX      16
#define DS_MAX_RAM_BYTES  (3ULL << 30)     /* SC_VM_MAX_MIB */

/*
 * Map the RAM of setup message @m (its frames in the CNode received at
 * @node) read/write from @va on, guest-physical 0 at @va. Every number is
 * checked (one capability, radix, frame size, a RAM size that is a whole
 * number of frames and fits the CNode, a device number below
 * VM_VIRTIO_MAX): the VMM is trusted to give its VM's frames, not to send
 * sane numbers. Returns the RAM's size in bytes, 0 if refused.
 */
uint64_t ds_map_ram(nu_alloc_t *a, nestor_cptr_t node, const nu_msg_t *m, uint64_t va);

/* The capability to signal the VMM that the device's line went up between
 * accesses (devsrv.h DS_GRANT_IRQ), copied out of the setup CNode (after
 * ds_map_ram checked its radix) with the signal right only; 0 if there is
 * none. */
nestor_cptr_t ds_signal_cap(nu_alloc_t *a, nestor_cptr_t node, const nu_msg_t *m);

#endif
