/* tests/kernel/test_caps.c - capabilities, CNodes and untyped memory. */
#include "ktest.h"

KTEST(identify_initial_caps)
{
    nestor_word_t type, rights, extra;
    KT_OK(nu_cap_identify(NESTOR_CAP_INIT_TCB, &type, &rights, &extra));
    KT_EQ(type, NESTOR_OBJ_TCB);
    KT_OK(nu_cap_identify(NESTOR_CAP_INIT_CNODE, &type, &rights, &extra));
    KT_EQ(type, NESTOR_OBJ_CNODE);
    KT_EQ(extra, NESTOR_ROOT_CNODE_RADIX);
    KT_OK(nu_cap_identify(NESTOR_CAP_INIT_VSPACE, &type, 0, 0));
    KT_EQ(type, NESTOR_OBJ_PML4);
    KT_OK(nu_cap_identify(env_untyped(), &type, 0, &extra));
    KT_EQ(type, NESTOR_OBJ_UNTYPED);
    KT_ASSERT(extra >= 16);
    return KT_PASS;
}

KTEST(retype_endpoint)
{
    nestor_cptr_t ep = env_obj(NESTOR_OBJ_ENDPOINT, 0);
    nestor_word_t type, rights;
    KT_OK(nu_cap_identify(ep, &type, &rights, 0));
    KT_EQ(type, NESTOR_OBJ_ENDPOINT);
    KT_EQ(rights, NESTOR_RIGHTS_ALL);
    return KT_PASS;
}

KTEST(retype_every_type)
{
    static const struct { nestor_word_t type, bits; } objs[] = {
        { NESTOR_OBJ_UNTYPED, 12 }, { NESTOR_OBJ_CNODE, 4 }, { NESTOR_OBJ_TCB, 0 },
        { NESTOR_OBJ_ENDPOINT, 0 }, { NESTOR_OBJ_NOTIFICATION, 0 }, { NESTOR_OBJ_FRAME_4K, 0 },
        { NESTOR_OBJ_FRAME_2M, 0 }, { NESTOR_OBJ_PML4, 0 }, { NESTOR_OBJ_PDPT, 0 },
        { NESTOR_OBJ_PD, 0 }, { NESTOR_OBJ_PT, 0 },
    };
    for (unsigned i = 0; i < sizeof(objs) / sizeof(objs[0]); i++) {
        nestor_cptr_t s = env_slot();
        KT_OK(nu_untyped_retype(env_untyped(), objs[i].type, objs[i].bits, ROOT_CNODE, 0, 0, s, 1));
        nestor_word_t type;
        KT_OK(nu_cap_identify(s, &type, 0, 0));
        KT_EQ(type, objs[i].type);
    }
    return KT_PASS;
}

KTEST(retype_several_at_once)
{
    nestor_cptr_t s = env_slot();
    for (int i = 1; i < 8; i++)
        env_slot();
    KT_OK(nu_untyped_retype(env_untyped(), NESTOR_OBJ_ENDPOINT, 0, ROOT_CNODE, 0, 0, s, 8));
    for (int i = 0; i < 8; i++) {
        nestor_word_t type;
        KT_OK(nu_cap_identify(s + i, &type, 0, 0));
        KT_EQ(type, NESTOR_OBJ_ENDPOINT);
    }
    return KT_PASS;
}

KTEST(retype_into_occupied_slot_refused)
{
    nestor_cptr_t ep = env_obj(NESTOR_OBJ_ENDPOINT, 0);
    KT_EQ(nu_untyped_retype(env_untyped(), NESTOR_OBJ_ENDPOINT, 0, ROOT_CNODE, 0, 0, ep, 1),
          NESTOR_ERR_DELETE_FIRST);
    return KT_PASS;
}

