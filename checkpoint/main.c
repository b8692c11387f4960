/*
 * checkpoint/main.c - the checkpoint monitor as a program init starts from
 * a stack config ("nestor,checkpoint", stack-configs/BINDINGS.md), stacked
 * on one VM. Its boot info grants its endpoint, its budget and its
 * partition of a block server's disk ("blk"). The VMM hands it the VM
 * (ckpt_proto.h: VCPU, state page, RAM, the VM's identity) in one setup
 * call. Then:
 *
 * - an image chain on the partition (ckpt_walk: every checksum, size and
 *   the stack identity checked): its RAM goes into the VM's RAM now and its
 *   vCPU state at the VM's first instruction (a pause of ours); any image
 *   that does not check refuses the setup with the reason: the VM does not
 *   start. Its last generation is loaded; with checkpoint.after-restore=R
 *   the restored VM takes images again, R units later, as the chain's next
 *   generation (checkpoint/README.md "Checkpoints after a restore").
 * - no image (no magic at sector 0): the VM starts fresh; with the option
 *   checkpoint.after=N our VMX-preemption timer stops it after N units of
 *   guest time, at an exit boundary, and a full image is written (vCPU
 *   state, RAM) and read back whole before the VM goes on.
 *
 * Only its own pauses and timer exits reach it (exit slot 52 at its level).
 */
#include "ckpt_proto.h"
#include "count_monitor.h"
#include "../pager/pager_proto.h"
#include "nvmx_state.h"
#include "cpu_policy.h"
#include <blk_client.h>
#include <fmt.h>
#include <nestor/bootinfo.h>
#include <nestor/faults.h>
#include <string.h>
#include <user/hostuart.h>
#include <user/print.h>
#include <user/runtime.h>
#include <x86_arch.h>

#define STATE_VA      0x0000200000000000ULL
#define RAM_VA        0x0000300000000000ULL
#define BUF_VA        0x0000400000000000ULL  /* the buffer shared with the block server */
#define SECTORS_PER_BUF (CKPT_SCRATCH / BLK_SECTOR_SIZE)
#define NO_BLOCK      (~0ull)
/* What our exits write to the state page, and what a reply may load back:
 * every group (a checkpoint reads them all, a restore writes them all). */
#define ALL_STATE     (NESTOR_MTD_ALL & ~NESTOR_MTD_INJECT)
/* An event was being delivered at the timer exit: try again this much
 * guest time later (VMX-preemption-timer units). */
#define RETRY_UNITS   256

static struct {
    char name[32];
    char vm[CKPT_NAME_BYTES];
    nu_alloc_t alloc;
    nestor_cptr_t ep;
    nvmx_grant_t g;
    blk_conn_t blk;
    uint8_t *buf;               /* BUF_VA, CKPT_SCRATCH bytes */
    uint64_t cached;            /* the partition block (of CKPT_SCRATCH) in buf, or NO_BLOCK */
    uint64_t stack_id, after, every, max_images, ran;
    nestor_cptr_t ept;          /* the VM's EPT restricted to its RAM (ckpt_proto.h) */
    nestor_cptr_t pager;        /* the VM's pager (PAGER_BADGE_PAGES), when it has one */
    nestor_cptr_t nvmx;         /* its nested-vmx (NVMX_BADGE_STATE), when it has one */
    uint64_t paged_bytes;       /* RAM the pager owns, from ck.g.ram_bytes on (0: none) */
    uint64_t ram_bytes;         /* all the VM's RAM: the VMM's and the pager's */
    uint64_t paged_out, paged_in;   /* pages read from / written to the pager */
    ckpt_header_t prev;         /* the last image written, or restored from */
    uint64_t prev_base;
    uint32_t generation;        /* of the images this boot writes (one more than a
                                   restored chain's last) */
    uint64_t after_restore;     /* option checkpoint.after-restore */
    bool bench;                 /* option checkpoint.bench: print the cost figures */
    bool restore_pending;
    ckpt_vcpu_t restore;
    unsigned restore_first;     /* chain[] index of the restored generation's full image */
    uint64_t taken, passed, written, restored;
    bool off;                   /* no more images (one failed) */
    uint64_t commanded;         /* images asked for by a monitor command or the host */
    /* The host trigger: a host serial port granted by the config, and the
     * line coming in on it (include/ckpt_host.h). */
    bool host;
    nu_hostuart_t uart;
    ckpt_host_reader_t line;
    /* The VM's disk, when our block server serves it (blk_proto.h
     * BLK_REQ_VM_*): in every image, written back at a restore. */
    bool disk;
    uint64_t disk_sectors, disk_chunk, disk_chunks;
} ck = { .cached = NO_BLOCK };

#define DEVICES_MAX   8192          /* bytes of device records a restore holds */

static nestor_cptr_t untypeds[NESTOR_BOOTINFO_MAX_UNTYPED];
static uint8_t devices[DEVICES_MAX];   /* the restored image's device records */
static uint64_t devices_bytes;
static nestor_word_t restore_fpu[CKPT_FPU_WORDS];   /* the restored image's FPU section */
static bool has_fpu;
static uint8_t scratch[CKPT_SCRATCH];
static ckpt_image_t chain[CKPT_MAX_IMAGES];

/* ---- the partition as a medium ---- */

static bool part_read(void *ctx, uint64_t off, void *out, size_t n)
{
    (void)ctx;
    uint8_t *o = out;
    while (n) {
        const uint64_t block = off / CKPT_SCRATCH;
        if (block != ck.cached) {
            const uint64_t first = block * SECTORS_PER_BUF;
            if (first >= ck.blk.sectors)
                return false;
            uint64_t count = ck.blk.sectors - first;
            if (count > SECTORS_PER_BUF)
                count = SECTORS_PER_BUF;
            ck.cached = NO_BLOCK;
            if (blk_read(&ck.blk, first, count, 0) != BLK_OK)
                return false;
            ck.cached = block;
        }
        const size_t in = (size_t)(off % CKPT_SCRATCH);
        size_t k = CKPT_SCRATCH - in;
        if (k > n)
            k = n;
        memcpy(o, ck.buf + in, k);
        o += k;
        off += k;
        n -= k;
    }
    return true;
}

/* The writer stages in the shared buffer itself (ckpt_w_init): a write is
 * one request. @ctx: the image's first byte on the partition (a sector). */
static bool part_write(void *ctx, uint64_t off, const void *buf, size_t n)
{
    const uint64_t base = *(const uint64_t *)ctx;
    ck.cached = NO_BLOCK;
    if (buf != ck.buf)
        memcpy(ck.buf, buf, n);
    return blk_write(&ck.blk, (base + off) / BLK_SECTOR_SIZE, n / BLK_SECTOR_SIZE, 0) == BLK_OK;
}

static ckpt_medium_t medium(void)
{
    return (ckpt_medium_t){ part_read, NULL, ck.blk.sectors * BLK_SECTOR_SIZE, scratch };
}

/* ---- vCPU state <-> the image ---- */

#define SEG_OUT(f) c->f = (ckpt_seg_t){ s->f.base, s->f.limit, s->f.ar, s->f.sel, { 0 } }
#define SEG_IN(f)  s->f = (nestor_vcpu_seg_t){ c->f.base, c->f.limit, c->f.ar, c->f.sel, { 0 } }
#define FIELDS(X) X(rax) X(rbx) X(rcx) X(rdx) X(rsi) X(rdi) X(rbp) X(r8) X(r9) X(r10) X(r11) \
    X(r12) X(r13) X(r14) X(r15) X(rsp) X(rip) X(rflags) X(cr0) X(cr2) X(cr3) X(cr4) X(efer)   \
    X(gdtr_base) X(gdtr_limit) X(idtr_base) X(idtr_limit) X(interruptibility) X(activity)     \
    X(pending_dbg) X(sysenter_cs) X(sysenter_esp) X(sysenter_eip) X(star) X(lstar) X(cstar)   \
    X(fmask) X(kernel_gs_base) X(pat) X(tsc_aux) X(dr0) X(dr1) X(dr2) X(dr3) X(dr6) X(dr7)    \
    X(debugctl) X(xcr0) X(pdpte[0]) X(pdpte[1]) X(pdpte[2]) X(pdpte[3])
#define OUT(f) c->f = s->f;
#define IN(f)  s->f = c->f;

static void vcpu_out(const nestor_vcpu_state_t *s, ckpt_vcpu_t *c)
{
    FIELDS(OUT)
    SEG_OUT(es); SEG_OUT(cs); SEG_OUT(ss); SEG_OUT(ds); SEG_OUT(fs); SEG_OUT(gs);
    SEG_OUT(ldtr); SEG_OUT(tr);
}

