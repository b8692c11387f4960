/*
 * inspector/ewatch.c - watchpoints by EPT protection: which pages lose
 * which rights, and which EPT violations are ours (ewatch.h).
 */
#include "ewatch.h"
#include <nestor/invocations.h>
#include <x86_vmx.h>

int ewatch_check(enum rsp_bp_type type, uint64_t addr, unsigned len)
{
    if (type != RSP_BP_WRITE && type != RSP_BP_READ && type != RSP_BP_ACCESS)
        return RSP_UNSUPPORTED;
    if (len == 0 || len > EWATCH_LEN_MAX || addr + (len - 1) < addr)
        return -RSP_EINVAL;       /* (nor one that wraps past the top) */
    return 0;
}

unsigned ewatch_withhold(enum rsp_bp_type type)
{
    /* SDM 28.3.3.1: a readable page that is not writable exists, a
     * writable one that is not readable is a misconfiguration: a read
     * watch makes its page neither. */
    return type == RSP_BP_WRITE ? NESTOR_EPT_WITHHOLD_W : NESTOR_EPT_WITHHOLD_RW;
}

unsigned ewatch_first_len(uint64_t addr, unsigned len)
{
    const uint64_t room = EWATCH_PAGE - (addr & (EWATCH_PAGE - 1));
    return len < room ? len : (unsigned)room;
}

static int find(const ewatch_set_t *s, enum rsp_bp_type type, uint64_t addr, unsigned len)
{
    for (int i = 0; i < EWATCH_MAX; i++)
        if (s->w[i].used && s->w[i].type == type && s->w[i].addr == addr && s->w[i].len == len)
            return i;
    return -1;
}

int ewatch_add(ewatch_set_t *s, enum rsp_bp_type type, uint64_t addr, unsigned len,
               uint64_t gpa0, uint64_t gpa1)
{
    int i = find(s, type, addr, len);
    if (i >= 0)
        return i;
    for (i = 0; i < EWATCH_MAX && s->w[i].used; i++)
        ;
    if (i == EWATCH_MAX)
        return -RSP_ENOSPC;
    const unsigned len0 = ewatch_first_len(addr, len);
    s->w[i] = (ewatch_t){ .addr = addr, .len = len, .type = type, .len0 = len0,
                          .gpa = { gpa0, len0 < len ? gpa1 & ~(EWATCH_PAGE - 1) : 0 },
                          .used = true };
    return i;
}

int ewatch_remove(ewatch_set_t *s, enum rsp_bp_type type, uint64_t addr, unsigned len)
{
    const int i = find(s, type, addr, len);
    if (i < 0)
        return -RSP_ENOENT;
    s->w[i].used = false;
    return i;
}

unsigned ewatch_count(const ewatch_set_t *s)
{
    unsigned n = 0;
    for (int i = 0; i < EWATCH_MAX; i++)
        n += s->w[i].used;
    return n;
}

void ewatch_leaves(const ewatch_set_t *s, int i, unsigned leaf_bits, uint64_t base[2],
                   unsigned *n)
{
    const ewatch_t *w = &s->w[i];
    const uint64_t mask = ~((1ULL << leaf_bits) - 1);
    base[0] = w->gpa[0] & mask;
    *n = 1;
    if (w->len0 < w->len && (w->gpa[1] & mask) != base[0])
        base[(*n)++] = w->gpa[1] & mask;
}

/* Whether watch @w has bytes in [@lo, @hi); *@part: which of its pieces. */
static bool piece_in(const ewatch_t *w, uint64_t lo, uint64_t hi, unsigned *part)
{
    for (unsigned p = 0; p < 2; p++) {
        const uint64_t start = w->gpa[p];
        const uint64_t bytes = p == 0 ? w->len0 : w->len - w->len0;
        if (bytes && start < hi && start + bytes > lo) {
            *part = p;
            return true;
        }
    }
    return false;
}

unsigned ewatch_leaf_withhold(const ewatch_set_t *s, uint64_t base, unsigned leaf_bits)
{
    unsigned withhold = NESTOR_EPT_WITHHOLD_NONE, part;
    for (int i = 0; i < EWATCH_MAX; i++)
        if (s->w[i].used && piece_in(&s->w[i], base, base + (1ULL << leaf_bits), &part))
            withhold |= ewatch_withhold(s->w[i].type);
    return withhold;
}

