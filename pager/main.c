/*
 * pager/main.c - the pager as a program init starts from a stack config
 * ("nestor,pager", stack-configs/BINDINGS.md), stacked right above the VMM
 * of one VM. Its boot info grants it its endpoint ("exits"), its memory
 * budget (its frames) and, where the config gives it one, its partition of
 * a block server's disk ("blk", the swap area). The VMM wires the endpoint
 * into the VM's exit table at the pager's level for EPT violations only and
 * calls once, badged CM_BADGE_SETUP, with the VM's EPT restricted to the
 * paged range (pager_proto.h). Then one loop: a fault in the range maps a
 * frame there (zeroed, or read back from swap), evicting one first when
 * all are in use (clock.c); any other EPT violation (MMIO) is passed on.
 */
#include "pager.h"
#include "pager_proto.h"
#include "count_monitor.h"
#include <nestor/bootinfo.h>
#include <nestor/faults.h>
#include <x86_vmx.h>
#include <string.h>
#include <user/print.h>
#include <user/runtime.h>

#define FRAMES_VA    0x0000200000000000ULL  /* our frames, frame i at + i * 4 KiB */
#define SWAPBUF_VA   0x0000300000000000ULL  /* the buffer shared with the block server */
#define STORE_RADIX  13                     /* slots of the store CNode (below) */
#define STORE_EPT    (1u << (STORE_RADIX - 1))   /* EPT copies from this slot on */
#define MAX_FRAMES   STORE_EPT
/* Our root CNode has 2^NESTOR_ROOT_CNODE_RADIX slots: too few for two
 * capabilities per frame. The frames and their EPT copies live in a CNode
 * of our own (the store): frame i's capability (mapped in our space) at
 * slot i, the copy mapped into the VM's EPT at STORE_EPT + i. Invocations
 * on a frame need it in the root CNode: it passes through slot tmp_slot. */
#define EPT_RWX      (NESTOR_EPT_R | NESTOR_EPT_W | NESTOR_EPT_X)
#define REPLY_FAULT_STOP NESTOR_EXIT_REPLY_STOP

static struct {
    char name[32];
    nu_alloc_t alloc;
    nestor_cptr_t ep, ept, store, tmp_slot;
    uint64_t base, end;                 /* the paged range */
    uint32_t n_pages, n_frames, frames_used;
    pg_page_t *pages;
    pg_frame_t frames[MAX_FRAMES];
    pg_clock_t clock;
    pg_slots_t slots;
    pg_swap_t swap;
    pg_stats_t st;
} pg;

static nestor_cptr_t untypeds[NESTOR_BOOTINFO_MAX_UNTYPED];
/* Frames whose EPT copy could not be made again after their last unpin
 * (dma_unpin): the guest's next touch maps them (on_exit). */
static bool ept_gone[MAX_FRAMES];
static uint64_t slot_words[PG_SLOT_WORDS(1u << 16)];
static pg_page_t page_table[PG_MAX_PAGES / 16];   /* 256 MiB of paged RAM (below) */
#define PAGES_MAX (sizeof page_table / sizeof page_table[0])

static uint8_t *frame_va(uint32_t f) { return (uint8_t *)(uintptr_t)(FRAMES_VA + (uint64_t)f * PG_PAGE_SIZE); }

/* One 4 KiB frame from the budget into root slot @slot. */
static bool retype_frame(nestor_cptr_t slot)
{
    nu_alloc_t *a = &pg.alloc;
    while (nu_untyped_retype(a->untyped, NESTOR_OBJ_FRAME_4K, 0, a->cnode, 0, 0, slot, 1) !=
           NESTOR_OK) {
        if (a->n_spares == 0)
            return false;
        a->untyped = *a->spares++;
        a->n_spares--;
    }
    return true;
}

/* Our frames: as many as the budget gives after the store and our tables,
 * each mapped in our space and kept in the store. */