static void vcpu_in(const ckpt_vcpu_t *c, nestor_vcpu_state_t *s)
{
    FIELDS(IN)
    SEG_IN(es); SEG_IN(cs); SEG_IN(ss); SEG_IN(ds); SEG_IN(fs); SEG_IN(gs);
    SEG_IN(ldtr); SEG_IN(tr);
}

/* ---- device state, through the VMM (ckpt_proto.h CKPT_REQ_DEV_*) ---- */

/* Why the VMM refused a device record (ckpt_dev.h CKPT_DEV_E_*). */
static const char *dev_error(nestor_word_t e)
{
    switch (e) {
    case CKPT_DEV_E_UNKNOWN: return "no such device in this VM";
    case CKPT_DEV_E_VERSION: return "another layout version or size";
    case CKPT_DEV_E_INVALID: return "a value the device cannot hold";
    case CKPT_DEV_E_MISSING: return "a device of the VM has no record in the image";
    case CKPT_DEV_E_SERVER: return "its device server refused its state (the VMM said why)";
    default: return "unknown error";
    }
}

/* Record @k of the VMM's devices into @rec and @data: 1, or 0 past the
 * last, or -1 when the VMM cannot give it (a device server that did not
 * quiesce and export: said; no image is written). */
static int dev_save(unsigned k, ckpt_dev_record_t *rec, uint8_t *data)
{
    nu_msg_t m = { .info = nestor_msginfo(CKPT_REQ_DEV_SAVE, 0, 0, 1), .mr = { k } };
    nestor_word_t st = nu_call(ck.g.vmm, &m), label = nestor_msginfo_label(m.info);
    if (st == NESTOR_OK && label == NVMX_REQ_NONE)
        return 0;
    if (st != NESTOR_OK || label != NVMX_REQ_OK || m.mr[CKPT_DEV_MR_BYTES] > CKPT_DEV_MAX_BYTES) {
        printf("checkpoint %s: the VMM gave no device record %u (%s)\n", ck.name, k,
               st != NESTOR_OK || label != NVMX_REQ_FAULT ? "no answer" : dev_error(m.mr[0]));
        return -1;
    }
    *rec = (ckpt_dev_record_t){ .id = (uint32_t)m.mr[CKPT_DEV_MR_ID],
                                .version = (uint32_t)m.mr[CKPT_DEV_MR_VERSION],
                                .bytes = (uint32_t)m.mr[CKPT_DEV_MR_BYTES],
                                .instance = (uint32_t)m.mr[CKPT_DEV_MR_INSTANCE] };
    memcpy(data, &nu_ipc_buffer()->msg[CKPT_DEV_MR_DATA], rec->bytes);
    return 1;
}

_Static_assert(NVMX_STATE_WORDS * 8 <= CKPT_DEV_MAX_BYTES, "nested-vmx's record fits");

/* nested-vmx's state of the VM (nested-vmx/nvmx_state.h) as a record of
 * ours; false if it does not give it (said why). */
static bool nvmx_save(ckpt_dev_record_t *rec, uint8_t *data)
{
    nu_msg_t m = { .info = nestor_msginfo(NVMX_REQ_STATE_SAVE, 0, 0, 0) };
    if (nu_call(ck.nvmx, &m) != NESTOR_OK || nestor_msginfo_label(m.info) != NVMX_REQ_OK ||
        nestor_msginfo_length(m.info) != NVMX_STATE_WORDS) {
        printf("checkpoint %s: nested-vmx did not give its state of vm %s (error %lu)\n",
               ck.name, ck.vm, (unsigned long)m.mr[0]);
        return false;
    }
    const nestor_ipc_buffer_t *b = nu_ipc_buffer();
    for (unsigned i = 0; i < NVMX_STATE_WORDS; i++) {
        const nestor_word_t w = i < NESTOR_MSG_REGISTERS_IN_CPU ? m.mr[i] : b->msg[i];
        memcpy(data + i * 8, &w, 8);
    }
    *rec = (ckpt_dev_record_t){ .id = CKPT_DEV_NESTED_VMX, .version = NVMX_STATE_VERSION,
                                .bytes = NVMX_STATE_WORDS * 8 };
    return true;
}

static bool put_record(ckpt_writer_t *w, const ckpt_dev_record_t *rec, const uint8_t *data)
{
    static const uint8_t zero[8];
    return ckpt_w_put(w, rec, sizeof *rec) && ckpt_w_put(w, data, rec->bytes) &&
           ckpt_w_put(w, zero, (8 - rec->bytes % 8) % 8);
}

/* The device section: every record the VMM gives, then nested-vmx's (if
 * the VM has it), each padded to 8. */
static bool put_devices(ckpt_writer_t *w, unsigned *n)
{
    static uint8_t data[CKPT_DEV_MAX_BYTES];
    ckpt_dev_record_t rec;
    if (!ckpt_w_section(w, CKPT_SEC_DEVICES))
        return false;
    int got;
    for (*n = 0; (got = dev_save(*n, &rec, data)) > 0; (*n)++)
        if (!put_record(w, &rec, data))
            return false;
    if (got < 0)
        return false;
    if (ck.nvmx) {
        if (!nvmx_save(&rec, data) || !put_record(w, &rec, data))
            return false;
        (*n)++;
    }
    return true;
}

/* A record of ours for nested-vmx (CKPT_DEV_NESTED_VMX) back to it: 0 or a
 * CKPT_DEV_E_*. */
static nestor_word_t nvmx_load(const ckpt_dev_record_t *rec, const uint8_t *data)
{
    if (!ck.nvmx)
        return CKPT_DEV_E_UNKNOWN;      /* the VM has no nested-vmx to take it */
    if (rec->version != NVMX_STATE_VERSION || rec->bytes != NVMX_STATE_WORDS * 8)
        return CKPT_DEV_E_VERSION;
    nu_msg_t m = { .info = nestor_msginfo(NVMX_REQ_STATE_LOAD, 0, 0, NVMX_STATE_WORDS) };
    nestor_ipc_buffer_t *b = nu_ipc_buffer();
    for (unsigned i = 0; i < NVMX_STATE_WORDS; i++) {
        nestor_word_t w;
        memcpy(&w, data + i * 8, 8);
        if (i < NESTOR_MSG_REGISTERS_IN_CPU)
            m.mr[i] = w;
        else
            b->msg[i] = w;
    }
    return nu_call(ck.nvmx, &m) == NESTOR_OK && nestor_msginfo_label(m.info) == NVMX_REQ_OK
               ? 0 : CKPT_DEV_E_INVALID;
}

/* The restored image's device records into the VMM's models; false (after
 * a line saying which and why) if one is refused. */
static bool load_devices(void)
{
    uint64_t off = 0;
    while (off < devices_bytes) {
        ckpt_dev_record_t rec;
        memcpy(&rec, devices + off, sizeof rec);        /* sizes checked by ckpt_walk */
        nu_msg_t m = { .info = nestor_msginfo(CKPT_REQ_DEV_LOAD, 0, 0,
                                              CKPT_DEV_MR_DATA + (rec.bytes + 7) / 8),
                       .mr = { rec.id, rec.version, rec.bytes, rec.instance } };
        nestor_word_t e = CKPT_DEV_E_VERSION;
        if (rec.id == CKPT_DEV_NESTED_VMX) {
            e = nvmx_load(&rec, devices + off + sizeof rec);
        } else if (rec.bytes <= CKPT_DEV_MAX_BYTES) {
            memcpy(&nu_ipc_buffer()->msg[CKPT_DEV_MR_DATA], devices + off + sizeof rec,
                   rec.bytes);
            e = nu_call(ck.g.vmm, &m) != NESTOR_OK ? CKPT_DEV_E_UNKNOWN
                : nestor_msginfo_label(m.info) == NVMX_REQ_OK ? 0 : m.mr[0];
        }
        if (e) {
            printf("checkpoint %s: the %s refused device %s.%u (version %u, %u bytes): error "
                   "%lu, %s; vm %s stops\n", ck.name,
                   rec.id == CKPT_DEV_NESTED_VMX ? "VM's nested-vmx" : "VMM",
                   ckpt_dev_name(rec.id), rec.instance, rec.version, rec.bytes,
                   (unsigned long)e, dev_error(e), ck.vm);
            return false;
        }
        off += (sizeof rec + rec.bytes + 7) & ~7ull;
    }
    /* Every device the VMM exports had its record (ckpt_dev.h). */
    nu_msg_t m = { .info = nestor_msginfo(CKPT_REQ_DEV_DONE, 0, 0, 0) };
    if (nu_call(ck.g.vmm, &m) != NESTOR_OK || nestor_msginfo_label(m.info) != NVMX_REQ_OK) {
        printf("checkpoint %s: the VMM refused the image's device set: device %s.%lu: %s; vm %s "
               "stops\n", ck.name, ckpt_dev_name((uint32_t)m.mr[1]), (unsigned long)m.mr[2],
               dev_error(m.mr[0]), ck.vm);
        return false;
    }
    return true;
}

