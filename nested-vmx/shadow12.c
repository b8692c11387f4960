/*
 * nested-vmx/shadow12.c - L1's most used VMCS fields in a shadow VMCS
 * (shadow12.h; SDM Vol. 3C 24.6.15, 24.10, 25.3, 30.3).
 */
#include "shadow12.h"
#include "monitor.h"
#include "nvmx_caps.h"
#include <string.h>
#include <user/print.h>

#define SHADOW12_BITMAP_VA 0x0000220000000000ULL   /* VMREAD bitmap, VMWRITE bitmap after */
#define MAP_RW             (NESTOR_RIGHT_READ | NESTOR_RIGHT_WRITE)

/* Writable fields first, then the read-only exit information. nested-vmx
 * writes all of them into the shadow (pushed); L1 can write the writable
 * ones, and the read-only ones too where nested-vmx offers it VMWRITE to
 * any field (IA32_VMX_MISC bit 29, nvmx_caps.h): those L1 can write are
 * read back before vmcs12 is used (pulled). */
static const uint32_t fields[] = {
    VMCS_GUEST_RIP, VMCS_GUEST_RSP, VMCS_GUEST_RFLAGS, VMCS_GUEST_CR4,
    VMCS_PREEMPT_TIMER_VALUE,
    VMCS_GUEST_PHYS_ADDR, VMCS_EXIT_REASON, VMCS_EXIT_INTR_INFO, VMCS_EXIT_INTR_ERROR,
    VMCS_IDT_VECTORING_INFO, VMCS_IDT_VECTORING_ERROR, VMCS_EXIT_INSTR_LEN,
    VMCS_EXIT_INSTR_INFO, VMCS_EXIT_QUALIFICATION, VMCS_GUEST_LINEAR_ADDR,
};
enum { N_FIELDS = sizeof(fields) / sizeof(fields[0]), N_WRITABLE = 5 };
_Static_assert(N_FIELDS <= NESTOR_VMCS_BULK_MAX && N_FIELDS <= NESTOR_SHADOW_SYNC_MAX,
               "one bulk invocation, or NESTOR_MTD_SHADOW, moves them all");

/* One nested-vmx process serves one VM (main.c): one shadow. */
static struct {
    bool usable;                /* set up: the CPU has VMCS shadowing */
    unsigned n;                 /* fields shadowed: all, or the writable ones only */
    unsigned n_l1;              /* the first n_l1 of them L1 may VMWRITE on the shadow */
    bool ro_on_shadow;          /* the read-only ones now too (the current VMCS is a shadow) */
    uint8_t *write_bitmap;
    bool bound;                 /* on L1's VCPU now */
    uint64_t mirrored;          /* the vmcs12 (L1 address) the shadow holds, if bound */
    nestor_cptr_t shadow, bitmap[2];
    uint64_t value[N_FIELDS];   /* what the shadow holds (valid while bound) */
    unsigned slot[N_FIELDS];    /* each field's vmcs12 slot */
} sh;

static void bitmap_clear_bit(uint8_t *bitmap, uint32_t enc)
{
    unsigned bit = enc & VMX_RW_BITMAP_INDEX_MASK;       /* SDM 24.6.15 */
    bitmap[bit / 8] &= (uint8_t)~(1u << (bit % 8));
}

static void bitmap_set_bit(uint8_t *bitmap, uint32_t enc)
{
    unsigned bit = enc & VMX_RW_BITMAP_INDEX_MASK;       /* SDM 24.6.15 */
    bitmap[bit / 8] |= (uint8_t)(1u << (bit % 8));
}

static void bitmap_set(uint8_t *bitmap, uint32_t enc)
{
    bitmap_set_bit(bitmap, enc);
    if (VMCS_FIELD_WIDTH(enc) == VMCS_WIDTH_64)
        bitmap_set_bit(bitmap, enc | 1);
}

/* Field @enc's accesses run on the shadow: a 64-bit field's high half too
 * (access type 1, its own encoding and bitmap bit, SDM 24.11.2), or L1
 * would read a stale vmcs12 half of a value it wrote in the shadow. */
static void bitmap_clear(uint8_t *bitmap, uint32_t enc)
{
    bitmap_clear_bit(bitmap, enc);
    if (VMCS_FIELD_WIDTH(enc) == VMCS_WIDTH_64)
        bitmap_clear_bit(bitmap, enc | 1);
}

/* The shadow object, or 0 where the CPU has no VMCS shadowing (the kernel
 * refuses the type: tried once, so the allocator does not take the refusal
 * for a full untyped and move on). */