static void make_frames(void)
{
    nu_alloc_t *a = &pg.alloc;
    pg.store = nu_alloc_obj(a, NESTOR_OBJ_CNODE, STORE_RADIX);
    pg.tmp_slot = a->next_slot++;
    if (!pg.store)
        return;
    while (pg.n_frames < MAX_FRAMES && retype_frame(pg.tmp_slot)) {
        uint32_t f = pg.n_frames;
        if (nu_map_frame(a, NESTOR_CAP_INIT_VSPACE, FRAMES_VA + (uint64_t)f * PG_PAGE_SIZE,
                         pg.tmp_slot, NESTOR_RIGHT_READ | NESTOR_RIGHT_WRITE) != NESTOR_OK) {
            nu_cnode_delete(a->cnode, pg.tmp_slot, 64);     /* no room for its table */
            break;
        }
        if (nu_cnode_move(pg.store, f, STORE_RADIX, a->cnode, pg.tmp_slot, 64) != NESTOR_OK)
            break;
        pg.frames[f] = (pg_frame_t){ .page = PG_NONE };
        pg.n_frames++;
    }
}

static unsigned read_ad(void *ctx, uint32_t f)
{
    (void)ctx;
    const nestor_word_t args[] = { pg.base + (uint64_t)pg.frames[f].page * PG_PAGE_SIZE,
                                   NESTOR_EPT_AD_CLEAR };
    nestor_word_t res[2] = { 0 };
    if (nu_invoke(pg.ept, NESTOR_EPT_READ_AD, args, 2, 0, 0, res, 2) != NESTOR_OK)
        res[0] = NESTOR_EPT_ACCESSED | NESTOR_EPT_DIRTY;  /* unknown: as if used and written */
    /* Every dirty flag read here (the clock's, a checkpoint's sweep) also
     * says the page changed since the last checkpoint (PAGER_REQ_DIRTY). */
    if (res[0] & NESTOR_EPT_DIRTY)
        pg.pages[pg.frames[f].page].written = true;
    return (res[0] & NESTOR_EPT_ACCESSED ? PG_AD_ACCESSED : 0) |
           (res[0] & NESTOR_EPT_DIRTY ? PG_AD_DIRTY : 0);
}

/* Take frame @f back from its page: out of the VM's EPT (deleting the
 * mapped copy unmaps it and invalidates the EPT's translations: kernel
 * vspace_unmap_cap, SDM Vol. 3C 28.4.3.1), then to swap if it was written
 * since it was last clean. False: it could not be written (the VM stops). */
static bool evict(uint32_t f)
{
    pg_frame_t *fr = &pg.frames[f];
    pg_page_t *p = &pg.pages[fr->page];
    if (nu_cnode_delete(pg.store, STORE_EPT + f, STORE_RADIX) != NESTOR_OK)
        return false;
    if (fr->dirty) {
        unsigned err = 0;
        if (p->slot == PG_SLOT_NONE)
            p->slot = pg_slot_alloc(&pg.slots);
        if (p->slot == PG_SLOT_NONE || !pg_swap_write(&pg.swap, p->slot, frame_va(f), &err)) {
            printf("pager %s: cannot write page 0x%lx to swap (slot %u, error %u)\n", pg.name,
                   pg.base + (uint64_t)fr->page * PG_PAGE_SIZE, p->slot, err);
            return false;
        }
        pg.st.swap_outs++;
    } else {
        pg.st.clean_drops++;
    }
    p->frame = PG_NONE;
    fr->page = PG_NONE;
    fr->dirty = false;
    pg.st.evictions++;
    return true;
}

/* A frame for a new page: a free one, else the clock's victim. */
static uint32_t get_frame(void)
{
    if (pg.frames_used < pg.n_frames)
        return pg.frames_used++;
    bool can_write = pg.slots.free > 0;
    uint32_t f = pg_clock_pick(&pg.clock, pg.frames, read_ad, NULL, can_write);
    if (f == PG_NONE) {
        printf("pager %s: out of frames: all %u hold pages written since their last copy, "
               "and %s\n", pg.name, pg.n_frames,
               pg.swap.slots ? "the swap area is full" : pg.swap.why);
        return PG_NONE;
    }
    return pg.frames[f].page == PG_NONE || evict(f) ? f : PG_NONE;
}

/* Frame @f into the VM's EPT at page @n's address, through a copy kept in
 * the store (STORE_EPT + f). False (said) if the kernel refuses. */