/* The vCPU's FPU state through the VMM (CKPT_REQ_FPU_*), as words. */
static bool fpu_save(nestor_word_t *w)
{
    nu_msg_t m = { .info = nestor_msginfo(CKPT_REQ_FPU_SAVE, 0, 0, 0) };
    if (nu_call(ck.g.vmm, &m) != NESTOR_OK || nestor_msginfo_label(m.info) != NVMX_REQ_OK ||
        nestor_msginfo_length(m.info) != CKPT_FPU_WORDS)
        return false;
    const nestor_ipc_buffer_t *b = nu_ipc_buffer();
    for (unsigned i = 0; i < CKPT_FPU_WORDS; i++)
        w[i] = i < NESTOR_MSG_REGISTERS_IN_CPU ? m.mr[i] : b->msg[i];
    return true;
}

static bool fpu_load(const nestor_word_t *w)
{
    nu_msg_t m = { .info = nestor_msginfo(CKPT_REQ_FPU_LOAD, 0, 0, CKPT_FPU_WORDS) };
    nestor_ipc_buffer_t *b = nu_ipc_buffer();
    for (unsigned i = 0; i < CKPT_FPU_WORDS; i++) {
        if (i < NESTOR_MSG_REGISTERS_IN_CPU)
            m.mr[i] = w[i];
        else
            b->msg[i] = w[i];
    }
    return nu_call(ck.g.vmm, &m) == NESTOR_OK && nestor_msginfo_label(m.info) == NVMX_REQ_OK;
}

/* ---- the pager's pages (pager/pager_proto.h PAGER_BADGE_PAGES) ---- */

static uint8_t page_buf[CKPT_PAGE_SIZE];

/* Page @index of the pager's range into @out (zero if it was never
 * written); false if the pager does not answer it. */
static bool pager_read(uint64_t index, uint8_t *out)
{
    const nestor_ipc_buffer_t *b = nu_ipc_buffer();
    for (nestor_word_t chunk = 0; chunk < PAGER_CHUNKS; chunk++) {
        nu_msg_t m = { .info = nestor_msginfo(PAGER_REQ_READ, 0, 0, 2), .mr = { index, chunk } };
        if (nu_call(ck.pager, &m) != NESTOR_OK ||
            nestor_msginfo_label(m.info) != PAGER_REPLY_OK)
            return false;
        if (m.mr[0] == PAGER_PAGE_ZERO && chunk == 0) {
            memset(out, 0, CKPT_PAGE_SIZE);
            return true;
        }
        if (m.mr[0] != PAGER_PAGE_DATA ||
            nestor_msginfo_length(m.info) != PAGER_PAGE_MR_DATA + PAGER_CHUNK_WORDS)
            return false;
        nestor_word_t *w = (nestor_word_t *)(void *)out + chunk * PAGER_CHUNK_WORDS;
        for (unsigned i = 0; i < PAGER_CHUNK_WORDS; i++) {
            const unsigned mr = PAGER_PAGE_MR_DATA + i;
            w[i] = mr < NESTOR_MSG_REGISTERS_IN_CPU ? m.mr[mr] : b->msg[mr];
        }
    }
    ck.paged_out++;
    return true;
}

/* @in becomes page @index of the pager's range. */
static bool pager_write(uint64_t index, const uint8_t *in)
{
    nestor_ipc_buffer_t *b = nu_ipc_buffer();
    for (nestor_word_t chunk = 0; chunk < PAGER_CHUNKS; chunk++) {
        nu_msg_t m = { .info = nestor_msginfo(PAGER_REQ_WRITE, 0, 0,
                                              PAGER_PAGE_MR_DATA + PAGER_CHUNK_WORDS),
                       .mr = { index, chunk } };
        const nestor_word_t *w = (const nestor_word_t *)(const void *)in +
                                 chunk * PAGER_CHUNK_WORDS;
        for (unsigned i = 0; i < PAGER_CHUNK_WORDS; i++) {
            const unsigned mr = PAGER_PAGE_MR_DATA + i;
            if (mr < NESTOR_MSG_REGISTERS_IN_CPU)
                m.mr[mr] = w[i];
            else
                b->msg[mr] = w[i];
        }
        if (nu_call(ck.pager, &m) != NESTOR_OK ||
            nestor_msginfo_label(m.info) != PAGER_REPLY_OK)
            return false;
    }
    ck.paged_in++;
    return true;
}

/* The pages the pager's range had written since the last call (its
 * PAGER_REQ_DIRTY sweep), as guest page numbers after @pages[@n]; with
 * @pages NULL only forgotten (a full image holds them all). The new count,
 * or -1 (the pager did not answer, or more than MAX pages). */
static long pager_dirty(uint64_t *pages, long n, long max)
{
    const uint64_t first = ck.g.ram_bytes / CKPT_PAGE_SIZE;
    const nestor_ipc_buffer_t *b = nu_ipc_buffer();
    for (nestor_word_t from = 0; from < ck.paged_bytes / CKPT_PAGE_SIZE;) {
        nu_msg_t m = { .info = nestor_msginfo(PAGER_REQ_DIRTY, 0, 0, 1), .mr = { from } };
        /* Trust nothing of the answer: a count past the message, no
         * progress, a page outside the range end the sweep. */
        if (nu_call(ck.pager, &m) != NESTOR_OK ||
            nestor_msginfo_label(m.info) != PAGER_REPLY_OK || m.mr[0] > PAGER_DIRTY_MAX ||
            nestor_msginfo_length(m.info) != PAGER_DIRTY_MR_LIST + m.mr[0] || m.mr[1] <= from)
            return -1;
        for (unsigned i = 0; pages && i < m.mr[0]; i++) {
            const unsigned mr = PAGER_DIRTY_MR_LIST + i;
            const nestor_word_t index = mr < NESTOR_MSG_REGISTERS_IN_CPU ? m.mr[mr] : b->msg[mr];
            if (n == max || index >= ck.paged_bytes / CKPT_PAGE_SIZE)
                return -1;
            pages[n++] = first + index;
        }
        from = m.mr[1];
    }
    return n;
}

/* Guest page @pn's contents: the VMM's RAM we hold, or the pager's. NULL
 * if the pager could not give it. */
static const uint8_t *ram_page(uint64_t pn)
{
    if (pn < ck.g.ram_bytes / CKPT_PAGE_SIZE)
        return ck.g.ram + pn * CKPT_PAGE_SIZE;
    return pager_read(pn - ck.g.ram_bytes / CKPT_PAGE_SIZE, page_buf) ? page_buf : NULL;
}

/* ---- the VM's disk (checkpoint/README.md "The disk") ---- */

/* The VM's disk moves through the buffer we share with the block server,
 * where the writer stages the image and part_read caches a block: what is
 * there is kept aside around each request and put back. */
static uint8_t stash[CKPT_SCRATCH], piece[CKPT_SCRATCH];
static uint32_t disk_dirty[BLK_VM_MAX_CHUNKS];   /* chunk numbers (< 2^15) */

/* Sectors [@sector, @sector + @count) of the VM's disk (@count at most a
 * buffer's) from (@write false) or to the shared buffer, @data their bytes. */
static bool vm_disk_io(bool write, uint64_t sector, uint64_t count, uint8_t *data)
{
    const size_t n = (size_t)count * BLK_SECTOR_SIZE;
    memcpy(stash, ck.buf, CKPT_SCRATCH);
    if (write)
        memcpy(ck.buf, data, n);
    const int e = write ? blk_vm_write(&ck.blk, sector, count, 0)
                        : blk_vm_read(&ck.blk, sector, count, 0);
    if (e == BLK_OK && !write)
        memcpy(data, ck.buf, n);
    memcpy(ck.buf, stash, CKPT_SCRATCH);
    if (e != BLK_OK)
        printf("checkpoint %s: vm %s's disk: %s of sectors %lu-%lu refused (error %d)\n", ck.name, ck.vm,
               write ? "write" : "read", (unsigned long)sector,
               (unsigned long)(sector + count - 1), e);
    return e == BLK_OK;
}

/* Ask our block server whether it serves the VM's disk to us (init names
 * us to it when it is our VM's). False: it does, but not in a way an
 * image can hold (said). */