KTEST(retype_bad_type_refused)
{
    nestor_cptr_t s = env_slot();
    KT_EQ(nu_untyped_retype(env_untyped(), 0, 0, ROOT_CNODE, 0, 0, s, 1),
          NESTOR_ERR_INVALID_ARGUMENT);
    KT_EQ(nu_untyped_retype(env_untyped(), NESTOR_OBJ_IRQ_HANDLER, 0, ROOT_CNODE, 0, 0, s, 1),
          NESTOR_ERR_INVALID_ARGUMENT);
    KT_EQ(nu_untyped_retype(env_untyped(), 9999, 0, ROOT_CNODE, 0, 0, s, 1),
          NESTOR_ERR_INVALID_ARGUMENT);
    return KT_PASS;
}

KTEST(retype_size_and_count_ranges)
{
    nestor_cptr_t s = env_slot();
    KT_EQ(nu_untyped_retype(env_untyped(), NESTOR_OBJ_CNODE, 0, ROOT_CNODE, 0, 0, s, 1),
          NESTOR_ERR_RANGE);
    KT_EQ(nu_untyped_retype(env_untyped(), NESTOR_OBJ_CNODE, 21, ROOT_CNODE, 0, 0, s, 1),
          NESTOR_ERR_RANGE);
    KT_EQ(nu_untyped_retype(env_untyped(), NESTOR_OBJ_UNTYPED, 3, ROOT_CNODE, 0, 0, s, 1),
          NESTOR_ERR_RANGE);
    KT_EQ(nu_untyped_retype(env_untyped(), NESTOR_OBJ_ENDPOINT, 0, ROOT_CNODE, 0, 0, s, 0),
          NESTOR_ERR_RANGE);
    KT_EQ(nu_untyped_retype(env_untyped(), NESTOR_OBJ_ENDPOINT, 0, ROOT_CNODE, 0, 0, 4095, 2),
          NESTOR_ERR_RANGE);
    return KT_PASS;
}

KTEST(retype_too_small_untyped)
{
    nestor_cptr_t small = env_obj(NESTOR_OBJ_UNTYPED, 12);
    nestor_cptr_t s = env_slot();
    env_slot();
    nestor_word_t res[2];
    nestor_cptr_t root = ROOT_CNODE;
    const nestor_word_t args[] = { NESTOR_OBJ_TCB, 0, 0, 0, s, 2 };
    KT_EQ(nu_invoke(small, NESTOR_UNTYPED_RETYPE, args, 6, &root, 1, res, 2),
          NESTOR_ERR_NOT_ENOUGH_MEMORY);
    KT_EQ(res[0], 4096);        /* what is left: one page */
    KT_OK(nu_untyped_retype(small, NESTOR_OBJ_TCB, 0, ROOT_CNODE, 0, 0, s, 1));
    KT_EQ(nu_untyped_retype(small, NESTOR_OBJ_ENDPOINT, 0, ROOT_CNODE, 0, 0, s + 1, 1),
          NESTOR_ERR_NOT_ENOUGH_MEMORY);
    return KT_PASS;
}

KTEST(untyped_watermark_resets_on_revoke)
{
    nestor_cptr_t small = env_obj(NESTOR_OBJ_UNTYPED, 13);
    nestor_cptr_t a = env_slot(), b = env_slot(), c = env_slot();
    KT_OK(nu_untyped_retype(small, NESTOR_OBJ_FRAME_4K, 0, ROOT_CNODE, 0, 0, a, 1));
    KT_OK(nu_untyped_retype(small, NESTOR_OBJ_FRAME_4K, 0, ROOT_CNODE, 0, 0, b, 1));
    KT_EQ(nu_untyped_retype(small, NESTOR_OBJ_FRAME_4K, 0, ROOT_CNODE, 0, 0, c, 1),
          NESTOR_ERR_NOT_ENOUGH_MEMORY);
    KT_OK(nu_cnode_revoke(ROOT_CNODE, small, ROOT_DEPTH));
    KT_EQ(nu_cap_identify(a, 0, 0, 0), NESTOR_ERR_INVALID_CAPABILITY);
    KT_OK(nu_untyped_retype(small, NESTOR_OBJ_FRAME_4K, 0, ROOT_CNODE, 0, 0, c, 1));
    KT_OK(nu_untyped_retype(small, NESTOR_OBJ_FRAME_4K, 0, ROOT_CNODE, 0, 0, a, 1));
    return KT_PASS;
}