static bool map_ept(uint32_t f, uint32_t n)
{
    const uint64_t gpa = pg.base + (uint64_t)n * PG_PAGE_SIZE;
    const nestor_word_t args[] = { gpa, EPT_RWX, NESTOR_EPT_MEMTYPE_WB };
    nu_alloc_t *a = &pg.alloc;
    if (nu_cnode_copy(a->cnode, pg.tmp_slot, 64, pg.store, f, STORE_RADIX, NESTOR_RIGHTS_ALL) ||
        nu_invoke(pg.tmp_slot, NESTOR_EPT_MAP_FRAME, args, 3, &pg.ept, 1, 0, 0) != NESTOR_OK ||
        nu_cnode_move(pg.store, STORE_EPT + f, STORE_RADIX, a->cnode, pg.tmp_slot, 64)) {
        printf("pager %s: cannot map page 0x%lx\n", pg.name, gpa);
        nu_cnode_delete(a->cnode, pg.tmp_slot, 64);
        return false;
    }
    ept_gone[f] = false;
    return true;
}

/* Make page @n resident: a frame, its contents (zero on first touch, else
 * from swap), mapped at its guest-physical address. */
static bool fault_in(uint32_t n)
{
    pg_page_t *p = &pg.pages[n];
    uint32_t f = get_frame();
    if (f == PG_NONE)
        return false;
    if (p->slot == PG_SLOT_NONE) {
        memset(frame_va(f), 0, PG_PAGE_SIZE);
        pg.st.zero_fills++;
    } else {
        unsigned err = 0;
        if (!pg_swap_read(&pg.swap, p->slot, frame_va(f), &err)) {
            printf("pager %s: cannot read page 0x%lx back from swap (slot %u, error %u)\n",
                   pg.name, pg.base + (uint64_t)n * PG_PAGE_SIZE, p->slot, err);
            return false;
        }
        pg.st.swap_ins++;
    }
    if (!map_ept(f, n))
        return false;
    p->frame = f;
    pg.frames[f] = (pg_frame_t){ .page = n, .dirty = false };
    return true;
}

/* One EPT violation: ours (in the range) or passed on. The reply label. */
static nestor_word_t on_exit(const nu_msg_t *m)
{
    const nestor_word_t gpa = m->mr[NESTOR_EXIT_MR_GUEST_PHYS];
    if (nestor_msginfo_label(m->info) != NESTOR_FAULT_VM_EXIT ||
        (m->mr[NESTOR_EXIT_MR_REASON] & NESTOR_EXIT_REASON_MASK) != NESTOR_EXIT_EPT_VIOLATION ||
        gpa < pg.base || gpa >= pg.end) {
        pg.st.passed++;
        return NESTOR_EXIT_REPLY_PASS_ON;
    }
    uint32_t n = (uint32_t)((gpa - pg.base) / PG_PAGE_SIZE);
    pg.st.faults++;
    /* Resident already. A device server's pin may have mapped it between
     * the guest's access and this exit (servers serve input and
     * completions while the vCPU runs): then the entry was not present
     * when the guest tried (the qualification's permission bits 5:3 all
     * 0, SDM Vol. 3C 27.2.1 Table 27-7), and the access finds it now. A
     * present entry refusing it cannot be ours to fix (we map read-write-
     * execute): the VM stops. */
    const uint32_t f = pg.pages[n].frame;
    if (f != PG_NONE &&
        !(m->mr[NESTOR_EXIT_MR_QUALIFICATION] & (EPT_QUAL_ACCESS << EPT_QUAL_PERM_SHIFT))) {
        pg.st.raced++;
        return ept_gone[f] && !map_ept(f, n) ? REPLY_FAULT_STOP : NESTOR_EXIT_REPLY_RESUME;
    }
    if (pg.pages[n].frame != PG_NONE) {
        printf("pager %s: EPT violation on resident page 0x%lx (qualification 0x%lx)\n",
               pg.name, gpa, m->mr[NESTOR_EXIT_MR_QUALIFICATION]);
        return REPLY_FAULT_STOP;
    }
    return fault_in(n) ? NESTOR_EXIT_REPLY_RESUME : REPLY_FAULT_STOP;
}

/* ---- device DMA (pager_proto.h PAGER_BADGE_DMA, README "Device DMA") ---- */

/* Pins of device server k: the page, whether it may write, and the
 * root-CNode slot of the frame copy it was given (revoked at unpin). */
typedef struct {
    uint32_t page;          /* PG_NONE: free */
    bool write;
} pg_pin_t;

static struct {
    pg_pin_t pins[PAGER_DMA_SERVERS][PAGER_DMA_PINS_MAX];
    nestor_cptr_t slot0;    /* server k's pin i at slot0 + k * PAGER_DMA_PINS_MAX + i */
    unsigned limit;         /* pins per server: at most half our frames in all */
    uint64_t pinned, unpins, refused, zero_fills, swap_ins;
} dma;