static bool open_vm_disk(void)
{
    uint64_t sectors = 0, chunk = 0, chunks = 0;
    const int e = blk_vm_info(&ck.blk, &sectors, &chunk, &chunks);
    if (e == BLK_E_NOT_VM)
        return true;                    /* no disk of the VM's there: none in the images */
    const ckpt_disk_t d = { CKPT_DISK_DENSE, (uint32_t)chunk, sectors, chunks, 0 };
    if (e != BLK_OK || !sectors || chunk < CKPT_DISK_CHUNK_MIN || chunk > CKPT_DISK_CHUNK_MAX ||
        (chunk & (chunk - 1)) || chunks != ckpt_disk_chunks(&d) || chunks > BLK_VM_MAX_CHUNKS) {
        printf("checkpoint %s: vm %s's disk: the block server says %lu sectors in %lu chunks of "
               "%lu (error %d): no image could hold it\n", ck.name, ck.vm,
               (unsigned long)sectors, (unsigned long)chunks, (unsigned long)chunk, e);
        return false;
    }
    ck.disk = true;
    ck.disk_sectors = sectors;
    ck.disk_chunk = chunk;
    ck.disk_chunks = chunks;
    printf("checkpoint %s: vm %s's disk (%lu sectors) is on our block server: every image holds "
           "it (chunks of %lu sectors), a restore writes it back\n", ck.name, ck.vm,
           (unsigned long)sectors, (unsigned long)chunk);
    return true;
}

/* The disk section of an image: the whole disk (@full; the server's
 * written-flags cleared first), else the chunks written since the image
 * before (the flags the server had, taken). *@held: the chunks in it. */
static bool put_disk(ckpt_writer_t *w, bool full, uint64_t *held)
{
    uint64_t n = 0, k = 0;
    if (full && blk_vm_dirty(&ck.blk, 0, BLK_VM_DIRTY_CLEAR, &k) != BLK_OK)
        return false;
    /* Trust nothing of the answers: a chunk that is not after the last
     * one, or past the disk, ends the image. */
    for (uint64_t from = 0; !full; from = k + 1) {
        if (blk_vm_dirty(&ck.blk, from, BLK_VM_DIRTY_TAKE, &k) != BLK_OK || k < from ||
            k > ck.disk_chunks) {
            printf("checkpoint %s: the block server did not say which chunks of vm %s's disk "
                   "were written\n", ck.name, ck.vm);
            return false;
        }
        if (k == ck.disk_chunks)
            break;
        disk_dirty[n++] = (uint32_t)k;
    }
    const ckpt_disk_t d = { full ? CKPT_DISK_DENSE : CKPT_DISK_LIST, (uint32_t)ck.disk_chunk,
                            ck.disk_sectors, full ? ck.disk_chunks : n, 0 };
    bool ok = ckpt_w_section(w, CKPT_SEC_DISK) && ckpt_w_put(w, &d, sizeof d);
    for (uint64_t i = 0; ok && !full && i < n; i++) {
        const uint64_t listed = disk_dirty[i];
        ok = ckpt_w_put(w, &listed, sizeof listed);
    }
    ok = ok && ckpt_w_pad(w);
    for (uint64_t i = 0; ok && i < d.chunks; i++) {
        const uint64_t first = (full ? i : disk_dirty[i]) * ck.disk_chunk;
        for (uint64_t p = 0; ok && p < ck.disk_chunk; p += SECTORS_PER_BUF) {
            /* The part of the last chunk past the disk's end is zero. */
            const uint64_t at = first + p;
            const uint64_t count = at >= ck.disk_sectors ? 0
                                   : ck.disk_sectors - at < SECTORS_PER_BUF
                                   ? ck.disk_sectors - at : SECTORS_PER_BUF;
            memset(piece, 0, sizeof piece);
            ok = (!count || vm_disk_io(false, at, count, piece)) &&
                 ckpt_w_put(w, piece, sizeof piece);
        }
    }
    *held = d.chunks;
    return ok;
}

/* The disk section of image @im (checked: ckpt_walk) written back to the
 * VM's disk, the part of each chunk past the disk's end left out. */
static bool apply_disk(const ckpt_medium_t *m, const ckpt_image_t *im, uint64_t *chunks)
{
    const ckpt_section_t *s = ckpt_find(im->sec, im->h.n_sections, CKPT_SEC_DISK);
    ckpt_disk_t d;
    if (!s || !m->read(m->ctx, im->base + s->offset, &d, sizeof d) ||
        d.chunk_sectors != ck.disk_chunk || d.disk_sectors != ck.disk_sectors)
        return false;
    const uint64_t list = d.encoding == CKPT_DISK_LIST ? d.chunks * sizeof(uint64_t) : 0;
    const uint64_t data = im->base + s->offset + ckpt_align(sizeof d + list);
    const uint64_t chunk_bytes = ck.disk_chunk * BLK_SECTOR_SIZE;
    for (uint64_t i = 0; i < d.chunks; i++) {
        uint64_t k = i;
        if (list && !m->read(m->ctx, im->base + s->offset + sizeof d + i * sizeof k, &k,
                             sizeof k))
            return false;
        if (k >= ck.disk_chunks)
            return false;
        for (uint64_t p = 0; p < ck.disk_chunk; p += SECTORS_PER_BUF) {
            const uint64_t at = k * ck.disk_chunk + p;
            if (at >= ck.disk_sectors)
                break;
            const uint64_t count = ck.disk_sectors - at < SECTORS_PER_BUF
                                   ? ck.disk_sectors - at : SECTORS_PER_BUF;
            if (!m->read(m->ctx, data + i * chunk_bytes + p * BLK_SECTOR_SIZE, piece,
                         CKPT_SCRATCH) ||
                !vm_disk_io(true, at, count, piece))
                return false;
        }
    }
    *chunks += d.chunks;
    return true;
}

/* ---- taking a checkpoint ---- */

/* Image 0, full: the vCPU as the state page holds it at this exit, then
 * every RAM page, dense. Then a zero sector to end the chain, and the whole
 * image read back and checked as a restore would. */
static inline uint64_t rdtsc(void)
{
    uint32_t lo, hi;
    __asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
    return (uint64_t)hi << 32 | lo;
}

/* `./nestor bench checkpoint` (option checkpoint.bench): TSC ticks (on
 * Bochs, instructions of the whole machine: this monitor, the block
 * server, the kernel, the VMM's device records) per MiB of RAM saved, for
 * writing the image and for reading it back whole. */
static void bench_figures(uint64_t t0, uint64_t t1, uint64_t t2, bool full, uint64_t pages)
{
    const uint64_t kib = pages * (CKPT_PAGE_SIZE / 1024);
    if (!ck.bench || !kib)
        return;
    const char *kind = full ? "full" : "incremental";
    printf("checkpoint_instructions_per_mib{image=%s,phase=write} %lu\n", kind,
           (unsigned long)((t1 - t0) * 1024 / kib));
    printf("checkpoint_instructions_per_mib{image=%s,phase=read_back} %lu\n", kind,
           (unsigned long)((t2 - t1) * 1024 / kib));
}

/* The EPT leaves over the VM's RAM: read and clear each one's accessed
 * and dirty flags (NESTOR_EPT_READ_AD with clear, which also invalidates
 * the EPT's cached translations so that the CPU sets them again: SDM Vol.
 * 3C 28.3.5). With @pages, the 4 KiB page numbers of every leaf written
 * since the last clear go there (a 2 MiB leaf: its 512 pages); returns
 * how many, or -1 when a flag cannot be read. */
#define MAX_DIRTY (1u << 16)
static uint64_t dirty[MAX_DIRTY];

static long sweep_dirty(uint64_t *pages)
{
    long n = 0;
    for (uint64_t gpa = 0; gpa < ck.g.ram_bytes;) {
        const nestor_word_t args[] = { gpa, NESTOR_EPT_AD_CLEAR };
        nestor_word_t res[2] = { 0 };
        if (nu_invoke(ck.ept, NESTOR_EPT_READ_AD, args, 2, 0, 0, res, 2) != NESTOR_OK ||
            res[1] < 12 || res[1] > 30)
            return -1;
        const uint64_t size = 1ull << res[1];
        if (pages && (res[0] & NESTOR_EPT_DIRTY))
            for (uint64_t p = gpa; p < gpa + size && p < ck.g.ram_bytes; p += CKPT_PAGE_SIZE) {
                if (n == MAX_DIRTY)
                    return -1;
                pages[n++] = p / CKPT_PAGE_SIZE;
            }
        gpa = (gpa & ~(size - 1)) + size;
    }
    return n;
}