static nestor_cptr_t new_shadow(nu_alloc_t *a)
{
    if (a->next_slot >= a->end_slot)
        return 0;
    nestor_error_t e = nu_untyped_retype(a->untyped, NESTOR_OBJ_SHADOW_VMCS, 0, a->cnode, 0, 0,
                                         a->next_slot, 1);
    if (e == NESTOR_ERR_ILLEGAL_OPERATION)
        return 0;
    return e == NESTOR_OK ? a->next_slot++ : nu_alloc_obj(a, NESTOR_OBJ_SHADOW_VMCS, 0);
}

bool shadow12_setup(struct nvmx_monitor *m)
{
    sh.shadow = new_shadow(&m->alloc);
    if (!sh.shadow) {
        printf("nested-vmx %s: no VMCS shadowing: every VMREAD/VMWRITE of L1 exits\n", m->name);
        return false;
    }
    uint8_t *page[2];
    for (unsigned i = 0; i < 2; i++) {
        uint64_t va = SHADOW12_BITMAP_VA + i * VMX_RW_BITMAP_BYTES;
        sh.bitmap[i] = nu_alloc_obj(&m->alloc, NESTOR_OBJ_FRAME_4K, 0);
        if (!sh.bitmap[i] ||
            nu_map_frame(&m->alloc, NESTOR_CAP_INIT_VSPACE, va, sh.bitmap[i], MAP_RW))
            return false;
        page[i] = (uint8_t *)(uintptr_t)va;
        memset(page[i], 0xFF, VMX_RW_BITMAP_BYTES);      /* everything exits ... */
    }
    /* The exit information is read-only: the kernel can fill it in the
     * shadow only where the CPU allows VMWRITE to read-only fields
     * (IA32_VMX_MISC bit 29, SDM A.6); else L1 reads it with exits. */
    const nestor_word_t probe[] = { VMCS_EXIT_REASON, 0 };
    sh.n = nu_invoke(sh.shadow, NESTOR_SHADOW_WRITE, probe, 2, 0, 0, 0, 0) == NESTOR_OK
               ? N_FIELDS : N_WRITABLE;
    /* L1's VMWRITE of a read-only field succeeds only where nested-vmx's
     * IA32_VMX_MISC has bit 29 (SDM Vol. 2C VMWRITE); without it the write
     * must exit to get its VMfailValid(13) (instr.c). */
    sh.n_l1 = (NVMX_MISC & VMX_MISC_VMWRITE_ANY_FIELD) ? sh.n : N_WRITABLE;
    sh.write_bitmap = page[1];
    for (unsigned i = 0; i < sh.n; i++) {
        sh.slot[i] = (unsigned)vmcs12_index(fields[i], NULL);
        /* L1 reads the shadow without exits: no field of it may be one a
         * reflected exit leaves stale in vmcs12 (nvmx.h NVMX_LAZY_GROUPS,
         * l2.c exit_groups). */
        if (nvmx_lazy_group(sh.slot[i])) {
            printf("nested-vmx %s: field 0x%x is lazy L2 state: no VMCS shadowing\n", m->name,
                   fields[i]);
            return false;
        }
        bitmap_clear(page[0], fields[i]);               /* ... but these reads */
        if (i < N_WRITABLE)
            bitmap_clear(page[1], fields[i]);           /* ... and these writes */
    }
    sh.usable = true;
    printf("nested-vmx %s: VMCS shadowing: %u fields of L1's without exits\n", m->name, sh.n);
    return true;
}

static void mark_dirty(struct nvmx_monitor *m, unsigned slot)
{
    m->vmx.dirty[slot / 64] |= 1ULL << (slot % 64);
}

void shadow12_pull(struct nvmx_monitor *m)
{
    vmcs12_t *v = sh.bound ? nvmx_current(&m->vmx, &m->env) : 0;
    if (!v || m->vmx.current != sh.mirrored)
        return;
    nestor_word_t f[N_FIELDS], val[N_FIELDS];
    const nestor_word_t *got = val;
    const unsigned n = sh.ro_on_shadow ? sh.n_l1 : N_WRITABLE;
    if (m->s->mtd & NESTOR_MTD_SHADOW) {
        got = m->s->shadow;             /* read by the kernel at this exit (shadow_fetch) */
    } else {
        for (unsigned i = 0; i < n; i++)
            f[i] = fields[i];
        if (nu_invoke(sh.shadow, NESTOR_SHADOW_READ, f, n, 0, 0, val, n) != NESTOR_OK)
            return;
    }
    for (unsigned i = 0; i < n; i++) {
        const nestor_word_t x = got[i];
        sh.value[i] = x;
        if (v->field[sh.slot[i]] != x) {
            v->field[sh.slot[i]] = x;           /* what L1's VMWRITE stored */
            mark_dirty(m, sh.slot[i]);
        }
    }
}

