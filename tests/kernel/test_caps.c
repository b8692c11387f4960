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