static bool take(const nestor_word_t *mr)
{
    const uint64_t t0 = rdtsc();
    /* Image 0 holds every page; a later one the pages written since the
     * one before (the flags were cleared when that one was taken). */
    const bool full = ck.written == 0;
    /* A reader follows CKPT_MAX_IMAGES images (ckpt_walk): no more. */
    if (ck.restore_first + ck.restored + ck.written >= CKPT_MAX_IMAGES) {
        printf("checkpoint %s: the partition's chain holds %u images, as many as a reader "
               "follows\n", ck.name, CKPT_MAX_IMAGES);
        return false;
    }
    long n_dirty = sweep_dirty(full ? NULL : dirty);
    if (n_dirty < 0) {
        printf("checkpoint %s: cannot read the EPT's dirty flags\n", ck.name);
        return false;
    }
    /* Under nested-vmx, L2 writes L1's RAM through EPT02 and nested-vmx
     * writes vmcs12 through its own mapping: neither sets the VM's EPT
     * dirty flags (SDM Vol. 3C 28.3.5: the flags of the EPT the access
     * went through). A later image then lists every page. */
    if (ck.nvmx && !full)
        for (n_dirty = 0; (uint64_t)n_dirty < ck.ram_bytes / CKPT_PAGE_SIZE; n_dirty++) {
            if (n_dirty == MAX_DIRTY) {
                printf("checkpoint %s: too many pages for an image after the first\n", ck.name);
                return false;
            }
            dirty[n_dirty] = (uint64_t)n_dirty;
        }
    /* Under a pager, the pages of its range written since (its sweep of
     * the EPT's dirty flags over the frames it maps, and what it saw at
     * evictions), 4 KiB each. */
    if (ck.pager && (n_dirty = pager_dirty(full ? NULL : dirty, n_dirty, MAX_DIRTY)) < 0) {
        printf("checkpoint %s: the pager did not say which pages were written\n", ck.name);
        return false;
    }
    /* A restored VM's first image starts its generation right after the
     * chain it was restored from, which stays whole until its header is
     * written (ckpt_format.h). */
    const bool chained = !full || ck.restored;
    const uint64_t base = chained ? ckpt_next(ck.prev_base, &ck.prev) : 0;
    ckpt_writer_t w;
    ckpt_w_init(&w, part_write, (void *)&base, ck.buf);
    ckpt_vcpu_t c = { .idt_vectoring = mr[NESTOR_EXIT_MR_IDT_VECTORING],
                      .idt_vectoring_error = mr[NESTOR_EXIT_MR_IDT_ERROR] };
    vcpu_out(ck.g.state, &c);
    const uint64_t pages = full ? ck.ram_bytes / CKPT_PAGE_SIZE : (uint64_t)n_dirty;
    const ckpt_ram_t r = { .encoding = full ? CKPT_RAM_DENSE : CKPT_RAM_LIST,
                           .page_size = CKPT_PAGE_SIZE, .first_page = 0, .pages = pages };
    unsigned n_dev = 0;
    static nestor_word_t fpu[CKPT_FPU_WORDS];
    bool ok = ckpt_w_section(&w, CKPT_SEC_VCPU) && ckpt_w_put(&w, &c, sizeof c) &&
              fpu_save(fpu) && ckpt_w_section(&w, CKPT_SEC_FPU) &&
              ckpt_w_put(&w, fpu, sizeof fpu) && put_devices(&w, &n_dev) && ckpt_w_section(&w, CKPT_SEC_RAM) &&
              ckpt_w_put(&w, &r, sizeof r) &&
              (full || ckpt_w_put(&w, dirty, pages * sizeof dirty[0])) && ckpt_w_pad(&w);
    for (uint64_t i = 0; ok && i < pages; i++) {
        const uint8_t *page = ram_page(full ? i : dirty[i]);
        if (!page)
            printf("checkpoint %s: the pager did not give page 0x%lx\n", ck.name,
                   (unsigned long)((full ? i : dirty[i]) * CKPT_PAGE_SIZE));
        ok = page && ckpt_w_put(&w, page, CKPT_PAGE_SIZE);
    }
    uint64_t disk_chunks = 0;
    ok = ok && (!ck.disk || put_disk(&w, full, &disk_chunks));
    ckpt_header_t h = { .stack_id = ck.stack_id,
                        .kind = full ? CKPT_KIND_FULL : CKPT_KIND_INCREMENTAL,
                        .seq = full ? 0 : ck.prev.seq + 1,
                        .prev_header_crc = full ? 0 : ck.prev.header_crc,
                        .generation = ck.generation,
                        .parent_header_crc = full && ck.restored ? ck.prev.header_crc : 0,
                        .ram_bytes = ck.ram_bytes, .guest_time = ck.ran, .pages = pages };
    memcpy(h.vm_name, ck.vm, sizeof h.vm_name);
    h.vm_name[CKPT_NAME_BYTES - 1] = 0;
    if (!ok || !ckpt_w_finish(&w, &h)) {
        printf("checkpoint %s: cannot write the image (%lu bytes from byte %lu of its "
               "partition of %lu: the block server or the VMM said why)\n", ck.name,
               (unsigned long)(w.off > CKPT_DATA_START ? w.off : 0), (unsigned long)base,
               (unsigned long)(ck.blk.sectors * BLK_SECTOR_SIZE));
        return false;
    }
    /* The chain ends after it. */
    const uint64_t end = ckpt_next(base, &h);
    memset(ck.buf, 0, BLK_SECTOR_SIZE);
    ck.cached = NO_BLOCK;
    if (end / BLK_SECTOR_SIZE < ck.blk.sectors &&
        blk_write(&ck.blk, end / BLK_SECTOR_SIZE, 1, 0) != BLK_OK)
        return false;
    blk_flush(&ck.blk);
    const uint64_t t1 = rdtsc();
    /* Read back as a restore would: this image whole, and that it follows
     * the one before. */
    ckpt_verdict_t v;
    const ckpt_medium_t m = medium();
    ckpt_image_t *im = &chain[0];
    if (!ckpt_check_header(&m, base, ck.stack_id, &im->h, im->sec, &v) ||
        !ckpt_check_image(&m, base, &im->h, im->sec, &v) ||
        (chained && !ckpt_check_follows(&ck.prev, &im->h, &v))) {
        printf("checkpoint %s: the image written does not read back: %s: %s\n", ck.name,
               ckpt_err_name(v.err), v.why);
        return false;
    }
    bench_figures(t0, t1, rdtsc(), full, pages);
    ck.prev = h;
    ck.prev_base = base;
    ck.written++;
    char gen[48] = "";
    if (h.generation)
        fmt_snprintf(gen, sizeof gen, ", generation %u", h.generation);
    printf("checkpoint %s: image %u (%s%s) of vm %s written and read back: %lu pages, %u "
           "device records, %lu bytes, header 0x%08x, at rip 0x%lx after %lu units of guest "
           "time\n", ck.name, h.seq, full ? "full" : "incremental", gen, ck.vm, (unsigned long)pages,
           n_dev, (unsigned long)h.image_bytes, h.header_crc,
           (unsigned long)c.rip, (unsigned long)ck.ran);
    if (ck.disk)
        printf("checkpoint %s: image %u holds vm %s's disk: %lu chunks of %lu sectors (%s)\n",
               ck.name, h.seq, ck.vm, (unsigned long)disk_chunks, (unsigned long)ck.disk_chunk,
               full ? "all of it" : "those written since the image before");
    return true;
}

static void set_timer(uint64_t units)
{
    const nestor_word_t args[] = { units, ck.g.level };
    nu_invoke(ck.g.vcpu, NESTOR_VCPU_SET_TIMER, args, 2, 0, 0, 0, 0);
}

/* Our timer ran out: a checkpoint, unless an event was being delivered
 * (SDM Vol. 3C 27.2.4): then it is re-injected (26.6.1.1) and we try
 * again a little later. Returns the groups changed; *@stop: the VM must
 * stop (never, today: a failed image only ends the checkpoints). */
static nestor_word_t on_timer(const nestor_word_t *mr, bool *stop)
{
    uint32_t info, error, len;
    if (idt_reinject((uint32_t)mr[NESTOR_EXIT_MR_IDT_VECTORING],
                     (uint32_t)mr[NESTOR_EXIT_MR_IDT_ERROR],
                     (uint32_t)mr[NESTOR_EXIT_MR_INSTR_LEN], &info, &error, &len)) {
        ck.ran += RETRY_UNITS;
        set_timer(RETRY_UNITS);
        ck.g.state->inject_info = info;
        ck.g.state->inject_error = error;
        ck.g.state->inject_instr_len = len;
        return NESTOR_MTD_INJECT;
    }
    /* An image that could not be written is not there (its header is
     * written last); the dirty flags it cleared are lost, so no later
     * incremental image could be right: the VM goes on without any. */
    *stop = false;
    if (!take(mr)) {
        printf("checkpoint %s: no more checkpoints of vm %s; it goes on\n", ck.name, ck.vm);
        ck.every = 0;
        ck.off = true;
        return 0;
    }
    return 0;
}

