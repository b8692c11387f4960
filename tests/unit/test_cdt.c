/*
 * tests/unit/test_cdt.c - the capability derivation list and CNode address
 * resolution, on host memory (NESTOR_HOST_TEST: objects are plain pointers).
 */
#include "unit.h"
#include "kernel/cap.h"
#include "kernel/cspace.h"
#include <stdlib.h>
#include <string.h>

static cte_t slots[16];
static uint8_t memory[1 << 16] __attribute__((aligned(1 << 16)));

static int setup(void)
{
    memset(slots, 0, sizeof(slots));
    return 0;
}

static cap_t untyped(void)
{
    return (cap_t){ .type = NESTOR_OBJ_UNTYPED, .rights = NESTOR_RIGHTS_ALL, .size_bits = 16,
                    .obj = (uint64_t)(uintptr_t)memory };
}

static cap_t endpoint(unsigned offset, uint64_t badge)
{
    return (cap_t){ .type = NESTOR_OBJ_ENDPOINT, .rights = NESTOR_RIGHTS_ALL,
                    .obj = (uint64_t)(uintptr_t)(memory + offset), .word1 = badge };
}

static void test_retyped_objects_are_children(void)
{
    setup();
    cdt_insert_root(&slots[0], untyped());
    cdt_insert(&slots[0], &slots[1], endpoint(0, 0), true, false);
    cdt_insert(&slots[0], &slots[2], endpoint(64, 0), true, false);
    CU_ASSERT_TRUE(cdt_is_parent(&slots[0], &slots[2]));
    CU_ASSERT_PTR_EQUAL(cdt_first_child(&slots[0]), &slots[2]);
    CU_ASSERT_PTR_EQUAL(slots[2].next, &slots[1]);
    CU_ASSERT_PTR_EQUAL(slots[1].prev, &slots[2]);
    /* Two different endpoints: neither is the other's parent. */
    CU_ASSERT_FALSE(cdt_is_parent(&slots[2], &slots[1]));
    CU_ASSERT_TRUE(cdt_is_final(&slots[1]));
    CU_ASSERT_TRUE(cdt_is_final(&slots[2]));
}

static void test_copies_and_finality(void)
{
    setup();
    cdt_insert_root(&slots[0], untyped());
    cdt_insert(&slots[0], &slots[1], endpoint(0, 0), true, false);
    cdt_insert(&slots[1], &slots[2], endpoint(0, 0), false, false);   /* a copy */
    CU_ASSERT_TRUE(cdt_is_parent(&slots[1], &slots[2]));
    CU_ASSERT_FALSE(cdt_is_parent(&slots[2], &slots[1]));
    CU_ASSERT_FALSE(cdt_is_final(&slots[1]));
    CU_ASSERT_FALSE(cdt_is_final(&slots[2]));
    cdt_remove(&slots[1]);
    CU_ASSERT_TRUE(cap_is_null(&slots[1].cap));
    CU_ASSERT_TRUE(cdt_is_final(&slots[2]));
    /* The copy now follows the untyped, which is its ancestor again. */
    CU_ASSERT_PTR_EQUAL(slots[0].next, &slots[2]);
    CU_ASSERT_TRUE(cdt_is_parent(&slots[0], &slots[2]));
}

static void test_badges(void)
{
    setup();
    cdt_insert_root(&slots[0], endpoint(0, 0));
    cdt_insert(&slots[0], &slots[1], endpoint(0, 5), true, true);      /* mint badge 5 */
    cdt_insert(&slots[1], &slots[2], endpoint(0, 5), false, false);    /* copy of it */
    cdt_insert(&slots[0], &slots[3], endpoint(0, 7), true, true);      /* mint badge 7 */
    /* Order: 0, 3(b7), 1(b5), 2(b5 copy). */
    CU_ASSERT_TRUE(cdt_is_parent(&slots[0], &slots[3]));
    CU_ASSERT_TRUE(cdt_is_parent(&slots[1], &slots[2]));
    CU_ASSERT_FALSE(cdt_is_parent(&slots[3], &slots[1]));   /* other badge */
    CU_ASSERT_FALSE(cdt_is_parent(&slots[1], &slots[3]));
    /* A second first-badged cap of the same badge is not a child. */
    cte_t other = { 0 };
    cdt_insert(&slots[2], &other, endpoint(0, 5), true, true);
    CU_ASSERT_FALSE(cdt_is_parent(&slots[1], &other));
    CU_ASSERT_EQUAL(cap_badge(&slots[3].cap), 7);
}