/* The fields whose vmcs12 value differs from the shadow's (all of them
 * with @all) into the shadow. */
static void write_shadow(const vmcs12_t *v, bool all)
{
    nestor_word_t w[2 * N_FIELDS];
    unsigned n = 0;
    for (unsigned i = 0; i < sh.n; i++) {
        uint64_t x = v->field[sh.slot[i]];
        if (all || x != sh.value[i]) {
            w[n++] = fields[i];
            w[n++] = x;
            sh.value[i] = x;
        }
    }
    if (n)
        nu_invoke(sh.shadow, NESTOR_SHADOW_WRITE, w, n, 0, 0, 0, 0);
}

void shadow12_push(struct nvmx_monitor *m)
{
    const vmcs12_t *v = sh.bound ? nvmx_current(&m->vmx, &m->env) : 0;
    if (v && m->vmx.current == sh.mirrored)
        write_shadow(v, false);
}

nestor_word_t shadow12_push_reply(struct nvmx_monitor *m)
{
    const vmcs12_t *v = sh.bound ? nvmx_current(&m->vmx, &m->env) : 0;
    if (!v || m->vmx.current != sh.mirrored)
        return 0;
    /* The kernel writes those whose bit is set in shadow_load. */
    nestor_word_t changed = 0;
    for (unsigned i = 0; i < sh.n; i++) {
        const uint64_t x = v->field[sh.slot[i]];
        if (x != sh.value[i]) {
            changed |= 1ULL << i;
            sh.value[i] = x;
            m->s->shadow[i] = x;
        }
    }
    m->s->shadow_load = changed;
    return changed ? NESTOR_MTD_SHADOW : 0;
}

static void unbind(struct nvmx_monitor *m)
{
    if (sh.bound)
        nu_invoke(m->vcpu, NESTOR_VCPU_SET_SHADOW, 0, 0, 0, 0, 0, 0);
    sh.bound = false;
}

void shadow12_follow(struct nvmx_monitor *m)
{
    if (!sh.usable)
        return;
    const vmcs12_t *v = m->vmx.vmxon ? nvmx_current(&m->vmx, &m->env) : 0;
    if (!v) {
        unbind(m);
        return;
    }
    if (sh.bound && sh.mirrored == m->vmx.current)
        return;
    write_shadow(v, true);                      /* a new current VMCS: all of it */
    sh.mirrored = m->vmx.current;
    /* L1's VMWRITEs of the read-only fields (IA32_VMX_MISC bit 29) run on
     * the shadow only while the current VMCS is itself a shadow VMCS (SDM
     * 24.2: what a guest hypervisor fills for its own guest hypervisor);
     * otherwise they exit (instr.c), and a pull reads the 5 writable fields
     * only, not 15. The bitmap changes while L1 waits in an exit, not in
     * VMX non-root operation (SDM 24.11.4). */
    const bool ro = sh.n_l1 > N_WRITABLE && (v->revision & VMCS_REVISION_SHADOW);
    if (ro != sh.ro_on_shadow) {
        for (unsigned i = N_WRITABLE; i < sh.n_l1; i++)
            if (ro)
                bitmap_clear(sh.write_bitmap, fields[i]);
            else
                bitmap_set(sh.write_bitmap, fields[i]);
        sh.ro_on_shadow = ro;
    }
    if (!sh.bound) {
        /* The fields NESTOR_MTD_SHADOW moves: read at L1's VMLAUNCH/VMRESUME
         * exits (main.c), written with the reply at a reflected exit. */
        const nestor_cptr_t caps[] = { sh.shadow, sh.bitmap[0], sh.bitmap[1] };
        nestor_word_t sync[N_FIELDS];
        for (unsigned i = 0; i < sh.n; i++)
            sync[i] = fields[i];
        sh.bound = nu_invoke(m->vcpu, NESTOR_VCPU_SET_SHADOW, sync, sh.n, caps, 3, 0, 0) ==
                   NESTOR_OK;
    }
    /* What L1's VMLAUNCH/VMRESUME exits fetch: the fields a pull reads. */
    m->s->shadow_fetch = (1ULL << (sh.ro_on_shadow ? sh.n_l1 : N_WRITABLE)) - 1;
}

void shadow12_reset(struct nvmx_monitor *m)
{
    unbind(m);
}