/* ---- restoring ---- */

/* The RAM of image @im into the VM's RAM: the pages in the VMM's RAM we
 * hold (@paged false), or those in the pager's range, through the pager
 * (@paged true: once every monitor is set up, at the VM's first
 * instruction). Its section checked (format.c check_content: every page
 * inside the VM). */
static bool apply_ram(const ckpt_medium_t *m, const ckpt_image_t *im, bool paged)
{
    const uint64_t kept = ck.g.ram_bytes / CKPT_PAGE_SIZE;
    const ckpt_section_t *s = ckpt_find(im->sec, im->h.n_sections, CKPT_SEC_RAM);
    ckpt_ram_t r;
    if (!m->read(m->ctx, im->base + s->offset, &r, sizeof r))
        return false;
    const uint64_t list = r.encoding == CKPT_RAM_LIST ? r.pages * sizeof(uint64_t) : 0;
    const uint64_t data = im->base + s->offset + ckpt_align(sizeof r + list);
    for (uint64_t i = 0; i < r.pages; i++) {
        uint64_t pn = r.first_page + i;
        if (list && !m->read(m->ctx, im->base + s->offset + sizeof r + i * sizeof pn, &pn,
                             sizeof pn))
            return false;
        if (pn >= ck.ram_bytes / CKPT_PAGE_SIZE)
            return false;
        if ((pn >= kept) != paged)
            continue;
        uint8_t *to = paged ? page_buf : ck.g.ram + pn * CKPT_PAGE_SIZE;
        if (!m->read(m->ctx, data + i * CKPT_PAGE_SIZE, to, CKPT_PAGE_SIZE) ||
            (paged && !pager_write(pn - kept, page_buf)))
            return false;
    }
    return true;
}

/* The chain on our partition, if there is one: checked whole, then loaded.
 * False (after a line saying why) when it must not be: the VM must not
 * start. */
static bool restore_chain(void)
{
    const ckpt_medium_t m = medium();
    char magic[CKPT_MAGIC_BYTES];
    if (!m.read(m.ctx, 0, magic, sizeof magic)) {
        printf("checkpoint %s: cannot read its partition (block server error %lu)\n", ck.name,
               (unsigned long)ck.blk.last_error);
        return false;
    }
    if (memcmp(magic, CKPT_MAGIC, CKPT_MAGIC_BYTES) != 0) {
        printf("checkpoint %s: no image on its partition: vm %s starts fresh", ck.name, ck.vm);
        if (ck.after)
            printf("; a checkpoint after %lu units of guest time\n", (unsigned long)ck.after);
        else
            printf("\n");
        return true;
    }
    ckpt_verdict_t v;
    unsigned n = 0;
    bool ok = ckpt_walk(&m, ck.stack_id, chain, CKPT_MAX_IMAGES, &n, &v);
    const ckpt_image_t *last = n ? &chain[n - 1] : NULL;
    ckpt_vcpu_t c;
    if (ok && last->h.ram_bytes != ck.ram_bytes) {
        ok = false;
        v.err = CKPT_E_STACK;
        fmt_snprintf(v.why, sizeof v.why, "%lu bytes of RAM, the VM has %lu",
                     (unsigned long)last->h.ram_bytes, (unsigned long)ck.ram_bytes);
    }
    const ckpt_section_t *dev = ok ? ckpt_find(last->sec, last->h.n_sections,
                                               CKPT_SEC_DEVICES) : NULL;
    if (dev && dev->bytes > sizeof devices) {
        ok = false;
        v.err = CKPT_E_CONTENT;
        fmt_snprintf(v.why, sizeof v.why, "%lu bytes of device records (at most %lu)",
                     (unsigned long)dev->bytes, (unsigned long)sizeof devices);
    }
    if (ok && dev) {
        devices_bytes = dev->bytes;
        ok = m.read(m.ctx, last->base + dev->offset, devices, dev->bytes);
    }
    const ckpt_section_t *fs = ok ? ckpt_find(last->sec, last->h.n_sections, CKPT_SEC_FPU)
                                  : NULL;
    if (fs && fs->bytes != sizeof restore_fpu) {
        ok = false;
        v.err = CKPT_E_CONTENT;
        fmt_snprintf(v.why, sizeof v.why, "an FPU section of %lu bytes (this VMM's: %lu)",
                     (unsigned long)fs->bytes, (unsigned long)sizeof restore_fpu);
    }
    if (ok && fs)
        ok = has_fpu = m.read(m.ctx, last->base + fs->offset, restore_fpu, sizeof restore_fpu);
    if (ok) {
        const ckpt_section_t *s = ckpt_find(last->sec, last->h.n_sections, CKPT_SEC_VCPU);
        ok = m.read(m.ctx, last->base + s->offset, &c, sizeof c);
        /* Taken only where no event was in flight (SDM Vol. 3C 27.2.4):
         * one that says otherwise was not written by us. */
        if (ok && ((c.idt_vectoring | c.inject_info) & X86_INTR_VALID)) {
            ok = false;
            v.err = CKPT_E_CONTENT;
            fmt_snprintf(v.why, sizeof v.why, "an event in flight (0x%lx, 0x%lx)",
                         (unsigned long)c.idt_vectoring, (unsigned long)c.inject_info);
        }
    }
    /* The disk: the chain's (ckpt_walk: one for all its images) must be
     * the VM's as our block server serves it, and there must be one
     * exactly when it serves it: else the restored VM would find a disk
     * from after the image, or of another size. */
    ckpt_disk_t d;
    const bool has_disk = ok && ckpt_disk_of(&m, &chain[0], &d);
    if (ok && has_disk != ck.disk) {
        ok = false;
        v.err = CKPT_E_STACK;
        fmt_snprintf(v.why, sizeof v.why, has_disk
                     ? "it holds a disk of %lu sectors; the VM has none on this block server"
                     : "it holds no disk; the VM's (%lu sectors) would not be rolled back",
                     (unsigned long)(has_disk ? d.disk_sectors : ck.disk_sectors));
    } else if (ok && has_disk && (d.disk_sectors != ck.disk_sectors ||
                                  d.chunk_sectors != ck.disk_chunk)) {
        ok = false;
        v.err = CKPT_E_STACK;
        fmt_snprintf(v.why, sizeof v.why, "its disk is %lu sectors in chunks of %u; the VM's "
                     "is %lu sectors in chunks of %lu", (unsigned long)d.disk_sectors,
                     d.chunk_sectors, (unsigned long)ck.disk_sectors,
                     (unsigned long)ck.disk_chunk);
    }
    if (!ok) {
        printf("checkpoint %s: image %u refused: %s: %s; vm %s does not start\n", ck.name, n,
               ckpt_err_name(v.err), v.why, ck.vm);
        return false;
    }
    /* The last generation: its full image, then its incremental ones. */
    ck.restore_first = ckpt_last_full(chain, n);
    for (unsigned i = ck.restore_first; i < n; i++)
        if (!apply_ram(&m, &chain[i], false)) {
            printf("checkpoint %s: cannot read image %u back; vm %s does not start\n", ck.name,
                   i, ck.vm);
            return false;
        }
    /* The VM's disk as it was at the last image: the last generation's
     * full image's (the whole disk), then each later one's chunks over it.
     * A failure here leaves the disk part written; the chain is intact,
     * and the next restore writes it again. */
    uint64_t disk_chunks = 0;
    for (unsigned i = ck.restore_first; ck.disk && i < n; i++)
        if (!apply_disk(&m, &chain[i], &disk_chunks)) {
            printf("checkpoint %s: cannot write image %u's disk back; vm %s does not start\n",
                   ck.name, i, ck.vm);
            return false;
        }
    if (ck.disk)
        printf("checkpoint %s: vm %s's disk written back as it was at image %u: %lu chunks "
               "from %u image%s\n", ck.name, ck.vm, last->h.seq, (unsigned long)disk_chunks,
               n - ck.restore_first, n - ck.restore_first == 1 ? "" : "s");
    ck.restore = c;
    ck.restore_pending = true;
    ck.restored = n - ck.restore_first;
    /* Images this boot writes go on after the chain, as the next
     * generation: its parent the image restored from. */
    ck.prev = last->h;
    ck.prev_base = last->base;
    ck.generation = last->h.generation + 1;
    char gen[48] = "";
    if (last->h.generation)
        fmt_snprintf(gen, sizeof gen, " of generation %u", last->h.generation);
    printf("checkpoint %s: restoring vm %s from %lu image%s (last: seq %u%s, rip 0x%lx, after "
           "%lu units of guest time)\n", ck.name, ck.vm, (unsigned long)ck.restored,
           ck.restored == 1 ? "" : "s", last->h.seq, gen, (unsigned long)c.rip,
           (unsigned long)last->h.guest_time);
    /* Its vCPU state goes in at its first instruction: our pause. */
    const nestor_word_t level = ck.g.level;
    return nu_invoke(ck.g.vcpu, NESTOR_VCPU_PAUSE, &level, 1, 0, 0, 0, 0) == NESTOR_OK;
}

