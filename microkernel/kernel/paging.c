/* kernel/paging.c - invocations on frames and paging structures. */
#include "kernel/invoke.h"
#include "kernel/vspace.h"

nestor_error_t invoke_paging(inv_t *iv, cte_t *slot)
{
    cap_t *c = &slot->cap;
    bool frame = c->type == NESTOR_OBJ_FRAME_4K || c->type == NESTOR_OBJ_FRAME_2M;
    uint64_t vaddr, rights = 0, attr = 0;
    cte_t *pml4;
    nestor_error_t err;
    switch (iv->label) {
    case NESTOR_FRAME_MAP:
    case NESTOR_PAGE_TABLE_MAP:
        if ((iv->label == NESTOR_FRAME_MAP) != frame)
            return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, c->type);
        if (!inv_arg(iv, 0, &vaddr) || (frame && (!inv_arg(iv, 1, &rights) ||
                                                  !inv_arg(iv, 2, &attr))))
            return NESTOR_ERR_TRUNCATED_MESSAGE;
        if (!(pml4 = inv_cap(iv, 0)))
            return NESTOR_ERR_INVALID_CAPABILITY;
        err = frame ? vspace_map_frame(c, &pml4->cap, vaddr, rights, attr)
                    : vspace_map_table(c, &pml4->cap, vaddr);
        return err == NESTOR_OK ? err : inv_error(iv, err, vaddr, 0);
    case NESTOR_FRAME_UNMAP:
    case NESTOR_PAGE_TABLE_UNMAP:
        if ((iv->label == NESTOR_FRAME_UNMAP) != frame)
            return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, c->type);
        vspace_unmap_cap(c);
        return NESTOR_OK;
    case NESTOR_EPT_MAP_FRAME:
        if (!frame)
            return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, c->type);
        if (!inv_arg(iv, 0, &vaddr) || !inv_arg(iv, 1, &rights))
            return NESTOR_ERR_TRUNCATED_MESSAGE;
        uint64_t memtype = NESTOR_EPT_MEMTYPE_WB;
        inv_arg(iv, 2, &memtype);                       /* optional */
        if (!(pml4 = inv_cap(iv, 0)))
            return NESTOR_ERR_INVALID_CAPABILITY;
        err = vspace_map_frame_ept(c, &pml4->cap, vaddr, rights, memtype);
        return err == NESTOR_OK ? err : inv_error(iv, err, vaddr, 0);
    case NESTOR_FRAME_GET_ADDRESS:
        if (!frame)
            return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, c->type);
        inv_result(iv, 0, kobj_paddr(c->obj));
        return NESTOR_OK;
    default:
        return inv_error(iv, NESTOR_ERR_ILLEGAL_OPERATION, iv->label, c->type);
    }
}