static void test_move_keeps_position(void)
{
    setup();
    cdt_insert_root(&slots[0], untyped());
    cdt_insert(&slots[0], &slots[1], endpoint(0, 0), true, false);
    cdt_insert(&slots[1], &slots[2], endpoint(0, 0), false, false);
    cdt_move(&slots[1], &slots[5], slots[1].cap);
    CU_ASSERT_TRUE(cap_is_null(&slots[1].cap));
    CU_ASSERT_PTR_EQUAL(slots[0].next, &slots[5]);
    CU_ASSERT_PTR_EQUAL(slots[5].next, &slots[2]);
    CU_ASSERT_PTR_EQUAL(slots[2].prev, &slots[5]);
    CU_ASSERT_TRUE(slots[5].revocable);
    CU_ASSERT_TRUE(cdt_is_parent(&slots[5], &slots[2]));
}

static void test_regions(void)
{
    cap_t u = untyped(), ep = endpoint(128, 0), outside = endpoint(0, 0);
    outside.obj = (uint64_t)(uintptr_t)memory + sizeof(memory);
    CU_ASSERT_TRUE(cap_same_region(&u, &ep));
    CU_ASSERT_FALSE(cap_same_region(&u, &outside));
    CU_ASSERT_FALSE(cap_same_region(&ep, &u));
    cap_t small = { .type = NESTOR_OBJ_UNTYPED, .size_bits = 12, .obj = u.obj + 4096 };
    CU_ASSERT_TRUE(cap_same_region(&u, &small));
    CU_ASSERT_FALSE(cap_same_object(&u, &small));
    cap_t ports = { .type = NESTOR_OBJ_IOPORT, .obj = IOPORT_RANGE(0x40, 0x43) };
    cap_t sub = { .type = NESTOR_OBJ_IOPORT, .obj = IOPORT_RANGE(0x41, 0x42) };
    CU_ASSERT_TRUE(cap_same_region(&ports, &sub));
    CU_ASSERT_FALSE(cap_same_region(&sub, &ports));
    cap_t null = { 0 };
    CU_ASSERT_FALSE(cap_same_region(&null, &null));
    CU_ASSERT_FALSE(cap_same_object(&null, &null));
}

static void test_object_sizes(void)
{
    CU_ASSERT_EQUAL(obj_type_bits(NESTOR_OBJ_CNODE, 4), 4 + NESTOR_CNODE_SLOT_BITS);
    CU_ASSERT_EQUAL(obj_type_bits(NESTOR_OBJ_CNODE, 0), -1);
    CU_ASSERT_EQUAL(obj_type_bits(NESTOR_OBJ_CNODE, NESTOR_CNODE_MAX_RADIX + 1), -1);
    CU_ASSERT_EQUAL(obj_type_bits(NESTOR_OBJ_UNTYPED, 3), -1);
    CU_ASSERT_EQUAL(obj_type_bits(NESTOR_OBJ_UNTYPED, 20), 20);
    CU_ASSERT_EQUAL(obj_type_bits(NESTOR_OBJ_TCB, 99), NESTOR_TCB_BITS);
    CU_ASSERT_EQUAL(obj_type_bits(NESTOR_OBJ_IRQ_HANDLER, 0), -1);
}

/* ---- CNode address resolution ---- */

static cte_t *cnode_mem(unsigned radix)
{
    return calloc(1u << radix, sizeof(cte_t));
}

static cap_t cnode_cap(cte_t *mem, unsigned radix, unsigned gbits, uint64_t guard)
{
    return (cap_t){ .type = NESTOR_OBJ_CNODE, .rights = NESTOR_RIGHTS_ALL,
                    .size_bits = (uint8_t)radix, .guard_bits = (uint8_t)gbits, .word1 = guard,
                    .obj = (uint64_t)(uintptr_t)mem };
}