/* ---- the loop ---- */

static void exit_mrs(const nu_msg_t *msg, nestor_word_t *mr)
{
    const nestor_ipc_buffer_t *b = nu_ipc_buffer();
    for (unsigned i = 0; i < NESTOR_EXIT_MR_COUNT; i++)
        mr[i] = i < NESTOR_MSG_REGISTERS_IN_CPU ? msg->mr[i] : b->msg[i];
}

/* One exit of ours: the reply label, *@changed the groups to load. */
static nestor_word_t on_exit(const nu_msg_t *m, nestor_word_t *changed)
{
    nestor_word_t mr[NESTOR_EXIT_MR_COUNT];
    exit_mrs(m, mr);
    const nestor_word_t reason = mr[NESTOR_EXIT_MR_REASON] & NESTOR_EXIT_REASON_MASK;
    const nestor_word_t q = mr[NESTOR_EXIT_MR_QUALIFICATION];
    *changed = 0;
    if (nestor_msginfo_label(m->info) != NESTOR_FAULT_VM_EXIT ||
        reason != NESTOR_EXIT_PREEMPT_TIMER) {
        ck.passed++;
        return NESTOR_EXIT_REPLY_PASS_ON;
    }
    ck.taken++;
    if (q == NESTOR_PREEMPT_PAUSE && ck.restore_pending) {
        ck.restore_pending = false;
        /* The pager's pages: it is set up by now (it is stacked below us,
         * so its setup came after ours). The chain was checked whole at
         * our setup; a read or a write that fails now stops the VM. */
        const ckpt_medium_t med = medium();
        for (unsigned i = ck.restore_first; ck.pager && i < ck.restore_first + ck.restored; i++)
            if (!apply_ram(&med, &chain[i], true)) {
                printf("checkpoint %s: cannot give image %u's paged RAM to the pager; vm %s "
                       "stops\n", ck.name, i, ck.vm);
                return NESTOR_EXIT_REPLY_STOP;
            }
        if (ck.pager)
            printf("checkpoint %s: %lu pages of vm %s given to its pager\n", ck.name,
                   (unsigned long)ck.paged_in, ck.vm);
        if (!load_devices())
            return NESTOR_EXIT_REPLY_STOP;
        if (has_fpu && !fpu_load(restore_fpu)) {
            printf("checkpoint %s: the VMM refused the FPU state; vm %s stops\n", ck.name,
                   ck.vm);
            return NESTOR_EXIT_REPLY_STOP;
        }
        vcpu_in(&ck.restore, ck.g.state);
        *changed = ALL_STATE;
        printf("checkpoint %s: vm %s resumes at rip 0x%lx\n", ck.name, ck.vm,
               (unsigned long)ck.restore.rip);
        /* Its guest time goes on from the image's; the next image, full,
         * of the next generation, after checkpoint.after-restore units.
         * It reads and clears every dirty flag itself (take), so the
         * incremental images after it hold what the VM wrote since. */
        ck.ran = ck.prev.guest_time;
        if (ck.after_restore) {
            ck.ran += ck.after_restore;
            set_timer(ck.after_restore);
        }
        return NESTOR_EXIT_REPLY_RESUME;
    }
    if (q == NESTOR_PREEMPT_MONITOR_TIMER) {
        bool stop = false;
        *changed = on_timer(mr, &stop);
        if (!stop && !*changed && ck.every && (!ck.max_images || ck.written < ck.max_images)) {
            ck.ran += ck.every;
            set_timer(ck.every);
        }
        return stop ? NESTOR_EXIT_REPLY_STOP : NESTOR_EXIT_REPLY_RESUME;
    }
    ck.passed++;
    ck.taken--;
    return NESTOR_EXIT_REPLY_PASS_ON;
}

/* An image asked for by @who: our timer at the VM's next exit boundary.
 * 0, or CKPT_CMD_E_* (none will be taken). */
static nestor_word_t checkpoint_now(const char *who)
{
    if (ck.restore_pending)
        return CKPT_CMD_E_RESTORING;
    if (ck.off || (ck.max_images && ck.written >= ck.max_images))
        return CKPT_CMD_E_OFF;
    ck.commanded++;
    ck.ran += CKPT_NOW_UNITS;
    set_timer(CKPT_NOW_UNITS);
    printf("checkpoint %s: a checkpoint of vm %s asked for by %s: at its next instruction\n",
           ck.name, ck.vm, who);
    return 0;
}

/* A monitor command's CKPT_REQ_NOW (ckpt_proto.h); the reply label. */
static nestor_word_t on_command(const nu_msg_t *m)
{
    if (nestor_msginfo_label(m->info) != CKPT_REQ_NOW)
        return 1;
    return checkpoint_now("a monitor command");
}

/* ---- the host trigger (include/ckpt_host.h) ---- */

static void host_say(const char *text)
{
    nu_hostuart_put(&ck.uart, (const uint8_t *)text, strlen(text));
}

/* Bytes from the host: each line answered (include/ckpt_host.h). */
static void host_input(void)
{
    uint8_t buf[64];
    size_t n;
    char reply[CKPT_HOST_LINE_MAX + 64];
    while ((n = nu_hostuart_drain(&ck.uart, buf, sizeof buf)) > 0)
        for (size_t i = 0; i < n; i++)
            switch (ckpt_host_byte(&ck.line, buf[i])) {
            case CKPT_HOST_NOW: {
                const nestor_word_t e = checkpoint_now("the host (its serial port)");
                host_say(e == 0 ? "checkpoint: taken at the VM's next exit boundary\n"
                         : e == CKPT_CMD_E_RESTORING
                             ? "checkpoint: refused: the VM has not resumed from its image yet\n"
                             : "checkpoint: refused: checkpoints have ended\n");
                break;
            }
            case CKPT_HOST_UNKNOWN:
                fmt_snprintf(reply, sizeof reply,
                             "checkpoint: refused: \"%s\" is not a command\n", ck.line.text);
                host_say(reply);
                break;
            case CKPT_HOST_TOO_LONG:
                fmt_snprintf(reply, sizeof reply,
                             "checkpoint: refused: a line longer than %u bytes\n",
                             (unsigned)CKPT_HOST_LINE_MAX);
                host_say(reply);
                break;
            case CKPT_HOST_MORE:
                break;
            }
}

/* A host serial port granted (the config's ioports and irqs): its received
 * bytes signal a notification bound to our thread. Without one, or with
 * one that does not answer (said), there is no host trigger; the
 * checkpoints by interval and by monitor command go on as before. */
static void host_open(const nestor_bootinfo_t *bi)
{
    if (!nu_hostuart_find(&ck.uart, bi, 0, -1))
        return;
    const nestor_cptr_t note = nu_alloc_obj(&ck.alloc, NESTOR_OBJ_NOTIFICATION, 0);
    const nestor_cptr_t badged = ck.alloc.next_slot++;
    ck.host = note &&
              nu_cnode_mint(ck.alloc.cnode, badged, 64, ck.alloc.cnode, note, 64,
                            NESTOR_RIGHTS_ALL, CKPT_UART_BADGE) == NESTOR_OK &&
              nu_hostuart_open(&ck.uart, badged) &&
              nu_tcb_bind_notification(NESTOR_CAP_INIT_TCB, note) == NESTOR_OK;
    if (!ck.host)
        printf("checkpoint %s: no serial port at 0x%x: no host trigger\n", ck.name,
               ck.uart.base);
}