KTEST(untyped_copy_refused)
{
    nestor_cptr_t small = env_obj(NESTOR_OBJ_UNTYPED, 12);
    nestor_cptr_t d = env_slot();
    KT_EQ(nu_cnode_copy(ROOT_CNODE, d, ROOT_DEPTH, ROOT_CNODE, small, ROOT_DEPTH,
                        NESTOR_RIGHTS_ALL), NESTOR_ERR_ILLEGAL_OPERATION);
    return KT_PASS;
}

KTEST(copy_reduces_rights)
{
    nestor_cptr_t ep = env_obj(NESTOR_OBJ_ENDPOINT, 0), d = env_slot();
    KT_OK(nu_cnode_copy(ROOT_CNODE, d, ROOT_DEPTH, ROOT_CNODE, ep, ROOT_DEPTH, NESTOR_RIGHT_READ));
    nestor_word_t rights;
    KT_OK(nu_cap_identify(d, 0, &rights, 0));
    KT_EQ(rights, NESTOR_RIGHT_READ);
    /* Rights only shrink: copying back with all rights keeps READ only. */
    nestor_cptr_t e = env_slot();
    KT_OK(nu_cnode_copy(ROOT_CNODE, e, ROOT_DEPTH, ROOT_CNODE, d, ROOT_DEPTH, NESTOR_RIGHTS_ALL));
    KT_OK(nu_cap_identify(e, 0, &rights, 0));
    KT_EQ(rights, NESTOR_RIGHT_READ);
    return KT_PASS;
}

KTEST(mint_sets_badge_once)
{
    nestor_cptr_t ep = env_obj(NESTOR_OBJ_ENDPOINT, 0), a = env_slot(), b = env_slot();
    KT_OK(nu_cnode_mint(ROOT_CNODE, a, ROOT_DEPTH, ROOT_CNODE, ep, ROOT_DEPTH,
                        NESTOR_RIGHTS_ALL, 42));
    nestor_word_t badge;
    KT_OK(nu_cap_identify(a, 0, 0, &badge));
    KT_EQ(badge, 42);
    KT_OK(nu_cnode_mint(ROOT_CNODE, b, ROOT_DEPTH, ROOT_CNODE, a, ROOT_DEPTH,
                        NESTOR_RIGHTS_ALL, 7));
    KT_OK(nu_cap_identify(b, 0, 0, &badge));
    KT_EQ(badge, 42);
    return KT_PASS;
}

KTEST(move_and_mutate)
{
    nestor_cptr_t ep = env_obj(NESTOR_OBJ_ENDPOINT, 0), a = env_slot(), b = env_slot();
    KT_OK(nu_cnode_move(ROOT_CNODE, a, ROOT_DEPTH, ROOT_CNODE, ep, ROOT_DEPTH));
    KT_EQ(nu_cap_identify(ep, 0, 0, 0), NESTOR_ERR_INVALID_CAPABILITY);
    nestor_word_t type, badge;
    KT_OK(nu_cap_identify(a, &type, 0, 0));
    KT_EQ(type, NESTOR_OBJ_ENDPOINT);
    KT_OK(nu_cnode_mutate(ROOT_CNODE, b, ROOT_DEPTH, ROOT_CNODE, a, ROOT_DEPTH, 9));
    KT_OK(nu_cap_identify(b, &type, 0, &badge));
    KT_EQ(badge, 9);
    KT_EQ(nu_cap_identify(a, 0, 0, 0), NESTOR_ERR_INVALID_CAPABILITY);
    return KT_PASS;
}

