/*
 * inspector/ewatch.h - watchpoints by EPT protection (ewatch.c), the pure
 * part, unit-tested on the host (tests/unit/test_insp_ewatch.c): gdb's
 * Z2/Z3/Z4 beyond the four debug registers. The page of a watched range
 * loses its write right (Z2) or its read and write rights (Z3, Z4: EPT has
 * no write-only pages, write without read is a misconfiguration, SDM Vol.
 * 3C 28.3.3.1) in the VM's EPT (NESTOR_EPT_PROTECT on the capability the
 * VMM hands us, restricted to the VM's RAM). A guest access there exits as
 * an EPT violation (SDM 28.3.3.2); its guest-physical address and the
 * exit qualification's access bits (SDM 27.2.1, Table 27-7) say whether it
 * is ours and whether it hits a watched range. Either way the rights come
 * back for one single-stepped instruction and are withheld again after it;
 * a hit is reported to gdb once the step ends (after the access, as a data
 * breakpoint's trap is, SDM Vol. 3B 17.2.4), a miss continues silently.
 *
 * The kernel withholds rights of a whole EPT leaf (the VMM maps RAM in
 * 2 MiB frames): every watch in one leaf shares its protection, the union
 * of their needs.
 */
#ifndef INSPECTOR_EWATCH_H
#define INSPECTOR_EWATCH_H
#include "insn_access.h"
#include "rsp.h"
#include <stdbool.h>
#include <stdint.h>

#define EWATCH_MAX      32        /* EPT watchpoints at once */
#define EWATCH_LEN_MAX  RSP_WATCH_LEN_MAX  /* bytes one may watch: at most two pages */
#define EWATCH_PAGE_BITS 12
#define EWATCH_PAGE     (1ULL << EWATCH_PAGE_BITS)  /* the guest's pages translate one by one */

typedef struct {
    uint64_t addr;                /* guest-virtual, as gdb gave it */
    unsigned len;
    enum rsp_bp_type type;        /* RSP_BP_WRITE, _READ or _ACCESS */
    /* guest-physical of its bytes: [gpa[0], +len0) in the first page,
     * [gpa[1], +len - len0) in the next where the range crosses into it */
    uint64_t gpa[2];
    unsigned len0;
    bool used;
} ewatch_t;

typedef struct {
    ewatch_t w[EWATCH_MAX];
} ewatch_set_t;

/* Whether a Z packet of @type, @len bytes at @addr can be an EPT
 * watchpoint: 0, -RSP_EINVAL (no bytes, too many), RSP_UNSUPPORTED (not a
 * data watchpoint). */
int ewatch_check(enum rsp_bp_type type, uint64_t addr, unsigned len);
/* The rights a watchpoint of @type withholds (NESTOR_EPT_WITHHOLD_*). */
unsigned ewatch_withhold(enum rsp_bp_type type);
/* Bytes of [@addr, +@len) in the page @addr is in. */
unsigned ewatch_first_len(uint64_t addr, unsigned len);
/* Add a watchpoint (after ewatch_check) whose first byte is at @gpa0 and,
 * where it crosses a page, whose next page starts at @gpa1: its index, or
 * -RSP_ENOSPC. The same one twice is one (gdb's z removes it once). */
int ewatch_add(ewatch_set_t *s, enum rsp_bp_type type, uint64_t addr, unsigned len,
               uint64_t gpa0, uint64_t gpa1);
/* Remove it: its index (its leaves need their protection recomputed), or
 * -RSP_ENOENT. */
int ewatch_remove(ewatch_set_t *s, enum rsp_bp_type type, uint64_t addr, unsigned len);
/* How many are set. */
unsigned ewatch_count(const ewatch_set_t *s);
/* The leaves (of 1 << @leaf_bits bytes) watch @i's bytes lie in: *n of
 * them (1 or 2), their guest-physical bases in @base. */
void ewatch_leaves(const ewatch_set_t *s, int i, unsigned leaf_bits, uint64_t base[2],
                   unsigned *n);
/* What the leaf of 1 << @leaf_bits bytes at @base must withhold for every
 * watch with bytes in it (NESTOR_EPT_WITHHOLD_NONE: none, give all back). */
unsigned ewatch_leaf_withhold(const ewatch_set_t *s, uint64_t base, unsigned leaf_bits);

/* An EPT violation at guest-physical @gpa with exit qualification @qual. */
typedef enum {
    EWATCH_NOT_OURS,              /* no watch of ours in its leaf: pass it on */
    EWATCH_STEP,                  /* ours: give the rights back, step, withhold again */
} ewatch_verdict_t;
/* Classify it: EWATCH_STEP with *@hit the watch it hits (-1 for none: the
 * step is silent), else EWATCH_NOT_OURS. An access to a translated address
 * (qualification bit 8, SDM 27.2.1 Table 27-7) hits by its kind and its
 * guest-physical address; a paging-structure access (bit 8 clear, bit 7
 * set) made to translate guest-linear @linear hits a read or access watch
 * whose guest-virtual bytes hold @linear (the access it was for is not
 * told: a write watch there is judged by its bytes, ewatch_digest). The
 * access's first byte must lie in the watched bytes (the exit gives no
 * access length: one that begins before the range and runs into it is
 * missed, README "Not yet"). */
/* Whether exit qualification @qual is a page walk's: an access to a
 * paging-structure entry (or its A/D update) while translating the
 * guest-linear address the exit gives (bit 7 set, bit 8 clear: SDM 27.2.1,
 * Table 27-7). */
bool ewatch_is_walk(uint64_t qual);
ewatch_verdict_t ewatch_violation(const ewatch_set_t *s, uint64_t gpa, uint64_t linear,
                                  uint64_t qual, unsigned leaf_bits, int *hit);
/* Guest-physical bytes [@gpa, +@len), read (@read) and/or written (@write):
 * the first watch they hit, or -1. A read watch hits on a read, a write
 * watch on a write, an access watch on either, of any of its bytes (an
 * access that begins before the range and runs into it too). */
int ewatch_bytes_hit(const ewatch_set_t *s, uint64_t gpa, unsigned len, bool read, bool write);
/* Guest-linear to guest-physical, through the guest's paging (false: not
 * mapped, not RAM). */
typedef bool (*ewatch_xlate_fn)(void *ctx, uint64_t lin, uint64_t *gpa);
/* The first watch the accesses of an instruction (insn_accesses) hit,
 * each split at the guest's page boundaries and each page translated by
 * @xlate (a page that does not translate is not accessed: the instruction
 * faults there), or -1. */
int ewatch_accesses_hit(const ewatch_set_t *s, const insn_access_t *a, int n,
                        ewatch_xlate_fn xlate, void *ctx);
/* A digest of watch @i's bytes in @ram (@ram_bytes of guest RAM at
 * guest-physical 0): once the rights of its leaf are back for a step, other
 * accesses of that instruction (after a page walk through the leaf) exit no
 * more, so a write or access watch also hits when its bytes changed across
 * the step (what gdb reports of a write watchpoint anyway). FNV-1a, 64 bits. */
uint64_t ewatch_digest(const ewatch_set_t *s, int i, const uint8_t *ram, uint64_t ram_bytes);
/* The stop reply's reason for a hit of watch @i (RSP_STOP_WATCH, _RWATCH,
 * _AWATCH). */
enum rsp_stop_why ewatch_stop_why(const ewatch_set_t *s, int i);

#endif