static nestor_cptr_t pin_slot(unsigned k, unsigned i)
{
    return dma.slot0 + k * PAGER_DMA_PINS_MAX + i;
}

static void dma_init(void)
{
    dma.slot0 = pg.alloc.next_slot;
    pg.alloc.next_slot += PAGER_DMA_SERVERS * PAGER_DMA_PINS_MAX;
    dma.limit = pg.n_frames / (2 * PAGER_DMA_SERVERS);
    if (dma.limit > PAGER_DMA_PINS_MAX)
        dma.limit = PAGER_DMA_PINS_MAX;
    for (unsigned k = 0; k < PAGER_DMA_SERVERS; k++)
        for (unsigned i = 0; i < PAGER_DMA_PINS_MAX; i++)
            dma.pins[k][i].page = PG_NONE;
}

/* Server @k's pin of page @n, or PAGER_DMA_PINS_MAX. */
static unsigned pin_of(unsigned k, uint32_t n)
{
    for (unsigned i = 0; i < dma.limit; i++)
        if (dma.pins[k][i].page == n)
            return i;
    return PAGER_DMA_PINS_MAX;
}

/* A page the server may write counts as written: the EPT's dirty flag
 * sees only the guest's writes (SDM Vol. 3C 28.3.5 sets it on guest
 * accesses through the EPT), so without this the clock would drop the
 * server's data as clean and a checkpoint would miss it. */
static void mark_written(uint32_t n)
{
    pg.frames[pg.pages[n].frame].dirty = true;
    pg.pages[n].written = true;
}

/* PAGER_REQ_PIN by server @k: the reply label; @m gets MR0, and the
 * IPC buffer the capability. */
static nestor_word_t dma_pin(unsigned k, nu_msg_t *m)
{
    const uint64_t gpa = m->mr[PAGER_PIN_MR_GPA];
    const bool write = m->mr[PAGER_PIN_MR_FLAGS] & PAGER_PIN_WRITE;
    if (gpa < pg.base || gpa >= pg.end || gpa % PG_PAGE_SIZE ||
        (m->mr[PAGER_PIN_MR_FLAGS] & ~(nestor_word_t)PAGER_PIN_WRITE))
        return PAGER_REPLY_FAULT;
    const uint32_t n = (uint32_t)((gpa - pg.base) / PG_PAGE_SIZE);
    const unsigned i = pin_of(k, PG_NONE);
    if (pin_of(k, n) != PAGER_DMA_PINS_MAX || i == PAGER_DMA_PINS_MAX)
        return PAGER_REPLY_FAULT;       /* pinned twice, or all its pins in use */
    nestor_word_t from = PAGER_PIN_FROM_FRAME;
    if (pg.pages[n].frame == PG_NONE) {
        from = pg.pages[n].slot == PG_SLOT_NONE ? PAGER_PIN_FROM_ZERO : PAGER_PIN_FROM_SWAP;
        if (!fault_in(n))
            return PAGER_REPLY_FAULT;   /* said by fault_in or get_frame */
        if (from == PAGER_PIN_FROM_SWAP)
            dma.swap_ins++;
        else
            dma.zero_fills++;
    }
    const uint32_t f = pg.pages[n].frame;
    const nestor_cptr_t slot = pin_slot(k, i);
    const nestor_word_t rights = NESTOR_RIGHT_READ | (write ? NESTOR_RIGHT_WRITE : 0);
    if (nu_cnode_copy(pg.alloc.cnode, slot, 64, pg.store, f, STORE_RADIX, rights) != NESTOR_OK)
        return PAGER_REPLY_FAULT;
    pg.frames[f].pinned++;
    dma.pins[k][i] = (pg_pin_t){ .page = n, .write = write };
    if (write)
        mark_written(n);
    dma.pinned++;
    nu_ipc_buffer()->caps_or_badges[0] = slot;
    m->mr[0] = from;
    return PAGER_REPLY_OK;
}