KTEST(move_into_full_slot_and_from_empty_refused)
{
    nestor_cptr_t a = env_obj(NESTOR_OBJ_ENDPOINT, 0), b = env_obj(NESTOR_OBJ_ENDPOINT, 0);
    nestor_cptr_t empty = env_slot(), other = env_slot();
    KT_EQ(nu_cnode_move(ROOT_CNODE, b, ROOT_DEPTH, ROOT_CNODE, a, ROOT_DEPTH),
          NESTOR_ERR_DELETE_FIRST);
    KT_EQ(nu_cnode_move(ROOT_CNODE, other, ROOT_DEPTH, ROOT_CNODE, empty, ROOT_DEPTH),
          NESTOR_ERR_FAILED_LOOKUP);
    return KT_PASS;
}

KTEST(delete_and_double_delete)
{
    nestor_cptr_t ep = env_obj(NESTOR_OBJ_ENDPOINT, 0);
    KT_OK(nu_cnode_delete(ROOT_CNODE, ep, ROOT_DEPTH));
    KT_EQ(nu_cap_identify(ep, 0, 0, 0), NESTOR_ERR_INVALID_CAPABILITY);
    /* Deleting an empty slot is harmless. */
    KT_OK(nu_cnode_delete(ROOT_CNODE, ep, ROOT_DEPTH));
    return KT_PASS;
}

KTEST(revoke_deletes_all_derived)
{
    nestor_cptr_t ep = env_obj(NESTOR_OBJ_ENDPOINT, 0), a = env_slot(), b = env_slot();
    KT_OK(nu_cnode_copy(ROOT_CNODE, a, ROOT_DEPTH, ROOT_CNODE, ep, ROOT_DEPTH, NESTOR_RIGHTS_ALL));
    KT_OK(nu_cnode_copy(ROOT_CNODE, b, ROOT_DEPTH, ROOT_CNODE, a, ROOT_DEPTH, NESTOR_RIGHTS_ALL));
    KT_OK(nu_cnode_revoke(ROOT_CNODE, ep, ROOT_DEPTH));
    KT_EQ(nu_cap_identify(a, 0, 0, 0), NESTOR_ERR_INVALID_CAPABILITY);
    KT_EQ(nu_cap_identify(b, 0, 0, 0), NESTOR_ERR_INVALID_CAPABILITY);
    KT_OK(nu_cap_identify(ep, 0, 0, 0));
    return KT_PASS;
}

KTEST(revoke_badged_keeps_other_badges)
{
    nestor_cptr_t ep = env_obj(NESTOR_OBJ_ENDPOINT, 0);
    nestor_cptr_t b1 = env_slot(), b1c = env_slot(), b2 = env_slot(), plain = env_slot();
    KT_OK(nu_cnode_mint(ROOT_CNODE, b1, ROOT_DEPTH, ROOT_CNODE, ep, ROOT_DEPTH, 15, 1));
    KT_OK(nu_cnode_copy(ROOT_CNODE, b1c, ROOT_DEPTH, ROOT_CNODE, b1, ROOT_DEPTH, 15));
    KT_OK(nu_cnode_mint(ROOT_CNODE, b2, ROOT_DEPTH, ROOT_CNODE, ep, ROOT_DEPTH, 15, 2));
    KT_OK(nu_cnode_copy(ROOT_CNODE, plain, ROOT_DEPTH, ROOT_CNODE, ep, ROOT_DEPTH, 15));
    KT_OK(nu_cnode_revoke(ROOT_CNODE, b1, ROOT_DEPTH));
    KT_EQ(nu_cap_identify(b1c, 0, 0, 0), NESTOR_ERR_INVALID_CAPABILITY);
    KT_OK(nu_cap_identify(b1, 0, 0, 0));
    KT_OK(nu_cap_identify(b2, 0, 0, 0));
    KT_OK(nu_cap_identify(plain, 0, 0, 0));
    /* Revoking the original removes every badge. */
    KT_OK(nu_cnode_revoke(ROOT_CNODE, ep, ROOT_DEPTH));
    KT_EQ(nu_cap_identify(b1, 0, 0, 0), NESTOR_ERR_INVALID_CAPABILITY);
    KT_EQ(nu_cap_identify(b2, 0, 0, 0), NESTOR_ERR_INVALID_CAPABILITY);
    KT_EQ(nu_cap_identify(plain, 0, 0, 0), NESTOR_ERR_INVALID_CAPABILITY);
    return KT_PASS;
}

