/*
 * tests/unit/test_insp_swbp.c - the inspector's software breakpoints
 * (inspector/swbp.c): int3 bytes (SDM Vol. 2A INT3) planted over the
 * guest's, hidden from gdb's reads and kept under its writes, and lifted
 * for one instruction of the guest that reads or writes there: it sees its
 * own bytes, its write over a breakpoint becomes the byte the breakpoint
 * keeps, and the int3 comes back (target.c hides them in execute-only EPT
 * leaves, SDM 28.3.2).
 */
#include "unit.h"
#include "../../inspector/swbp.h"
#include <string.h>

#define NBP  4
#define RAM  0x3000

static uint8_t ram[RAM];
static insp_swbp_t sw[NBP];

static void reset(void)
{
    memset(sw, 0, sizeof sw);
    for (unsigned i = 0; i < RAM; i++)
        ram[i] = (uint8_t)(i * 7 + 1);
    ram[0x1234] = 0x55;
    ram[0x2345] = 0x48;
}

static void test_plant_and_view(void)
{
    reset();
    insp_swbp_t *b = swbp_plant(sw, NBP, 0x401234, 0x1234, ram);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL(ram[0x1234], X86_OP_INT3);
    CU_ASSERT_EQUAL(b->saved, 0x55);
    CU_ASSERT_PTR_EQUAL(swbp_find(sw, NBP, 0x401234), b);
    CU_ASSERT_PTR_NULL(swbp_find(sw, NBP, 0x401235));
    CU_ASSERT(swbp_any(sw, NBP));
    /* gdb's read: the guest's byte, not ours. */
    uint8_t buf[4];
    memcpy(buf, ram + 0x1232, sizeof buf);
    swbp_mask(sw, NBP, 0x1232, buf, sizeof buf, false, ram);
    CU_ASSERT_EQUAL(buf[2], 0x55);
    CU_ASSERT_EQUAL(buf[0], ram[0x1232]);
    /* A read that ends right before it, or starts right after it, has none. */
    memcpy(buf, ram + 0x1230, sizeof buf);
    swbp_mask(sw, NBP, 0x1230, buf, sizeof buf, false, ram);
    CU_ASSERT_EQUAL(memcmp(buf, ram + 0x1230, sizeof buf), 0);
    /* gdb's write over it: the byte it keeps, the int3 stays. */
    const uint8_t w[2] = { 0x90, 0x91 };
    memcpy(ram + 0x1234, w, sizeof w);
    swbp_mask(sw, NBP, 0x1234, (uint8_t *)w, sizeof w, true, ram);
    CU_ASSERT_EQUAL(ram[0x1234], X86_OP_INT3);
    CU_ASSERT_EQUAL(ram[0x1235], 0x91);
    CU_ASSERT_EQUAL(b->saved, 0x90);
    /* Removed: the (new) byte back. */
    swbp_unplant(b, ram);
    CU_ASSERT_EQUAL(ram[0x1234], 0x90);
    CU_ASSERT(!swbp_any(sw, NBP));
}

static void test_full(void)
{
    reset();
    for (unsigned i = 0; i < NBP; i++)
        CU_ASSERT_PTR_NOT_NULL(swbp_plant(sw, NBP, 0x400000 + i, 0x100 + i, ram));
    CU_ASSERT_PTR_NULL(swbp_plant(sw, NBP, 0x400010, 0x110, ram));
    CU_ASSERT_NOT_EQUAL(ram[0x110], X86_OP_INT3);
}

static void test_leaf(void)
{
    reset();
    swbp_plant(sw, NBP, 0x401234, 0x1234, ram);
    CU_ASSERT(swbp_in_leaf(sw, NBP, 0x1000, 12));
    CU_ASSERT(swbp_in_leaf(sw, NBP, 0x1FFF, 12));
    CU_ASSERT(!swbp_in_leaf(sw, NBP, 0x2000, 12));
    CU_ASSERT(!swbp_in_leaf(sw, NBP, 0x0FFF, 12));
    CU_ASSERT(swbp_in_leaf(sw, NBP, 0x1FFFFF, 21));    /* the same 2 MiB leaf */
    CU_ASSERT(!swbp_in_leaf(sw, NBP, 0x200000, 21));
}

static uint64_t kept_gpa;
static bool keep(void *ctx, uint64_t gpa)
{
    (void)ctx;
    return gpa == kept_gpa;
}