/*
 * Server @k's pin @i goes, and the frame is the clock's again once no pin
 * holds it. The copy the server got was made from our slot, but a copy of
 * a copy is no child of it (only an original or a first badged copy is a
 * parent: kernel cap.c cdt_is_parent), so revoking our slot would take
 * nothing; a server may have kept its copy or copied it on. So at the
 * frame's last unpin every copy of the frame goes: the original's
 * children are revoked (the kernel unmaps each, vspace_unmap_cap, and
 * the EPT's with an INVEPT, SDM Vol. 3C 28.4.3.1), the EPT's copy among
 * them, its flags read first (a dirty page stays known written), and the
 * page is mapped in the EPT again. A vCPU touching it in between takes an
 * EPT violation that finds it mapped and resumes (on_exit).
 */
static void dma_unpin(unsigned k, unsigned i)
{
    pg_pin_t *p = &dma.pins[k][i];
    const uint32_t f = pg.pages[p->page].frame;
    nu_cnode_delete(pg.alloc.cnode, pin_slot(k, i), 64);
    if (p->write)
        mark_written(p->page);      /* written since the last sweep, maybe */
    if (--pg.frames[f].pinned == 0) {
        if (read_ad(NULL, f) & PG_AD_DIRTY)
            pg.frames[f].dirty = true;
        nu_cnode_revoke(pg.store, f, STORE_RADIX);
        if (!map_ept(f, p->page))
            ept_gone[f] = true;     /* said; mapped again at the guest's next touch */
    }
    p->page = PG_NONE;
    dma.unpins++;
}

/* One request of device server @k: @m becomes the reply. */
static void dma_request(unsigned k, nu_msg_t *m)
{
    const nestor_word_t label = nestor_msginfo_label(m->info);
    const uint64_t gpa = m->mr[PAGER_PIN_MR_GPA];
    nestor_word_t out = PAGER_REPLY_FAULT;
    unsigned caps = 0;
    if (label == PAGER_REQ_PIN) {
        out = dma_pin(k, m);
        caps = out == PAGER_REPLY_OK;
        if (out != PAGER_REPLY_OK)
            dma.refused++;
    } else if (label == PAGER_REQ_UNPIN && gpa >= pg.base && gpa < pg.end) {
        unsigned i = pin_of(k, (uint32_t)((gpa - pg.base) / PG_PAGE_SIZE));
        if (i != PAGER_DMA_PINS_MAX && gpa % PG_PAGE_SIZE == 0) {
            dma_unpin(k, i);
            out = PAGER_REPLY_OK;
        }
    } else if (label == PAGER_REQ_UNPIN_ALL) {
        for (unsigned i = 0; i < dma.limit; i++)
            if (dma.pins[k][i].page != PG_NONE)
                dma_unpin(k, i);
        out = PAGER_REPLY_OK;
        m->mr[0] = dma.limit;
    }
    m->info = nestor_msginfo(out, 0, caps, caps || label == PAGER_REQ_UNPIN_ALL ? 1 : 0);
}

/* ---- the pages for a checkpoint monitor (pager_proto.h PAGER_BADGE_PAGES) ---- */

static struct {
    uint8_t page[PG_PAGE_SIZE];     /* the page being read or written, chunk by chunk */
    uint32_t index;                 /* which, PG_NONE when none */
    unsigned next_chunk;            /* a write's next chunk */
    uint64_t read, from_swap, written;  /* pages handed out (read from swap), taken in */
} xfer = { .index = PG_NONE };

/* PAGER_REQ_DIRTY from @from: the pages written since the last sweep. */
static nestor_word_t pages_dirty(nu_msg_t *m, uint32_t from)
{
    if (from == 0)
        for (uint32_t f = 0; f < pg.frames_used; f++)
            if (pg.frames[f].page != PG_NONE && (read_ad(NULL, f) & PG_AD_DIRTY))
                pg.frames[f].dirty = true;      /* the clearing took the clock's flag */
    if (from == 0)
        for (unsigned k = 0; k < PAGER_DMA_SERVERS; k++)
            for (unsigned i = 0; i < dma.limit; i++)
                if (dma.pins[k][i].page != PG_NONE && dma.pins[k][i].write)
                    mark_written(dma.pins[k][i].page);  /* a device may be writing it */
    nestor_ipc_buffer_t *b = nu_ipc_buffer();
    unsigned n = 0;
    uint32_t i = from;
    for (; i < pg.n_pages && n < PAGER_DIRTY_MAX; i++)
        if (pg.pages[i].written) {
            pg.pages[i].written = false;
            const unsigned mr = PAGER_DIRTY_MR_LIST + n++;
            if (mr < NESTOR_MSG_REGISTERS_IN_CPU)
                m->mr[mr] = i;
            else
                b->msg[mr] = i;
        }
    m->mr[0] = n;
    m->mr[1] = i;
    return PAGER_DIRTY_MR_LIST + n;
}