KTEST(bad_depth_and_slot_refused)
{
    nestor_cptr_t ep = env_obj(NESTOR_OBJ_ENDPOINT, 0);
    KT_EQ(nu_cnode_delete(ROOT_CNODE, ep, 0), NESTOR_ERR_RANGE);
    KT_EQ(nu_cnode_delete(ROOT_CNODE, ep, 65), NESTOR_ERR_RANGE);
    KT_EQ(nu_cnode_delete(ROOT_CNODE, ep, 12), NESTOR_ERR_FAILED_LOOKUP);
    /* A cptr whose guard bits are not zero does not resolve. */
    KT_EQ(nu_cap_identify(ep | (1ULL << 40), 0, 0, 0), NESTOR_ERR_FAILED_LOOKUP);
    return KT_PASS;
}

KTEST(wrong_object_for_invocation)
{
    nestor_word_t res[2];
    KT_EQ(nu_invoke(NESTOR_CAP_INIT_TCB, NESTOR_CNODE_COPY, 0, 0, 0, 0, res, 2),
          NESTOR_ERR_ILLEGAL_OPERATION);
    KT_EQ(nu_invoke(env_untyped(), NESTOR_TCB_RESUME, 0, 0, 0, 0, res, 2),
          NESTOR_ERR_ILLEGAL_OPERATION);
    KT_EQ(nu_invoke(ROOT_CNODE, 12345, 0, 0, 0, 0, res, 2), NESTOR_ERR_ILLEGAL_OPERATION);
    return KT_PASS;
}

KTEST(invocation_on_empty_slot)
{
    nestor_cptr_t s = env_slot();
    KT_EQ(nu_cnode_delete(s, 0, 64), NESTOR_ERR_INVALID_CAPABILITY);
    nu_msg_t m = { 0 };
    KT_EQ(nu_call(s, &m), NESTOR_ERR_INVALID_CAPABILITY);
    return KT_PASS;
}

KTEST(truncated_message_refused)
{
    nestor_word_t res[2];
    const nestor_word_t args[] = { NESTOR_OBJ_ENDPOINT, 0 };
    nestor_cptr_t root = ROOT_CNODE;
    KT_EQ(nu_invoke(env_untyped(), NESTOR_UNTYPED_RETYPE, args, 2, &root, 1, res, 2),
          NESTOR_ERR_TRUNCATED_MESSAGE);
    KT_EQ(res[0], 3);   /* the first missing argument, counted from 1 */
    return KT_PASS;
}

KTEST(missing_extra_cap_refused)
{
    nestor_word_t res[2];
    const nestor_word_t args[] = { NESTOR_OBJ_ENDPOINT, 0, 0, 0, env_slot(), 1 };
    KT_EQ(nu_invoke(env_untyped(), NESTOR_UNTYPED_RETYPE, args, 6, 0, 0, res, 2),
          NESTOR_ERR_INVALID_CAPABILITY);
    KT_EQ(res[0], 1);
    nestor_cptr_t bogus = env_slot();
    KT_EQ(nu_invoke(env_untyped(), NESTOR_UNTYPED_RETYPE, args, 6, &bogus, 1, res, 2),
          NESTOR_ERR_INVALID_CAPABILITY);
    return KT_PASS;
}