/* Whether an access of the kinds in @qual (SDM 27.2.1, Table 27-7: bit 0
 * data read, bit 1 data write) is what watch type @type reports. */
static bool kind_hits(enum rsp_bp_type type, uint64_t qual)
{
    switch (type) {
    case RSP_BP_WRITE: return qual & EPT_QUAL_WRITE;
    case RSP_BP_READ: return qual & EPT_QUAL_READ;
    default: return qual & (EPT_QUAL_READ | EPT_QUAL_WRITE);
    }
}

/* Whether @linear is one of watch @w's guest-virtual bytes. */
static bool linear_in(const ewatch_t *w, uint64_t linear)
{
    return linear >= w->addr && linear - w->addr < w->len;
}

bool ewatch_is_walk(uint64_t qual)
{
    return (qual & EPT_QUAL_LINEAR_VALID) && !(qual & EPT_QUAL_TRANSLATED);
}

ewatch_verdict_t ewatch_violation(const ewatch_set_t *s, uint64_t gpa, uint64_t linear,
                                  uint64_t qual, unsigned leaf_bits, int *hit)
{
    const bool walk = ewatch_is_walk(qual);
    const uint64_t base = gpa & ~((1ULL << leaf_bits) - 1);
    bool ours = false;
    unsigned part;
    *hit = -1;
    for (int i = 0; i < EWATCH_MAX; i++) {
        const ewatch_t *w = &s->w[i];
        if (!w->used || !piece_in(w, base, base + (1ULL << leaf_bits), &part))
            continue;
        ours = true;
        if (*hit >= 0)
            continue;
        if (walk ? w->type != RSP_BP_WRITE && linear_in(w, linear)
                 : piece_in(w, gpa, gpa + 1, &part) && kind_hits(w->type, qual))
            *hit = i;
    }
    return ours ? EWATCH_STEP : EWATCH_NOT_OURS;
}

int ewatch_bytes_hit(const ewatch_set_t *s, uint64_t gpa, unsigned len, bool read, bool write)
{
    unsigned part;
    if (!len || gpa + len < gpa)
        return -1;
    for (int i = 0; i < EWATCH_MAX; i++) {
        const ewatch_t *w = &s->w[i];
        const bool kind = w->type == RSP_BP_READ    ? read
                          : w->type == RSP_BP_WRITE ? write
                                                    : read || write;
        if (w->used && kind && piece_in(w, gpa, gpa + len, &part))
            return i;
    }
    return -1;
}

int ewatch_accesses_hit(const ewatch_set_t *s, const insn_access_t *a, int n,
                        ewatch_xlate_fn xlate, void *ctx)
{
    for (int k = 0; k < n && k < INSN_ACCESS_MAX; k++) {
        uint64_t lin = a[k].lin;
        unsigned left = a[k].len;
        while (left) {
            const unsigned here = ewatch_first_len(lin, left);
            uint64_t gpa;
            if (!xlate(ctx, lin, &gpa))
                break;
            const int hit = ewatch_bytes_hit(s, gpa, here, a[k].read, a[k].write);
            if (hit >= 0)
                return hit;
            lin += here;
            left -= here;
        }
    }
    return -1;
}

enum rsp_stop_why ewatch_stop_why(const ewatch_set_t *s, int i)
{
    switch (s->w[i].type) {
    case RSP_BP_WRITE: return RSP_STOP_WATCH;
    case RSP_BP_READ: return RSP_STOP_RWATCH;
    default: return RSP_STOP_AWATCH;
    }
}

uint64_t ewatch_digest(const ewatch_set_t *s, int i, const uint8_t *ram, uint64_t ram_bytes)
{
    const ewatch_t *w = &s->w[i];
    uint64_t h = 0xcbf29ce484222325ULL;              /* FNV-1a offset basis */
    for (unsigned p = 0; p < 2; p++) {
        const uint64_t bytes = p == 0 ? w->len0 : w->len - w->len0;
        if (!bytes || w->gpa[p] >= ram_bytes || bytes > ram_bytes - w->gpa[p])
            continue;
        for (uint64_t k = 0; k < bytes; k++)
            h = (h ^ ram[w->gpa[p] + k]) * 0x100000001b3ULL;    /* FNV prime */
    }
    return h;
}