static void test_lift_read_write_replant(void)
{
    reset();
    insp_swbp_t *a = swbp_plant(sw, NBP, 0x401234, 0x1234, ram);
    insp_swbp_t *b = swbp_plant(sw, NBP, 0x402345, 0x2345, ram);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    /* The guest reads its code: its bytes are there for the instruction. */
    swbp_lift(sw, NBP, ram, ~0ull, NULL, NULL);
    CU_ASSERT_EQUAL(ram[0x1234], 0x55);
    CU_ASSERT_EQUAL(ram[0x2345], 0x48);
    /* gdb's view meanwhile is RAM as it is. */
    uint8_t v = ram[0x1234];
    swbp_mask(sw, NBP, 0x1234, &v, 1, false, ram);
    CU_ASSERT_EQUAL(v, 0x55);
    /* It writes over one of them (a patch): that byte is kept. */
    ram[0x2345] = 0xB8;
    swbp_replant(sw, NBP, ram);
    CU_ASSERT_EQUAL(ram[0x1234], X86_OP_INT3);
    CU_ASSERT_EQUAL(ram[0x2345], X86_OP_INT3);
    CU_ASSERT_EQUAL(a->saved, 0x55);
    CU_ASSERT_EQUAL(b->saved, 0xB8);
    CU_ASSERT(!a->lifted && !b->lifted);
    /* A second replant changes nothing (no byte of ours taken as the guest's). */
    swbp_replant(sw, NBP, ram);
    CU_ASSERT_EQUAL(a->saved, 0x55);
    /* Removed after: the guest's patch, not the old byte. */
    swbp_unplant(b, ram);
    CU_ASSERT_EQUAL(ram[0x2345], 0xB8);
}

static void test_lift_spares_rip_and_kept(void)
{
    reset();
    insp_swbp_t *a = swbp_plant(sw, NBP, 0x401234, 0x1234, ram);
    insp_swbp_t *b = swbp_plant(sw, NBP, 0x402345, 0x2345, ram);
    insp_swbp_t *c = swbp_plant(sw, NBP, 0x400100, 0x100, ram);
    const uint8_t c_byte = c->saved;
    /* The instruction at 0x1234 is our int3 (the exit is its fetch's page
     * walk): it stays, to trap; the step's handler int3 at 0x100 too. */
    kept_gpa = 0x100;
    swbp_lift(sw, NBP, ram, 0x1234, keep, NULL);
    CU_ASSERT_EQUAL(ram[0x1234], X86_OP_INT3);
    CU_ASSERT(!a->lifted);
    CU_ASSERT_EQUAL(ram[0x100], X86_OP_INT3);
    CU_ASSERT(!c->lifted);
    CU_ASSERT_EQUAL(ram[0x2345], 0x48);
    CU_ASSERT(b->lifted);
    swbp_replant(sw, NBP, ram);
    /* Those not lifted keep their bytes (not our 0xCC as the guest's). */
    CU_ASSERT_EQUAL(a->saved, 0x55);
    CU_ASSERT_EQUAL(c->saved, c_byte);
    CU_ASSERT_EQUAL(b->saved, 0x48);
}

static void test_removed_while_lifted(void)
{
    reset();
    insp_swbp_t *a = swbp_plant(sw, NBP, 0x401234, 0x1234, ram);
    swbp_lift(sw, NBP, ram, ~0ull, NULL, NULL);
    ram[0x1234] = 0x31;                   /* the guest's write during the step */
    swbp_unplant(a, ram);                 /* detach meanwhile */
    CU_ASSERT_EQUAL(ram[0x1234], 0x31);   /* its byte, not the old one */
    swbp_replant(sw, NBP, ram);
    CU_ASSERT_EQUAL(ram[0x1234], 0x31);   /* and no int3 comes back */
}

static void test_overwritten_elsewhere(void)
{
    reset();
    insp_swbp_t *a = swbp_plant(sw, NBP, 0x401234, 0x1234, ram);
    /* A write through another mapping (the VMM's, a device's) over our
     * int3: at the next lift that byte is the guest's. */
    ram[0x1234] = 0x66;
    swbp_lift(sw, NBP, ram, ~0ull, NULL, NULL);
    CU_ASSERT_EQUAL(ram[0x1234], 0x66);
    swbp_replant(sw, NBP, ram);
    CU_ASSERT_EQUAL(a->saved, 0x66);
    CU_ASSERT_EQUAL(ram[0x1234], X86_OP_INT3);
}