KTEST(cnode_guard_addressing)
{
    /* A radix-4 CNode minted with a 60-bit zero guard resolves 64-bit cptrs. */
    nestor_cptr_t cn = env_obj(NESTOR_OBJ_CNODE, 4), g = env_slot();
    KT_OK(nu_cnode_mint(ROOT_CNODE, g, ROOT_DEPTH, ROOT_CNODE, cn, ROOT_DEPTH,
                        NESTOR_RIGHTS_ALL, 60));
    nestor_cptr_t ep = env_obj(NESTOR_OBJ_ENDPOINT, 0);
    KT_OK(nu_cnode_copy(g, 3, 64, ROOT_CNODE, ep, ROOT_DEPTH, NESTOR_RIGHTS_ALL));
    nestor_cptr_t back = env_slot();
    KT_OK(nu_cnode_copy(ROOT_CNODE, back, ROOT_DEPTH, g, 3, 64, NESTOR_RIGHTS_ALL));
    nestor_word_t type;
    KT_OK(nu_cap_identify(back, &type, 0, 0));
    KT_EQ(type, NESTOR_OBJ_ENDPOINT);
    /* Through the unguarded cap, slot 3 is reached with depth 4. */
    KT_OK(nu_cnode_delete(cn, 3, 4));
    KT_EQ(nu_cnode_copy(ROOT_CNODE, env_slot(), ROOT_DEPTH, g, 3, 64, NESTOR_RIGHTS_ALL),
          NESTOR_ERR_FAILED_LOOKUP);
    /* A guard that does not match fails the lookup. */
    nestor_cptr_t g5 = env_slot();
    KT_OK(nu_cnode_mint(ROOT_CNODE, g5, ROOT_DEPTH, ROOT_CNODE, cn, ROOT_DEPTH,
                        NESTOR_RIGHTS_ALL, 60 | (5ULL << 6)));
    KT_EQ(nu_cnode_copy(g5, 3, 64, ROOT_CNODE, ep, ROOT_DEPTH, NESTOR_RIGHTS_ALL),
          NESTOR_ERR_FAILED_LOOKUP);
    KT_OK(nu_cnode_copy(g5, (5ULL << 4) | 3, 64, ROOT_CNODE, ep, ROOT_DEPTH, NESTOR_RIGHTS_ALL));
    return KT_PASS;
}

KTEST(cnode_bad_guard_refused)
{
    nestor_cptr_t cn = env_obj(NESTOR_OBJ_CNODE, 4), g = env_slot();
    KT_EQ(nu_cnode_mint(ROOT_CNODE, g, ROOT_DEPTH, ROOT_CNODE, cn, ROOT_DEPTH,
                        NESTOR_RIGHTS_ALL, 61), NESTOR_ERR_INVALID_ARGUMENT);
    KT_EQ(nu_cnode_mint(ROOT_CNODE, g, ROOT_DEPTH, ROOT_CNODE, cn, ROOT_DEPTH,
                        NESTOR_RIGHTS_ALL, 2 | (4ULL << 6)), NESTOR_ERR_INVALID_ARGUMENT);
    return KT_PASS;
}

KTEST(delete_cnode_destroys_contents)
{
    nestor_cptr_t cn = env_obj(NESTOR_OBJ_CNODE, 2), ep = env_obj(NESTOR_OBJ_ENDPOINT, 0);
    KT_OK(nu_cnode_copy(cn, 1, 2, ROOT_CNODE, ep, ROOT_DEPTH, NESTOR_RIGHTS_ALL));
    /* A nested CNode inside: destroyed too, without recursion in the kernel. */
    nestor_cptr_t inner = env_obj(NESTOR_OBJ_CNODE, 2);
    KT_OK(nu_cnode_copy(inner, 0, 2, ROOT_CNODE, ep, ROOT_DEPTH, NESTOR_RIGHTS_ALL));
    KT_OK(nu_cnode_move(cn, 2, 2, ROOT_CNODE, inner, ROOT_DEPTH));
    KT_EQ(nu_cap_identify(inner, 0, 0, 0), NESTOR_ERR_INVALID_CAPABILITY);
    KT_OK(nu_cnode_delete(ROOT_CNODE, cn, ROOT_DEPTH));
    KT_EQ(nu_cap_identify(cn, 0, 0, 0), NESTOR_ERR_INVALID_CAPABILITY);
    /* The endpoint's original is still ours and still the only capability. */
    KT_OK(nu_cap_identify(ep, 0, 0, 0));
    return KT_PASS;
}
