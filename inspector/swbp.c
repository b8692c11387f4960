/*
 * inspector/swbp.c - software breakpoints as int3 bytes in guest RAM
 * (swbp.h): planting, gdb's view around them, and lifting them for one
 * instruction of the guest (target.c hides them in execute-only EPT
 * leaves and calls these at the guest's accesses there).
 */
#include "swbp.h"

insp_swbp_t *swbp_find(insp_swbp_t *sw, unsigned n, uint64_t addr)
{
    for (unsigned i = 0; i < n; i++)
        if (sw[i].used && !sw[i].temp && sw[i].addr == addr)
            return &sw[i];
    return NULL;
}

bool swbp_any(const insp_swbp_t *sw, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (sw[i].used)
            return true;
    return false;
}

bool swbp_in_leaf(const insp_swbp_t *sw, unsigned n, uint64_t gpa, unsigned shift)
{
    for (unsigned i = 0; i < n; i++)
        if (sw[i].used && sw[i].gpa >> shift == gpa >> shift)
            return true;
    return false;
}

insp_swbp_t *swbp_plant(insp_swbp_t *sw, unsigned n, uint64_t addr, uint64_t gpa, uint8_t *ram)
{
    for (unsigned i = 0; i < n; i++)
        if (!sw[i].used) {
            sw[i] = (insp_swbp_t){ .addr = addr, .gpa = gpa, .saved = ram[gpa], .used = true };
            ram[gpa] = X86_OP_INT3;
            return &sw[i];
        }
    return NULL;
}

void swbp_unplant(insp_swbp_t *b, uint8_t *ram)
{
    if (!b->lifted && ram[b->gpa] == X86_OP_INT3)
        ram[b->gpa] = b->saved;
    *b = (insp_swbp_t){ .used = false };
}

void swbp_mask(insp_swbp_t *sw, unsigned n, uint64_t gpa, uint8_t *buf, size_t len, bool write,
               uint8_t *ram)
{
    for (unsigned i = 0; i < n; i++) {
        insp_swbp_t *b = &sw[i];
        /* (A lifted one has the guest's byte in RAM: swbp_replant keeps it.) */
        if (!b->used || b->lifted || b->gpa < gpa || b->gpa - gpa >= len)
            continue;
        if (write) {
            b->saved = buf[b->gpa - gpa];
            ram[b->gpa] = X86_OP_INT3;
        } else {
            buf[b->gpa - gpa] = b->saved;
        }
    }
}

uint64_t swbp_lift(insp_swbp_t *sw, unsigned n, uint8_t *ram, uint64_t rip_gpa,
                   swbp_keep_fn keep, void *ctx)
{
    uint64_t lifted = 0;
    for (unsigned i = 0; i < n; i++) {
        insp_swbp_t *b = &sw[i];
        if (!b->used || b->lifted || b->gpa == rip_gpa || (keep && keep(ctx, b->gpa)))
            continue;
        if (ram[b->gpa] == X86_OP_INT3)
            ram[b->gpa] = b->saved;
        b->lifted = true;
        if (i < SWBP_SET_MAX)
            lifted |= 1ULL << i;
    }
    return lifted;
}

void swbp_replant(insp_swbp_t *sw, unsigned n, uint8_t *ram)
{
    swbp_replant_some(sw, n, ram, ~0ULL);
}

void swbp_replant_some(insp_swbp_t *sw, unsigned n, uint8_t *ram, uint64_t which)
{
    for (unsigned i = 0; i < n; i++) {
        insp_swbp_t *b = &sw[i];
        if (!b->used || !b->lifted ||
            (i < SWBP_SET_MAX ? !(which >> i & 1) : which != ~0ULL))
            continue;
        b->saved = ram[b->gpa];
        ram[b->gpa] = X86_OP_INT3;
        b->lifted = false;
    }
}
