/* device-servers/common/paged.c - a VM's paged RAM, server side (ds_paged.h). */
#include "../../pager/pager_proto.h"
#include <devsrv.h>
#include <ds_paged.h>
#include <ds_setup.h>
#include <nestor/objects.h>
#include <user/print.h>

#define MAP_R  NESTOR_RIGHT_READ
#define MAP_RW (NESTOR_RIGHT_READ | NESTOR_RIGHT_WRITE)

static void say(ds_paged_t *p, const char *what, uint64_t gpa, nestor_word_t code)
{
    if (p->logged > DS_PAGED_LOG_MAX)
        return;
    if (p->logged++ == DS_PAGED_LOG_MAX)
        printf("%s: more paged-RAM refusals: no longer logged\n", p->who);
    else
        printf("%s: paged RAM: %s (page 0x%lx, code %lu)\n", p->who, what, gpa, code);
}

/* One call to the pager; a capability in the reply lands in root slot
 * @into (0: none is taken). Where the server's own loop receives
 * capabilities (a client's buffer, a setup) is put back after. */
static nestor_word_t pager_call(ds_paged_t *p, nestor_word_t label, uint64_t gpa,
                                nestor_word_t flags, nestor_cptr_t into, nu_msg_t *m)
{
    nestor_ipc_buffer_t *b = nu_ipc_buffer();
    const nestor_word_t cnode = b->receive_cnode, index = b->receive_index,
                        depth = b->receive_depth;
    if (into)
        nu_receive_cap_into(into);
    else
        b->receive_cnode = 0;
    *m = (nu_msg_t){ .info = nestor_msginfo(label, 0, 0, PAGER_PIN_MRS), .mr = { gpa, flags } };
    nestor_word_t st = nu_call(p->pager, m);
    b->receive_cnode = cnode;
    b->receive_index = index;
    b->receive_depth = depth;
    return st != NESTOR_OK ? PAGER_REPLY_FAULT : nestor_msginfo_label(m->info);
}

static bool pin(void *ctx, unsigned i, uint64_t gpa, bool write)
{
    ds_paged_t *p = ctx;
    const nestor_cptr_t slot = p->slot0 + i;
    nu_msg_t m;
    nestor_word_t out = pager_call(p, PAGER_REQ_PIN, gpa, write ? PAGER_PIN_WRITE : 0, slot, &m);
    const bool got = out == PAGER_REPLY_OK && nestor_msginfo_extra_caps(m.info) == 1;
    const nestor_word_t from = m.mr[0];
    /* Trust nothing: a 4 KiB frame, writable if we are to write. */
    nestor_word_t type = 0, rights = 0, extra = 0;
    nestor_error_t e = NESTOR_ERR_INVALID_CAPABILITY;
    if (got && nu_cap_identify(slot, &type, &rights, &extra) == NESTOR_OK &&
        type == NESTOR_OBJ_FRAME_4K && (!write || (rights & NESTOR_RIGHT_WRITE)))
        e = nu_map_frame(p->alloc, NESTOR_CAP_INIT_VSPACE,
                         (nestor_word_t)(uintptr_t)(p->host + (gpa - p->gpa)), slot,
                         write ? MAP_RW : MAP_R);
    if (e == NESTOR_OK) {
        p->from_swap += from == PAGER_PIN_FROM_SWAP;
        return true;
    }
    nu_cnode_delete(p->alloc->cnode, slot, 64);     /* whatever came: the slot is free again */
    if (got)
        pager_call(p, PAGER_REQ_UNPIN, gpa, 0, 0, &m);
    say(p, got ? "a pinned page could not be mapped" : "the pager refused a pin", gpa,
        got ? e : out);
    return false;
}

static void unpin(void *ctx, unsigned i, uint64_t gpa)
{
    ds_paged_t *p = ctx;
    nu_msg_t m;
    nu_cnode_delete(p->alloc->cnode, p->slot0 + i, 64);     /* unmapped with it */
    nestor_word_t out = pager_call(p, PAGER_REQ_UNPIN, gpa, 0, 0, &m);
    if (out != PAGER_REPLY_OK)
        say(p, "the pager refused an unpin", gpa, out);
}

bool ds_paged_setup(ds_paged_t *p, nu_alloc_t *a, nestor_cptr_t node, const nu_msg_t *m,
                    uint64_t paged, uint64_t va, const char *who, virtio_ram_window_t *w)
{
    const uint64_t ram = m->mr[DS_SETUP_MR_RAM_BYTES];
    const unsigned radix = (unsigned)m->mr[DS_SETUP_MR_RADIX];
    const nestor_word_t slot = DS_GRANT_PAGER(ram >> m->mr[DS_SETUP_MR_FRAME_BITS]);
    *p = (ds_paged_t){ .alloc = a, .who = who };
    if (paged == 0)
        return true;                        /* not paged */
    /* ds_map_ram checked ram, the frame size and the radix. */
    nu_msg_t r;
    if (paged % VIRTIO_RAM_PAGE || paged > DS_MAX_RAM_BYTES - ram ||
        slot >= (1ULL << radix) || !(p->pager = a->next_slot++) ||
        nu_cnode_copy(a->cnode, p->pager, 64, node, slot, radix, NESTOR_RIGHTS_ALL) ||
        pager_call(p, PAGER_REQ_UNPIN_ALL, 0, 0, 0, &r) != PAGER_REPLY_OK ||
        r.mr[0] < DS_PAGED_PINS_MIN) {
        printf("%s: paged RAM refused: %lu bytes after %lu, or its pager not answering or "
               "allowing fewer than %u pins\n", who, paged, ram, DS_PAGED_PINS_MIN);
        p->pager = 0;
        return false;
    }
    const unsigned max = r.mr[0] < DS_PAGED_PINS ? (unsigned)r.mr[0] : DS_PAGED_PINS;
    p->slot0 = a->next_slot;
    a->next_slot += max;
    p->gpa = ram;
    p->host = (uint8_t *)(uintptr_t)(va + ram);
    p->paged = (virtio_ram_paged_t){ .pin = pin, .unpin = unpin, .ctx = p,
                                     .max = max };
    *w = (virtio_ram_window_t){ .gpa = ram, .size = paged, .host = p->host, .paged = &p->paged };
    return true;
}
