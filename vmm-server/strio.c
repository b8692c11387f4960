/*
 * vmm-server/strio.c - string port I/O, the pure part (strio.h).
 */
#include "strio.h"
#include "decode/x86_emulate.h"         /* X86_RFLAGS_DF */

bool strio_decode(uint64_t q, uint32_t info, strio_op_t *op)
{
    if (!(q & X86_IOQ_STRING))
        return false;
    unsigned sz = (unsigned)(q & X86_IOQ_SIZE_MASK);
    if (sz != 0 && sz != 1 && sz != 3)
        return false;
    unsigned as = (info >> X86_IOI_ASIZE_SHIFT) & X86_IOI_ASIZE_MASK;
    if (as > X86_IOI_ASIZE_64)
        return false;
    op->size = sz + 1;
    op->in = q & X86_IOQ_IN;
    op->rep = q & X86_IOQ_REP;
    op->port = (uint16_t)(q >> X86_IOQ_PORT_SHIFT);
    op->addr_size = 2u << as;
    /* INS always writes ES:rDI (SDM Vol. 2B INS: "ES segment cannot be
     * overridden"); OUTS reads DS:rSI or the override's segment. */
    if (op->in) {
        op->seg = X86_SEG_ES;
    } else {
        op->seg = (info >> X86_IOI_SEG_SHIFT) & X86_IOI_SEG_MASK;
        if (op->seg > X86_SEG_GS)
            return false;
    }
    return true;
}

uint64_t strio_addr_mask(const strio_op_t *op)
{
    return op->addr_size == 8 ? ~0ULL : (1ULL << (8 * op->addr_size)) - 1;
}

uint64_t strio_count(const strio_op_t *op, uint64_t rcx)
{
    if (!op->rep)
        return 1;
    uint64_t n = rcx & strio_addr_mask(op);
    return n > STRIO_BATCH ? STRIO_BATCH : n;
}

uint64_t strio_linear(const strio_op_t *op, uint64_t seg_base, uint64_t reg, bool mode64)
{
    uint64_t la = seg_base + (reg & strio_addr_mask(op));
    return mode64 ? la : la & 0xFFFFFFFFu;
}

void strio_step(const strio_op_t *op, uint64_t rflags, uint64_t *index, uint64_t *rcx)
{
    uint64_t m = strio_addr_mask(op);
    uint64_t d = (rflags & X86_RFLAGS_DF) ? (uint64_t)-(int64_t)op->size : op->size;
    /* A 16-bit register write keeps bits 63:16; a 32-bit one zero-extends
     * (SDM Vol. 1 3.4.1.1, in 64-bit mode; outside it bits 63:32 are not
     * visible). */
    uint64_t keep = op->addr_size == 2 ? ~m : 0;
    *index = (*index & keep) | ((*index + d) & m);
    if (op->rep)
        *rcx = (*rcx & keep) | ((*rcx - 1) & m);
}