static void test_lift_some_replant_some(void)
{
    reset();
    insp_swbp_t *a = swbp_plant(sw, NBP, 0x401234, 0x1234, ram);
    insp_swbp_t *b = swbp_plant(sw, NBP, 0x402345, 0x2345, ram);
    CU_ASSERT_PTR_NOT_NULL_FATAL(a);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    /* An inspector's step lifted a (kept b: the int3 about to run). */
    CU_ASSERT_EQUAL(swbp_lift(sw, NBP, ram, 0x2345, NULL, NULL), 1ULL << (a - sw));
    /* Another owner (nested-vmx for L1) lifts the rest: b alone. */
    const uint64_t mine = swbp_lift(sw, NBP, ram, ~0ull, NULL, NULL);
    CU_ASSERT_EQUAL(mine, 1ULL << (b - sw));
    CU_ASSERT_EQUAL(ram[0x1234], 0x55);
    CU_ASSERT_EQUAL(ram[0x2345], 0x48);
    /* L1 writes under b; its owner plants b again over that byte, and
     * leaves a to the step. */
    ram[0x2345] = 0x90;
    swbp_replant_some(sw, NBP, ram, mine);
    CU_ASSERT_EQUAL(ram[0x2345], X86_OP_INT3);
    CU_ASSERT_EQUAL(b->saved, 0x90);
    CU_ASSERT(!b->lifted);
    CU_ASSERT(a->lifted);
    CU_ASSERT_EQUAL(ram[0x1234], 0x55);
    swbp_replant(sw, NBP, ram);
    CU_ASSERT_EQUAL(ram[0x1234], X86_OP_INT3);
    /* Nothing lifted twice: a second lift of none returns none. */
    CU_ASSERT_EQUAL(swbp_lift(sw, NBP, ram, 0x1234, NULL, NULL), 1ULL << (b - sw));
    CU_ASSERT_EQUAL(swbp_lift(sw, NBP, ram, ~0ull, NULL, NULL), 1ULL << (a - sw));
    CU_ASSERT_EQUAL(swbp_lift(sw, NBP, ram, ~0ull, NULL, NULL), 0);
}

/* A step's temporary int3 at a handler's entry (target.c step_begin): not
 * gdb's (swbp_find does not see it, gdb may set its own at that address),
 * hidden from gdb's reads, lifted for the guest's access and planted again
 * like gdb's, and removed at the step's end; a byte the guest wrote over
 * it where nothing hid it (no execute-only EPT) stays the guest's. */
static void test_temporary(void)
{
    reset();
    insp_swbp_t *t = swbp_plant(sw, NBP, 0x401234, 0x1234, ram);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    t->temp = true;
    CU_ASSERT_PTR_NULL(swbp_find(sw, NBP, 0x401234));
    CU_ASSERT(swbp_in_leaf(sw, NBP, 0x1000, 12));
    uint8_t v = ram[0x1234];
    swbp_mask(sw, NBP, 0x1234, &v, 1, false, ram);
    CU_ASSERT_EQUAL(v, 0x55);
    swbp_lift(sw, NBP, ram, ~0ull, NULL, NULL);
    CU_ASSERT_EQUAL(ram[0x1234], 0x55);
    swbp_replant(sw, NBP, ram);
    CU_ASSERT_EQUAL(ram[0x1234], X86_OP_INT3);
    CU_ASSERT(t->temp);
    swbp_unplant(t, ram);
    CU_ASSERT_EQUAL(ram[0x1234], 0x55);
    CU_ASSERT(!swbp_any(sw, NBP));
    /* Its slot reused by one of gdb's: no longer temporary. */
    insp_swbp_t *g = swbp_plant(sw, NBP, 0x401234, 0x1234, ram);
    CU_ASSERT_PTR_EQUAL(g, t);
    CU_ASSERT(!g->temp);
    CU_ASSERT_PTR_EQUAL(swbp_find(sw, NBP, 0x401234), g);
    /* Written over where nothing hides it: removed, the guest's byte stays. */
    ram[0x1234] = 0xB8;
    swbp_unplant(g, ram);
    CU_ASSERT_EQUAL(ram[0x1234], 0xB8);
}

UNIT_SUITE(insp_swbp_suite)
{
    CU_pSuite s = CU_add_suite("inspector: software breakpoints", NULL, NULL);
    CU_add_test(s, "planted, hidden from gdb's reads, kept under its writes",
                test_plant_and_view);
    CU_add_test(s, "no room: nothing planted", test_full);
    CU_add_test(s, "which leaf holds one", test_leaf);
    CU_add_test(s, "lifted for the guest's access, its write kept, planted again",
                test_lift_read_write_replant);
    CU_add_test(s, "the int3 about to run and a step's stay", test_lift_spares_rip_and_kept);
    CU_add_test(s, "removed while lifted", test_removed_while_lifted);
    CU_add_test(s, "overwritten through another mapping", test_overwritten_elsewhere);
    CU_add_test(s, "lifted by two owners, each planting back its own",
                test_lift_some_replant_some);
    CU_add_test(s, "a step's temporary one", test_temporary);
}