/* Page @n's contents into xfer.page; false on a swap error. *@zero: it was
 * never written (no frame, no swap copy). */
static bool fetch(uint32_t n, bool *zero)
{
    const pg_page_t *p = &pg.pages[n];
    *zero = false;
    xfer.index = PG_NONE;
    if (p->frame != PG_NONE) {
        memcpy(xfer.page, frame_va(p->frame), PG_PAGE_SIZE);
    } else if (p->slot != PG_SLOT_NONE) {
        unsigned err = 0;
        if (!pg_swap_read(&pg.swap, p->slot, xfer.page, &err)) {
            printf("pager %s: cannot read page 0x%lx from swap for the checkpoint (error %u)\n",
                   pg.name, pg.base + (uint64_t)n * PG_PAGE_SIZE, err);
            return false;
        }
        xfer.from_swap++;
    } else {
        *zero = true;
        return true;
    }
    xfer.index = n;
    xfer.read++;
    return true;
}

/* xfer.page becomes page @n's contents: in its frame (written: the clock
 * must write it out before dropping it), else in its swap slot, else in a
 * frame of its own. False (said) when there is no room or swap fails. */
static bool commit(uint32_t n)
{
    pg_page_t *p = &pg.pages[n];
    if (p->frame == PG_NONE && p->slot == PG_SLOT_NONE) {
        bool zero = true;
        for (unsigned i = 0; zero && i < PG_PAGE_SIZE; i++)
            zero = xfer.page[i] == 0;
        if (zero)
            return true;                        /* it reads as zero already */
    }
    if (p->frame == PG_NONE && pg.swap.slots) {
        unsigned err = 0;
        if (p->slot == PG_SLOT_NONE)
            p->slot = pg_slot_alloc(&pg.slots);
        if (p->slot != PG_SLOT_NONE && pg_swap_write(&pg.swap, p->slot, xfer.page, &err)) {
            pg.st.swap_outs++;
            xfer.written++;
            return true;
        }
        printf("pager %s: cannot put page 0x%lx in swap for the checkpoint (slot %u, error "
               "%u)\n", pg.name, pg.base + (uint64_t)n * PG_PAGE_SIZE, p->slot, err);
        return false;
    }
    if (p->frame == PG_NONE && !fault_in(n))
        return false;
    memcpy(frame_va(p->frame), xfer.page, PG_PAGE_SIZE);
    pg.frames[p->frame].dirty = true;
    xfer.written++;
    return true;
}

/* One request of the checkpoint monitor: @m becomes the reply. */
static void pages_request(nu_msg_t *m)
{
    const nestor_word_t label = nestor_msginfo_label(m->info);
    const nestor_word_t index = m->mr[PAGER_PAGE_MR_INDEX], chunk = m->mr[PAGER_PAGE_MR_CHUNK];
    nestor_ipc_buffer_t *b = nu_ipc_buffer();
    /* Only indexed once the chunk is checked to be one of the page's. */
    nestor_word_t *words = (nestor_word_t *)(void *)xfer.page;
    nestor_word_t out = PAGER_REPLY_FAULT, len = 0;
    if (label == PAGER_REQ_DIRTY && index <= pg.n_pages) {
        len = pages_dirty(m, (uint32_t)index);
        out = PAGER_REPLY_OK;
    } else if (label == PAGER_REQ_READ && index < pg.n_pages && chunk < PAGER_CHUNKS) {
        bool zero = false;
        if (chunk == 0 ? fetch((uint32_t)index, &zero) : xfer.index == index) {
            out = PAGER_REPLY_OK;
            m->mr[0] = zero ? PAGER_PAGE_ZERO : PAGER_PAGE_DATA;
            len = zero ? 1 : PAGER_PAGE_MR_DATA + PAGER_CHUNK_WORDS;
            for (unsigned i = 0; !zero && i < PAGER_CHUNK_WORDS; i++) {
                const unsigned mr = PAGER_PAGE_MR_DATA + i;
                if (mr < NESTOR_MSG_REGISTERS_IN_CPU)
                    m->mr[mr] = words[chunk * PAGER_CHUNK_WORDS + i];
                else
                    b->msg[mr] = words[chunk * PAGER_CHUNK_WORDS + i];
            }
        }
    } else if (label == PAGER_REQ_WRITE && index < pg.n_pages && chunk < PAGER_CHUNKS &&
               nestor_msginfo_length(m->info) == PAGER_PAGE_MR_DATA + PAGER_CHUNK_WORDS &&
               (chunk == 0 || (xfer.index == index && xfer.next_chunk == chunk))) {
        xfer.index = (uint32_t)index;
        xfer.next_chunk = (unsigned)chunk + 1;
        for (unsigned i = 0; i < PAGER_CHUNK_WORDS; i++) {
            const unsigned mr = PAGER_PAGE_MR_DATA + i;
            words[chunk * PAGER_CHUNK_WORDS + i] =
                mr < NESTOR_MSG_REGISTERS_IN_CPU ? m->mr[mr] : b->msg[mr];
        }
        out = PAGER_REPLY_OK;
        if (xfer.next_chunk == PAGER_CHUNKS) {
            xfer.index = PG_NONE;
            if (!commit((uint32_t)index))
                out = PAGER_REPLY_FAULT;
        }
    }
    m->info = nestor_msginfo(out, 0, 0, out == PAGER_REPLY_OK ? len : 0);
}

