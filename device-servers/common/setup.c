/* device-servers/common/setup.c - the VMM's setup call, server side (ds_setup.h). */
#include <devsrv.h>
#include <ds_setup.h>
#include <vm_layout.h>

#define MAP_RW (NESTOR_RIGHT_READ | NESTOR_RIGHT_WRITE)

uint64_t ds_map_ram(nu_alloc_t *a, nestor_cptr_t node, const nu_msg_t *m, uint64_t va)
{
    const unsigned radix = (unsigned)m->mr[DS_SETUP_MR_RADIX];
    const unsigned bits = (unsigned)m->mr[DS_SETUP_MR_FRAME_BITS];
    const uint64_t bytes = m->mr[DS_SETUP_MR_RAM_BYTES];
    if (nestor_msginfo_extra_caps(m->info) != 1 || radix == 0 || radix > DS_MAX_RADIX ||
        bits < DS_MIN_FRAME_BITS || bits > DS_MAX_FRAME_BITS || bytes == 0 ||
        bytes > DS_MAX_RAM_BYTES || (bytes & ((1ULL << bits) - 1)) ||
        DS_GRANT_RAM + (bytes >> bits) > (1ULL << radix) || m->mr[DS_SETUP_MR_DEVICE] >= VM_VIRTIO_MAX)
        return 0;
    for (uint64_t i = 0; i < bytes >> bits; i++) {
        nestor_cptr_t f = a->next_slot++;
        if (nu_cnode_copy(a->cnode, f, 64, node, DS_GRANT_RAM + i, radix, NESTOR_RIGHTS_ALL) !=
                NESTOR_OK ||
            nu_map_frame(a, NESTOR_CAP_INIT_VSPACE, va + (i << bits), f, MAP_RW) != NESTOR_OK)
            return 0;
    }
    return bytes;
}

nestor_cptr_t ds_signal_cap(nu_alloc_t *a, nestor_cptr_t node, const nu_msg_t *m)
{
    nestor_cptr_t slot = a->next_slot++;
    return nu_cnode_copy(a->cnode, slot, 64, node, DS_GRANT_IRQ,
                         (unsigned)m->mr[DS_SETUP_MR_RADIX], NESTOR_RIGHT_WRITE) == NESTOR_OK
               ? slot : 0;
}