static void test_lookup_single_level(void)
{
    cte_t *root = cnode_mem(12);
    cap_t rc = cnode_cap(root, 12, 52, 0);
    lookup_t lu;
    CU_ASSERT_EQUAL(cspace_lookup(&rc, 5, 64, &lu), NESTOR_OK);
    CU_ASSERT_PTR_EQUAL(lu.slot, &root[5]);
    CU_ASSERT_EQUAL(lu.bits_left, 0);
    CU_ASSERT_EQUAL(cspace_lookup(&rc, 4095, 64, &lu), NESTOR_OK);
    CU_ASSERT_PTR_EQUAL(lu.slot, &root[4095]);
    CU_ASSERT_EQUAL(cspace_lookup(&rc, 1ULL << 12, 64, &lu), NESTOR_ERR_FAILED_LOOKUP);
    CU_ASSERT_EQUAL(cspace_lookup(&rc, 5, 32, &lu), NESTOR_ERR_FAILED_LOOKUP);
    CU_ASSERT_EQUAL(cspace_lookup(&rc, 5, 0, &lu), NESTOR_ERR_RANGE);
    CU_ASSERT_EQUAL(cspace_lookup(&rc, 5, 65, &lu), NESTOR_ERR_RANGE);
    cap_t notcn = { .type = NESTOR_OBJ_ENDPOINT };
    CU_ASSERT_EQUAL(cspace_lookup(&notcn, 5, 64, &lu), NESTOR_ERR_FAILED_LOOKUP);
    free(root);
}

static void test_lookup_two_levels(void)
{
    /* Root: radix 8, no guard; slot 3 holds a radix-4 CNode with an 8-bit guard 0xAB. */
    cte_t *root = cnode_mem(8), *leaf = cnode_mem(4);
    cap_t rc = cnode_cap(root, 8, 0, 0);
    root[3].cap = cnode_cap(leaf, 4, 8, 0xAB);
    lookup_t lu;
    uint64_t cptr = (3ULL << 12) | (0xABULL << 4) | 9;       /* 8 + 8 + 4 = 20 bits */
    CU_ASSERT_EQUAL(cspace_lookup(&rc, cptr, 20, &lu), NESTOR_OK);
    CU_ASSERT_PTR_EQUAL(lu.slot, &leaf[9]);
    CU_ASSERT_EQUAL(lu.bits_left, 0);
    /* Stopping at depth 8 names the slot holding the CNode itself. */
    CU_ASSERT_EQUAL(cspace_lookup(&rc, 3, 8, &lu), NESTOR_OK);
    CU_ASSERT_PTR_EQUAL(lu.slot, &root[3]);
    /* A wrong guard fails; a depth ending inside the leaf level fails. */
    CU_ASSERT_EQUAL(cspace_lookup(&rc, (3ULL << 12) | (0xACULL << 4) | 9, 20, &lu),
                    NESTOR_ERR_FAILED_LOOKUP);
    CU_ASSERT_EQUAL(cspace_lookup(&rc, cptr >> 2, 18, &lu), NESTOR_ERR_FAILED_LOOKUP);
    /* Bits left over at a non-CNode slot are reported, not followed. */
    CU_ASSERT_EQUAL(cspace_lookup(&rc, (5ULL << 12) | 1, 20, &lu), NESTOR_OK);
    CU_ASSERT_PTR_EQUAL(lu.slot, &root[5]);
    CU_ASSERT_EQUAL(lu.bits_left, 12);
    free(root);
    free(leaf);
}

static void test_lookup_cycle_terminates(void)
{
    /* A CNode that contains itself: resolution must still end (depth bound). */
    cte_t *cn = cnode_mem(2);
    cap_t c = cnode_cap(cn, 2, 0, 0);
    cn[0].cap = c;
    lookup_t lu;
    CU_ASSERT_EQUAL(cspace_lookup(&c, 0, 64, &lu), NESTOR_OK);
    CU_ASSERT_PTR_EQUAL(lu.slot, &cn[0]);
    free(cn);
}