static void print_stats(void)
{
    printf("pager %s: %lu faults, %lu zero-filled, %lu evictions (%lu clean), %lu swap-outs, "
           "%lu swap-ins, %lu exits passed on; %u frames, %u swap slots\n", pg.name,
           pg.st.faults, pg.st.zero_fills, pg.st.evictions, pg.st.clean_drops, pg.st.swap_outs,
           pg.st.swap_ins, pg.st.passed, pg.n_frames, pg.swap.slots);
    if (xfer.read || xfer.written)
        printf("pager %s: for the checkpoint monitor: %lu pages read out (%lu of them from "
               "swap), %lu written in\n", pg.name, (unsigned long)xfer.read,
               (unsigned long)xfer.from_swap, (unsigned long)xfer.written);
    if (dma.pinned || dma.refused)
        printf("pager %s: for device servers: %lu pins (%lu read back from swap, %lu "
               "zero-filled), %lu unpins, %lu refused; at most %u pins a server\n", pg.name,
               (unsigned long)dma.pinned, (unsigned long)dma.swap_ins,
               (unsigned long)dma.zero_fills, (unsigned long)dma.unpins,
               (unsigned long)dma.refused, dma.limit);
    if (pg.st.raced)
        printf("pager %s: %lu guest faults found their page mapped by a pin meanwhile\n",
               pg.name, (unsigned long)pg.st.raced);
}

static void serve(void)
{
    nu_msg_t m = { 0 };
    nu_recv(pg.ep, &m);
    for (;;) {
        if (m.badge == CM_BADGE_EXIT) {
            nestor_word_t label = on_exit(&m);
            m = (nu_msg_t){ .info = nestor_msginfo(label, 0, 0, 1), .mr = { 0 } };
        } else if (m.badge == PAGER_BADGE_PAGES) {
            pages_request(&m);
        } else if (m.badge >= PAGER_BADGE_DMA(0) &&
                   m.badge < PAGER_BADGE_DMA(PAGER_DMA_SERVERS)) {
            dma_request((unsigned)(m.badge - PAGER_BADGE_DMA(0)), &m);
        } else if (m.badge == CM_BADGE_QUERY) {
            print_stats();
            m = (nu_msg_t){ .info = nestor_msginfo(0, 0, 0, PAGER_QUERY_MRS) };
            m.mr[PAGER_QUERY_MR_FAULTS] = pg.st.faults;
            m.mr[PAGER_QUERY_MR_PASSED] = pg.st.passed;
            m.mr[PAGER_QUERY_MR_SWAP_OUTS] = pg.st.swap_outs;
            m.mr[PAGER_QUERY_MR_SWAP_INS] = pg.st.swap_ins;
        } else {
            m = (nu_msg_t){ .info = nestor_msginfo(1, 0, 0, 0) };   /* not ours to answer */
        }
        nu_reply_recv(pg.ep, &m);
    }
}

