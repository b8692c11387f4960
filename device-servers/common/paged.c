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
    p->limit = r.mr[0] < PAGER_DMA_PINS_MAX ? (unsigned)r.mr[0] : PAGER_DMA_PINS_MAX;
    const unsigned max = p->limit < DS_PAGED_PINS ? p->limit : DS_PAGED_PINS;
    p->slot0 = a->next_slot;
    a->next_slot += max;
    p->gpa = ram;
    p->size = paged;
    p->host = (uint8_t *)(uintptr_t)(va + ram);
    p->paged = (virtio_ram_paged_t){ .pin = pin, .unpin = unpin, .ctx = p,
                                     .max = max };
    *w = (virtio_ram_window_t){ .gpa = ram, .size = paged, .host = p->host, .paged = &p->paged };
    return true;
}

/* A pin into @slot that must be refused (no capability kept). */
static bool refused(ds_paged_t *p, uint64_t gpa, nestor_cptr_t slot)
{
    nu_msg_t m;
    bool no = pager_call(p, PAGER_REQ_PIN, gpa, 0, slot, &m) != PAGER_REPLY_OK;
    nu_cnode_delete(p->alloc->cnode, slot, 64);
    return no;
}

static bool empty(nestor_cptr_t slot)
{
    nestor_word_t type = 0, rights = 0, extra = 0;
    return nu_cap_identify(slot, &type, &rights, &extra) != NESTOR_OK ||
           type == NESTOR_OBJ_NULL;
}

bool ds_paged_check(ds_paged_t *p)
{
    if (!p->pager)
        return true;
    nu_alloc_t *a = p->alloc;
    const nestor_cptr_t s0 = a->next_slot;
    a->next_slot += p->limit + 1;
    nu_msg_t m;
    /* Outside the range: the VMM's last page, the page after the range, a
     * page address not aligned. */
    const uint64_t past = p->gpa + p->size;
    const bool outside = refused(p, p->gpa - VIRTIO_RAM_PAGE, s0) && refused(p, past, s0) &&
                         refused(p, p->gpa + 8, s0);
    /* A read-only pin: the kernel maps it read-only only (vspace.c); kept
     * past the unpin, the copy is gone (the pager revoked it). */
    const nestor_word_t va = (nestor_word_t)(uintptr_t)p->host;
    bool ro = pager_call(p, PAGER_REQ_PIN, p->gpa, 0, s0, &m) == PAGER_REPLY_OK &&
              nu_map_frame(a, NESTOR_CAP_INIT_VSPACE, va, s0, MAP_RW) != NESTOR_OK &&
              nu_map_frame(a, NESTOR_CAP_INIT_VSPACE, va, s0, MAP_R) == NESTOR_OK;
    const bool revoked = ro && pager_call(p, PAGER_REQ_UNPIN, p->gpa, 0, 0, &m) ==
                                   PAGER_REPLY_OK && empty(s0);
    nu_cnode_delete(a->cnode, s0, 64);
    /* The limit: that many pins held, one more refused, all revoked at once. */
    unsigned held = 0;
    while (held <= p->limit && (uint64_t)(held + 1) * VIRTIO_RAM_PAGE <= p->size &&
           pager_call(p, PAGER_REQ_PIN, p->gpa + held * VIRTIO_RAM_PAGE, 0, s0 + held, &m) ==
               PAGER_REPLY_OK)
        held++;
    bool all_gone = pager_call(p, PAGER_REQ_UNPIN_ALL, 0, 0, 0, &m) == PAGER_REPLY_OK;
    for (unsigned i = 0; i <= p->limit; i++) {
        all_gone &= empty(s0 + i);
        nu_cnode_delete(a->cnode, s0 + i, 64);
    }
    const bool ok = outside && ro && revoked && held == p->limit && all_gone;
    printf("%s: paged RAM check: pins outside the range %s; a read-only pin mapped writable "
           "%s; its copy kept past the unpin %s; %u pins held, one more %s, all revoked at "
           "once %s: %s\n", p->who, outside ? "refused" : "NOT REFUSED",
           ro ? "refused by the kernel" : "NOT REFUSED", revoked ? "revoked" : "NOT REVOKED",
           held, held == p->limit ? "refused" : "NOT REFUSED", all_gone ? "yes" : "NO",
           ok ? "isolated" : "ISOLATION BROKEN");
    return ok;
}