static cap_t frame(uint8_t type, uint64_t addr)
{
    return (cap_t){ .type = type, .rights = NESTOR_RIGHTS_ALL, .obj = addr,
                    .size_bits = type == NESTOR_OBJ_FRAME_2M ? NESTOR_FRAME_2M_BITS
                                                             : NESTOR_FRAME_4K_BITS };
}

/* NESTOR_FRAME_SLICE: 4 KiB slices are children of the 2 MiB frame's
 * original (not of its copies, which are never revocable), and all
 * capabilities to the frame and its slices form one run of the list. */
static void test_frame_slices(void)
{
    enum { BIG = 0x40000000 };
    setup();
    cdt_insert_root(&slots[0], frame(NESTOR_OBJ_FRAME_2M, BIG));
    cdt_insert(&slots[0], &slots[1], frame(NESTOR_OBJ_FRAME_2M, BIG), false, false); /* copy */
    cdt_insert(&slots[0], &slots[2], frame(NESTOR_OBJ_FRAME_4K, BIG + 0x1FF000), true, false);
    cdt_insert(&slots[1], &slots[3], frame(NESTOR_OBJ_FRAME_4K, BIG + 0x3000), true, false);
    cdt_insert(&slots[3], &slots[4], frame(NESTOR_OBJ_FRAME_4K, BIG + 0x3000), false, false);
    /* Order: 0 (original), 2 (slice 511), 1 (copy), 3 (slice 3), 4 (its copy). */
    CU_ASSERT_TRUE(cap_is_slice_of(&slots[2].cap, &slots[0].cap));
    CU_ASSERT_FALSE(cap_is_slice_of(&slots[0].cap, &slots[0].cap));
    cap_t next_frame = frame(NESTOR_OBJ_FRAME_4K, BIG + 0x200000);
    CU_ASSERT_FALSE(cap_is_slice_of(&next_frame, &slots[0].cap));
    CU_ASSERT_FALSE(cap_is_slice_of(&slots[3].cap, &slots[2].cap));   /* no slice of a slice */
    CU_ASSERT_TRUE(cdt_is_parent(&slots[0], &slots[2]));
    CU_ASSERT_FALSE(cdt_is_parent(&slots[1], &slots[3]));            /* a copy has no children */
    CU_ASSERT_TRUE(cdt_is_parent(&slots[3], &slots[4]));             /* a slice's copies are */
    CU_ASSERT_FALSE(cdt_is_parent(&slots[2], &slots[1]));
    CU_ASSERT_TRUE(cdt_is_final(&slots[2]));
    CU_ASSERT_FALSE(cdt_is_final(&slots[0]));
    /* The run, from any 2 MiB capability of it. */
    CU_ASSERT_PTR_EQUAL(cdt_frame_run_first(&slots[1]), &slots[0]);
    unsigned n = 0;
    for (cte_t *r = cdt_frame_run_first(&slots[1]); r; r = cdt_frame_run_next(r, &slots[1].cap))
        n++;
    CU_ASSERT_EQUAL(n, 5);
    /* Revoking the original: every slice is a child, copies of slices too. */
    n = 0;
    while (cdt_first_child(&slots[0])) {
        cdt_remove(cdt_first_child(&slots[0]));
        n++;
    }
    CU_ASSERT_EQUAL(n, 4);
    CU_ASSERT_PTR_NULL(slots[0].next);
}

UNIT_SUITE(cdt_suite)
{
    CU_pSuite s = CU_add_suite("capability derivation and lookup", NULL, NULL);
    CU_add_test(s, "retyped objects are children of the untyped", test_retyped_objects_are_children);
    CU_add_test(s, "copies and finality", test_copies_and_finality);
    CU_add_test(s, "badged endpoint derivation", test_badges);
    CU_add_test(s, "move keeps the tree position", test_move_keeps_position);
    CU_add_test(s, "same region / same object", test_regions);
    CU_add_test(s, "object sizes", test_object_sizes);
    CU_add_test(s, "2 MiB frame slices and their run", test_frame_slices);
    CU_add_test(s, "lookup in one guarded CNode", test_lookup_single_level);
    CU_add_test(s, "lookup through two levels with a guard", test_lookup_two_levels);
    CU_add_test(s, "lookup through a self-containing CNode ends", test_lookup_cycle_terminates);
}