/* Check the setup message and take the range; false: refuse it. */
static bool take_setup(const nu_msg_t *m)
{
    pg.base = m->mr[PAGER_SETUP_MR_BASE];
    pg.end = m->mr[PAGER_SETUP_MR_END];
    if (nestor_msginfo_extra_caps(m->info) != 1 || (pg.base | pg.end) % PG_PAGE_SIZE ||
        pg.end <= pg.base || (pg.end - pg.base) / PG_PAGE_SIZE > PAGES_MAX) {
        printf("pager %s: setup refused: range 0x%lx-0x%lx (at most %lu MiB)\n", pg.name,
               pg.base, pg.end, (unsigned long)(PAGES_MAX * PG_PAGE_SIZE >> 20));
        return false;
    }
    pg.n_pages = (uint32_t)((pg.end - pg.base) / PG_PAGE_SIZE);
    pg.pages = page_table;
    for (uint32_t i = 0; i < pg.n_pages; i++)
        pg.pages[i] = (pg_page_t){ .frame = PG_NONE, .slot = PG_SLOT_NONE, .written = false };
    pg.clock = (pg_clock_t){ .hand = 0, .n = pg.n_frames };
    return true;
}

/* The kernel must refuse what the restricted EPT does not cover: mapping
 * one of our frames just below and just above the range (isolation:
 * pager/README.md). Said once at setup; a frame that maps is taken back. */
static void check_isolation(void)
{
    const uint64_t outside[] = { pg.base - PG_PAGE_SIZE, pg.end };
    nu_alloc_t *a = &pg.alloc;
    for (unsigned i = 0; i < 2; i++) {
        const nestor_word_t args[] = { outside[i], EPT_RWX, NESTOR_EPT_MEMTYPE_WB };
        nestor_word_t res[2] = { 0 };
        nestor_error_t e = NESTOR_ERR_INVALID_CAPABILITY;
        if (nu_cnode_copy(a->cnode, pg.tmp_slot, 64, pg.store, 0, STORE_RADIX,
                          NESTOR_RIGHTS_ALL) == NESTOR_OK)
            e = nu_invoke(pg.tmp_slot, NESTOR_EPT_MAP_FRAME, args, 3, &pg.ept, 1, res, 2);
        nu_cnode_delete(a->cnode, pg.tmp_slot, 64);
        printf("pager %s: mapping a frame at 0x%lx, outside its range: %s\n", pg.name,
               outside[i], e == NESTOR_ERR_RANGE ? "refused by the kernel"
                                                 : "NOT REFUSED (isolation broken)");
    }
}

int main(const nestor_bootinfo_t *bi)
{
    if (!nu_monitor_start(bi, "pager", pg.name, sizeof pg.name, untypeds, &pg.ep,
                          &pg.alloc))
        return 0;
    pg_swap_open(&pg.swap, bi, &pg.alloc, SWAPBUF_VA, pg.name);
    pg_slots_init(&pg.slots, slot_words, pg.swap.slots);
    make_frames();
    dma_init();
    /* The setup call brings the restricted EPT: receive it into a slot. */
    pg.ept = pg.alloc.next_slot++;
    nestor_ipc_buffer_t *b = nu_ipc_buffer();
    nu_receive_cap_into(pg.ept);
    nu_msg_t m = { 0 };
    while (nu_recv(pg.ep, &m) != NESTOR_OK || m.badge != CM_BADGE_SETUP) {
        printf("pager %s: a message before its setup (badge 0x%lx): ignored\n", pg.name, m.badge);
        m = (nu_msg_t){ .info = nestor_msginfo(1, 0, 0, 0) };
        nu_reply(&m);
    }
    b->receive_cnode = 0;
    bool ok = pg.n_frames > 0 && take_setup(&m);
    if (ok) {
        printf("pager %s: %lu MiB at 0x%lx-0x%lx, %u frames (%u KiB), swap: ", pg.name,
               (pg.end - pg.base) >> 20, pg.base, pg.end, pg.n_frames,
               pg.n_frames * (PG_PAGE_SIZE / 1024));
        if (pg.swap.slots)
            printf("%u slots (%u MiB)\n", pg.swap.slots, pg.swap.slots / 256);
        else
            printf("none (%s): only pages never written are evicted\n", pg.swap.why);
        check_isolation();
    } else if (!pg.n_frames) {
        printf("pager %s: no frame could be made from its budget\n", pg.name);
    }
    m = (nu_msg_t){ .info = nestor_msginfo(ok ? 0 : 1, 0, 0, 0) };
    nu_reply(&m);
    if (ok)
        serve();
    return 0;
}
