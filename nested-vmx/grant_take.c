/*
 * nested-vmx/grant_take.c - the monitor's side of the VMM's hand-over of a
 * VM (nvmx_setup.h): check the setup message, copy the granted VCPU, stop
 * capability and (when asked) kick notification and events page out of
 * the VMM's CNode, and map the state page, the events page and the RAM
 * frames. Shared by nested-vmx and the
 * inspector (linked into both programs).
 */
#include "nvmx_setup.h"
#include <user/invoke.h>

#define MAP_RW (NESTOR_RIGHT_READ | NESTOR_RIGHT_WRITE)

static nestor_cptr_t take(nu_alloc_t *a, nestor_cptr_t node, unsigned radix, nestor_word_t index)
{
    nestor_cptr_t slot = a->next_slot++;
    return nu_cnode_copy(a->cnode, slot, 64, node, index, radix, NESTOR_RIGHTS_ALL) == NESTOR_OK
               ? slot
               : 0;
}

bool nvmx_grant_take(nu_alloc_t *a, nestor_cptr_t node, const nu_msg_t *msg, bool kick,
                     nestor_word_t state_va, nestor_word_t ram_va, nvmx_grant_t *g)
{
    const unsigned radix = (unsigned)msg->mr[NVMX_SETUP_MR_RADIX];
    const unsigned bits = (unsigned)msg->mr[NVMX_SETUP_MR_FRAME_BITS];
    *g = (nvmx_grant_t){ .node = node, .radix = radix, .frame_bits = bits,
                         .ram_bytes = msg->mr[NVMX_SETUP_MR_RAM_BYTES],
                         .level = (unsigned)msg->mr[NVMX_SETUP_MR_LEVEL] };
    if (nestor_msginfo_extra_caps(msg->info) != 1 || radix == 0 || radix > 16 || bits < 12 ||
        bits > 30 || g->ram_bytes == 0 || (g->ram_bytes & ((1ULL << bits) - 1)) ||
        g->level == 0 || g->level >= NESTOR_EXIT_LEVELS)
        return false;
    nestor_cptr_t state;
    /* The stop capability: the VMM's hand-overs have it, nested-vmx's to
     * an inspector of L2 not (0). */
    g->vmm = take(a, node, radix, NVMX_GRANT_VMM);
    if (!(g->vcpu = take(a, node, radix, NVMX_GRANT_VCPU)) || (kick && !g->vmm) ||
        (kick && !(g->kick = take(a, node, radix, NVMX_GRANT_KICK))) ||
        !(state = take(a, node, radix, NVMX_GRANT_STATE)) ||
        nu_map_frame(a, NESTOR_CAP_INIT_VSPACE, state_va, state, MAP_RW))
        return false;
    g->state = (nestor_vcpu_state_t *)(uintptr_t)state_va;
    if (kick) {
        nestor_cptr_t events = take(a, node, radix, NVMX_GRANT_EVENTS);
        if (!events || nu_map_frame(a, NESTOR_CAP_INIT_VSPACE, state_va + NVMX_EVENTS_OFFSET,
                                    events, NESTOR_RIGHT_READ))
            return false;
        g->events = (const nvmx_events_t *)(uintptr_t)(state_va + NVMX_EVENTS_OFFSET);
    }
    /* The frames' copies first, in consecutive slots (nested-vmx's ept02.c
     * finds frame i at ram_frames + i), then their mappings (which take
     * slots too). */
    const uint64_t frames = g->ram_bytes >> bits;
    g->ram_frames = a->next_slot;
    for (uint64_t i = 0; i < frames; i++)
        if (take(a, node, radix, NVMX_GRANT_RAM + i) != g->ram_frames + i)
            return false;
    for (uint64_t i = 0; i < frames; i++)
        if (nu_map_frame(a, NESTOR_CAP_INIT_VSPACE, ram_va + (i << bits), g->ram_frames + i,
                         MAP_RW))
            return false;
    g->ram = (uint8_t *)(uintptr_t)ram_va;
    return true;
}