static void serve(void)
{
    nu_msg_t m = { 0 };
    nu_recv(ck.ep, &m);
    for (;;) {
        if (m.badge & CKPT_UART_BADGE) {
            host_input();               /* a signal: nobody to answer */
            nu_recv(ck.ep, &m);
            continue;
        }
        if (m.badge == CM_BADGE_EXIT) {
            nestor_word_t changed;
            nestor_word_t label = on_exit(&m, &changed);
            m = (nu_msg_t){ .info = nestor_msginfo(label, 0, 0, 1), .mr = { changed } };
        } else if (m.badge == CKPT_BADGE_COMMAND) {
            m = (nu_msg_t){ .info = nestor_msginfo(on_command(&m), 0, 0, 0) };
        } else if (m.badge == CM_BADGE_QUERY) {
            printf("checkpoint %s: %lu images written, %lu restored; %lu exits taken, %lu "
                   "passed on\n", ck.name, (unsigned long)ck.written, (unsigned long)ck.restored,
                   (unsigned long)ck.taken, (unsigned long)ck.passed);
            if (ck.pager)
                printf("checkpoint %s: pages through the pager: %lu read, %lu written\n",
                       ck.name, (unsigned long)ck.paged_out, (unsigned long)ck.paged_in);
            m = (nu_msg_t){ .info = nestor_msginfo(0, 0, 0, CKPT_QUERY_MRS),
                            .mr = { ck.taken, ck.passed, ck.written, ck.restored } };
        } else {
            m = (nu_msg_t){ .info = nestor_msginfo(1, 0, 0, 0) };   /* not ours to answer */
        }
        nu_reply_recv(ck.ep, &m);
    }
}

/* ---- start ---- */

/* The VM handed over (setup message @m, its CNode in @node) and its
 * identity; false: refuse it. */
static bool take_vm(nestor_cptr_t node, const nu_msg_t *m)
{
    /* The identity first: taking the grant reuses the IPC buffer. */
    const nestor_ipc_buffer_t *b = nu_ipc_buffer();
    ck.stack_id = b->msg[CKPT_SETUP_MR_STACK_ID];
    for (unsigned i = 0; i < CKPT_SETUP_NAME_MRS; i++)
        for (unsigned k = 0; k < 8; k++)
            ck.vm[i * 8 + k] = (char)(b->msg[CKPT_SETUP_MR_NAME + i] >> (8 * k));
    ck.vm[CKPT_NAME_BYTES - 1] = 0;
    ck.paged_bytes = b->msg[CKPT_SETUP_MR_PAGED];
    const bool nvmx = b->msg[CKPT_SETUP_MR_NVMX] != 0;
    if (nestor_msginfo_length(m->info) != CKPT_SETUP_MRS || !ck.stack_id ||
        ck.paged_bytes % CKPT_PAGE_SIZE ||
        !nvmx_grant_take(&ck.alloc, node, m, false, STATE_VA, RAM_VA, &ck.g))
        return false;
    ck.ram_bytes = ck.g.ram_bytes + ck.paged_bytes;
    ck.ept = ck.alloc.next_slot++;
    if (nu_cnode_copy(ck.alloc.cnode, ck.ept, 64, node,
                      CKPT_GRANT_EPT(ck.g.ram_bytes >> ck.g.frame_bits), ck.g.radix,
                      NESTOR_RIGHTS_ALL) != NESTOR_OK)
        return false;
    if (ck.paged_bytes) {
        ck.pager = ck.alloc.next_slot++;
        if (nu_cnode_copy(ck.alloc.cnode, ck.pager, 64, node,
                          CKPT_GRANT_PAGER(ck.g.ram_bytes >> ck.g.frame_bits), ck.g.radix,
                          NESTOR_RIGHTS_ALL) != NESTOR_OK)
            return false;
    }
    if (nvmx) {
        ck.nvmx = ck.alloc.next_slot++;
        if (nu_cnode_copy(ck.alloc.cnode, ck.nvmx, 64, node,
                          CKPT_GRANT_NVMX(ck.g.ram_bytes >> ck.g.frame_bits), ck.g.radix,
                          NESTOR_RIGHTS_ALL) != NESTOR_OK)
            return false;
    }
    const nestor_word_t args[] = { NESTOR_EXIT_PREEMPT_TIMER, ALL_STATE, ck.g.level };
    return nu_invoke(ck.g.vcpu, NESTOR_VCPU_SET_EXIT_MASK, args, 3, 0, 0, 0, 0) == NESTOR_OK;
}

/* Our partition: the block server's grant, a buffer page attached. */
static bool open_partition(const nestor_bootinfo_t *bi)
{
    const nestor_grant_desc_t *g = nu_grant(bi, NESTOR_GRANT_ENDPOINT, BLK_GRANT_NAME);
    nestor_cptr_t frame, copy = ck.alloc.next_slot++;
    int e = BLK_E_NO_SERVER;
    if (!g || (e = blk_connect(&ck.blk, g->cptr)) != BLK_OK ||
        nu_map_new_page(&ck.alloc, NESTOR_CAP_INIT_VSPACE, BUF_VA, &frame) != NESTOR_OK ||
        nu_cnode_copy(ck.alloc.cnode, copy, 64, ck.alloc.cnode, frame, 64, NESTOR_RIGHTS_ALL) ||
        (e = blk_attach(&ck.blk, copy)) != BLK_OK || ck.blk.buf_bytes < CKPT_SCRATCH) {
        printf("checkpoint %s: no partition to keep images on (%s, error %d)\n", ck.name,
               g ? "the block server refused" : "no 'blk' in its node", e);
        return false;
    }
    ck.buf = (uint8_t *)(uintptr_t)BUF_VA;
    return true;
}

static uint64_t option_number(const char *cmdline, const char *key)
{
    const char *v = nu_option(cmdline, key);
    uint64_t n = 0;
    while (v && *v >= '0' && *v <= '9')
        n = n * 10 + (uint64_t)(*v++ - '0');
    return n;
}

int main(const nestor_bootinfo_t *bi)
{
    if (!nu_monitor_start(bi, "checkpoint", ck.name, sizeof ck.name, untypeds, &ck.ep,
                          &ck.alloc))
        return 0;
    ck.after = option_number(bi->cmdline, CKPT_OPT_AFTER);
    ck.every = option_number(bi->cmdline, CKPT_OPT_EVERY);
    ck.max_images = option_number(bi->cmdline, CKPT_OPT_IMAGES);
    ck.after_restore = option_number(bi->cmdline, CKPT_OPT_AFTER_RESTORE);
    ck.bench = nu_option(bi->cmdline, CKPT_OPT_BENCH) != NULL;
    host_open(bi);
    bool part = open_partition(bi);
    nestor_cptr_t node = ck.alloc.next_slot++;
    nestor_ipc_buffer_t *b = nu_ipc_buffer();
    nu_receive_cap_into(node);
    nu_msg_t m = { 0 };
    while (nu_recv(ck.ep, &m) != NESTOR_OK || m.badge != CM_BADGE_SETUP) {
        if (m.badge & CKPT_UART_BADGE)
            continue;             /* the host early: its bytes wait in the port */
        printf("checkpoint %s: a message before its setup (badge 0x%lx): ignored\n", ck.name,
               m.badge);
        m = (nu_msg_t){ .info = nestor_msginfo(1, 0, 0, 0) };
        nu_reply(&m);
    }
    b->receive_cnode = 0;
    bool ok = part && take_vm(node, &m);
    if (part && !ok)
        printf("checkpoint %s: the VM handed over is not usable\n", ck.name);
    if (ok) {
        printf("checkpoint %s: stacked on vm %s (%lu MiB, level %u, stack identity 0x%016lx); "
               "partition of %lu sectors\n", ck.name, ck.vm, (unsigned long)(ck.ram_bytes >> 20),
               ck.g.level, (unsigned long)ck.stack_id, (unsigned long)ck.blk.sectors);
        if (ck.pager)
            printf("checkpoint %s: %lu MiB of vm %s from 0x%lx are its pager's: saved and "
                   "restored through it\n", ck.name, (unsigned long)(ck.paged_bytes >> 20),
                   ck.vm, (unsigned long)ck.g.ram_bytes);
        if (ck.nvmx)
            printf("checkpoint %s: vm %s has nested-vmx: its state (VMX operation, the "
                   "current VMCS, L2's FPU) is saved and restored with the VM's\n", ck.name,
                   ck.vm);
        ok = open_vm_disk() && restore_chain();
    }
    if (ok && !ck.restore_pending && ck.after) {
        ck.ran = ck.after;
        set_timer(ck.after);
    }
    m = (nu_msg_t){ .info = nestor_msginfo(ok ? 0 : 1, 0, 0, 0) };
    nu_reply(&m);
    if (ok && ck.host) {
        char hello[96];
        printf("checkpoint %s: host trigger: a line \"%s\" on the host's serial port at 0x%x\n",
               ck.name, CKPT_HOST_COMMAND, ck.uart.base);
        fmt_snprintf(hello, sizeof hello, "%s: send \"%s\" for an image of vm %s\n",
                     CKPT_HOST_READY, CKPT_HOST_COMMAND, ck.vm);
        host_say(hello);
        host_input();             /* what came before this */
    }
    if (ok)
        serve();
    return ok;
}
