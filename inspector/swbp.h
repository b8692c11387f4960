/*
 * inspector/swbp.h - gdb's software breakpoints (Z0) as int3 bytes in guest
 * RAM (swbp.c), the pure part, unit-tested on the host
 * (tests/unit/test_insp_swbp.c): the int3 planted over the guest's byte,
 * that byte shown to gdb's reads and changed by gdb's writes, and the
 * lifting around one instruction of the guest that reads or writes there
 * (target.c "Breakpoints the guest cannot see"): the guest's bytes back in
 * RAM for the instruction, then whatever is there kept as the guest's byte
 * and the int3 planted again, so the guest neither sees an int3 nor loses a
 * breakpoint by writing over it.
 */
#ifndef INSPECTOR_SWBP_H
#define INSPECTOR_SWBP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <x86_arch.h>             /* X86_OP_INT3 */

typedef struct {
    uint64_t addr;                /* guest-virtual, as gdb gave it */
    uint64_t gpa;                 /* where the int3 is */
    uint8_t saved;                /* the guest's byte there */
    bool used;
    bool lifted;                  /* the guest's byte is in RAM for an instruction */
    bool temp;                    /* a step's, at a handler's entry, for one step only
                                     (target.c step_begin): not gdb's, not found by
                                     swbp_find; hidden and lifted like gdb's */
} insp_swbp_t;

/* The breakpoint gdb set at @addr among @n (a temporary one is not gdb's),
 * or NULL. */
insp_swbp_t *swbp_find(insp_swbp_t *sw, unsigned n, uint64_t addr);
/* Whether any is set. */
bool swbp_any(const insp_swbp_t *sw, unsigned n);
/* Whether one is in the leaf of 1 << @shift bytes that holds @gpa. */
bool swbp_in_leaf(const insp_swbp_t *sw, unsigned n, uint64_t gpa, unsigned shift);
/* A new one at @addr (guest-physical @gpa, inside @ram): the int3 planted
 * over the guest's byte. NULL: all @n taken. */
insp_swbp_t *swbp_plant(insp_swbp_t *sw, unsigned n, uint64_t addr, uint64_t gpa, uint8_t *ram);
/* Remove @b: the guest's byte back (a lifted one's is in RAM already, and
 * a byte that is no longer our int3, written over through another mapping
 * or where nothing hides it, is the guest's: it stays). */
void swbp_unplant(insp_swbp_t *b, uint8_t *ram);
/* gdb's view of guest-physical [@gpa, +@len), copied to or from @buf
 * (already done): a read shows the guest's bytes under our int3s, a write
 * over one changes the byte it keeps and leaves the int3. */
void swbp_mask(insp_swbp_t *sw, unsigned n, uint64_t gpa, uint8_t *buf, size_t len, bool write,
               uint8_t *ram);
/* The guest's bytes back in RAM for one instruction of the guest, but for
 * the int3 at @rip_gpa (the instruction about to run: ours must trap) and
 * those @keep says to leave (its ctx). A byte that is no longer our int3
 * (written through another mapping) is the guest's already. Returns which
 * it lifted (bit i for sw[i], i < SWBP_SET_MAX); those lifted before stay
 * lifted and are not in it. */
#define SWBP_SET_MAX 64
typedef bool (*swbp_keep_fn)(void *ctx, uint64_t gpa);
uint64_t swbp_lift(insp_swbp_t *sw, unsigned n, uint8_t *ram, uint64_t rip_gpa,
                   swbp_keep_fn keep, void *ctx);
/* The instruction is over: the byte in RAM is the guest's (what it wrote
 * over ours, if it did), the int3 planted again. */
void swbp_replant(insp_swbp_t *sw, unsigned n, uint8_t *ram);
/* The same for those in @which only (bits as swbp_lift returns them): an
 * owner that lifted some (nested-vmx for L1, while an inspector of L2
 * may have lifted others for a step of its own) plants back its own;
 * those past SWBP_SET_MAX only with every bit set. */
void swbp_replant_some(insp_swbp_t *sw, unsigned n, uint8_t *ram, uint64_t which);

#endif
