/*
 * device-servers/blk/main.c - the block server ("nestor,blk"): one ATA disk
 * (ata.h: the primary master, driven by PIO through the I/O ports its
 * config node grants), served in partitions to
 *   - client monitors (the pager's swap, the checkpoint monitor's images)
 *     by the protocol of blk_proto.h, each client's badge naming its
 *     partition (blk.clientN=FIRST:COUNT on the command line, from init);
 *   - at most one VM as a virtio block device (vblk.h, Virtio 1.2 5.2) on
 *     the partition blk.vm=FIRST:COUNT, the VMM forwarding the device's
 *     MMIO window as for every device server (devsrv.h).
 * One thread serves everything in order: a request finishes (the data is
 * in the buffer, or handed to the disk) before its reply.
 */
#include "ata.h"
#include "blk.h"
#include "image.h"
#include "vblk.h"
#include <blk_client.h>
#include <devsrv.h>
#include <ds_paged.h>
#include <ds_doorbell_ipc.h>
#include <ds_state_ipc.h>
#include <ds_setup.h>
#include <fmt.h>
#include <stackcfg.h>
#include <stdlib.h>
#include <string.h>
#include <user/print.h>
#include <user/runtime.h>
#include <user/space.h>
#include <vm_layout.h>

#define BLK_RAM_VA     0x0000300000000000ULL  /* the VM's RAM, guest-physical 0 here */
#define BLK_BUF_VA     0x0000380000000000ULL  /* client i's buffer at + i * BLK_BUF_STRIDE */
#define BLK_BUF_STRIDE (1ULL << 22)           /* a 2 MiB frame at + 0, a 4 KiB one at + 2 MiB:
                                                 their tables never get in each other's way */
#define MAP_RW         (NESTOR_RIGHT_READ | NESTOR_RIGHT_WRITE)
#define OPT_VM_PART    "blk.vm="
#define OPT_IMAGE      "blk.image="           /* NAME: the VM's disk is module "image NAME" */
#define BLK_COW_VA     0x0000340000000000ULL  /* the image's private page copies */
#define BLK_DOORBELL_VA 0x0000200000200000ULL /* the doorbell's page (devsrv.h DS_REQ_DOORBELL) */
#define OPT_CLIENT     "blk.client"           /* blk.client0=FIRST:COUNT ... */
#define OPT_SELFTEST   "blk.selftest="        /* FIRST:COUNT: a client thread of our own */
#define SELFTEST       BLK_MAX_CLIENTS        /* its client number (and badge) */
#define SELFTEST_PRIO  150                    /* below the server: it waits for its calls */
#define SELFTEST_REGION 0x0000200000000000ULL /* its stack and IPC buffer */
#define SELFTEST_BUF_VA 0x0000200000100000ULL /* its buffer frame, as the client maps it */
#define ATA_ERR_NO_REG 0x100u                 /* blk_disk_t: the device gave no Error register */
#define OPT_FAULT      "blk.fault=die:"       /* N: crash in the Nth virtio write (a test) */
#define OPT_CLIENT_FAULT "blk.fault=client-die:" /* N: crash in the Nth client READ/WRITE */
#define OPT_CLIENT_FAULT_EVERY "blk.fault=client-die-every:" /* N: so does each instance */
#define OPT_RESTART    "restart="             /* K: init's Kth restart of this server */
#define OPT_PAGECHECK  "blk.pagecheck"        /* a paged VM: ds_paged_check at setup (a test) */
#define OPT_CKPT       "blk.ckpt="            /* N: client N checkpoints the VM (BLK_REQ_VM_*) */
#define CRASH_ADDR     0x10UL                 /* below every mapping (user.ld links at 4 MiB) */

static char name[BLK_NAME_MAX] = "blk";
static ata_t ata;
static bool have_disk;
static blk_disk_t disk;
static blk_client_t clients[BLK_MAX_CLIENTS + 1];      /* + the self-test's */
static nestor_cptr_t client_frame[BLK_MAX_CLIENTS + 1];
static nestor_cptr_t freed_slot;   /* a slot an ATTACH emptied: the next capability's */
static vblk_t vblk;
static ds_paged_t paged;        /* the VM's RAM a pager owns (ds_paged.h) */
static bool paged_check;        /* OPT_PAGECHECK */
static char paged_who[2 * BLK_NAME_MAX + 16];
static bool vm_configured, vm_ready;
static uint64_t vm_window;               /* the device's MMIO window (vm_layout.h) */
static nestor_cptr_t cmd_ports, ctl_port;   /* 0x1F0-0x1F7, 0x3F6 */
static nestor_cptr_t untypeds[NESTOR_BOOTINFO_MAX_UNTYPED];
static nu_alloc_t alloc;

/* ---- port I/O through the granted port capabilities ---- */

static nestor_cptr_t port_cap(uint16_t port)
{
    return port == ATA_PRIMARY_CTL ? ctl_port : cmd_ports;
}

/* The command block (0x1F0-0x1F7, the data port among them) is used with
 * IN/OUT directly once the kernel has granted this thread its capability
 * (NESTOR_TCB_SET_IO_PORTS: the thread's I/O permission bitmap, SDM Vol. 1
 * 19.5.2); a thread holds one such grant, so the control port stays an
 * invocation. Each data-port access an invocation cost ~680,000
 * instructions per 4 KiB on Bochs; a REP INS/OUTS per sector costs a few
 * thousand (BENCHMARKS.md). */
static bool direct_cmd;

static bool is_direct(uint16_t port)
{
    return direct_cmd && port >= ATA_PRIMARY_BASE && port < ATA_PRIMARY_BASE + ATA_REGS;
}

/* A port read of @size bytes; a refused invocation reads all ones (the
 * floating bus: "no device"). */
static nestor_word_t port_in(uint16_t port, unsigned size)
{
    if (is_direct(port)) {
        uint32_t v;
        if (size == 1) {
            uint8_t b;
            __asm__ volatile("inb %1, %0" : "=a"(b) : "Nd"(port));
            v = b;
        } else if (size == 2) {
            uint16_t w;
            __asm__ volatile("inw %1, %0" : "=a"(w) : "Nd"(port));
            v = w;
        } else {
            __asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
        }
        return v;
    }
    nestor_word_t v;
    if (nu_ioport_in(port_cap(port), port, size, &v) != NESTOR_OK)
        v = ~0UL;
    return v;
}

static void port_out(uint16_t port, unsigned size, uint32_t v)
{
    if (!is_direct(port)) {
        nu_ioport_out(port_cap(port), port, size, v);
    } else if (size == 1) {
        __asm__ volatile("outb %0, %1" : : "a"((uint8_t)v), "Nd"(port));
    } else if (size == 2) {
        __asm__ volatile("outw %0, %1" : : "a"((uint16_t)v), "Nd"(port));
    } else {
        __asm__ volatile("outl %0, %1" : : "a"(v), "Nd"(port));
    }
}

static uint8_t io_in8(void *ctx, uint16_t port) { (void)ctx; return (uint8_t)port_in(port, 1); }
static uint16_t io_in16(void *ctx, uint16_t port) { (void)ctx; return (uint16_t)port_in(port, 2); }
static uint32_t io_in32(void *ctx, uint16_t port) { (void)ctx; return (uint32_t)port_in(port, 4); }
static void io_out8(void *ctx, uint16_t port, uint8_t v) { (void)ctx; port_out(port, 1, v); }
static void io_out16(void *ctx, uint16_t port, uint16_t v) { (void)ctx; port_out(port, 2, v); }
static void io_out32(void *ctx, uint16_t port, uint32_t v) { (void)ctx; port_out(port, 4, v); }

/* One sector by REP INS/OUTS (x86 is little-endian, as the data port's
 * words are: ATA-6 9.5/9.6). Only with the direct grant: ata.c uses these
 * hooks only where they are set (ata_io below when direct_cmd). */
static void io_in_sector(void *ctx, uint16_t port, uint8_t *buf, bool dwords)
{
    (void)ctx;
    unsigned long n = dwords ? ATA_SECTOR_SIZE / 4 : ATA_SECTOR_SIZE / 2;
    if (dwords)
        __asm__ volatile("rep insl" : "+D"(buf), "+c"(n) : "d"(port) : "memory");
    else
        __asm__ volatile("rep insw" : "+D"(buf), "+c"(n) : "d"(port) : "memory");
}

static void io_out_sector(void *ctx, uint16_t port, const uint8_t *buf, bool dwords)
{
    (void)ctx;
    unsigned long n = dwords ? ATA_SECTOR_SIZE / 4 : ATA_SECTOR_SIZE / 2;
    if (dwords)
        __asm__ volatile("rep outsl" : "+S"(buf), "+c"(n) : "d"(port) : "memory");
    else
        __asm__ volatile("rep outsw" : "+S"(buf), "+c"(n) : "d"(port) : "memory");
}

static ata_io_t ata_io = { io_in8, io_out8, io_in16, io_out16, io_in32, io_out32, NULL, NULL,
                           NULL };

/* ---- the disk as blk.c sees it ---- */

static unsigned disk_status(ata_err_t e)
{
    if (e == ATA_OK)
        return 0;
    return e == ATA_ERR_DEVICE && ata.last_error ? ata.last_error : ATA_ERR_NO_REG + e;
}

static unsigned disk_read(void *ctx, uint64_t lba, uint64_t count, uint8_t *buf)
{
    (void)ctx;
    return disk_status(ata_read(&ata, lba, count, buf));
}

static unsigned disk_write(void *ctx, uint64_t lba, uint64_t count, const uint8_t *buf)
{
    (void)ctx;
    return disk_status(ata_write(&ata, lba, count, buf));
}

static unsigned disk_flush(void *ctx)
{
    (void)ctx;
    return disk_status(ata_flush(&ata));
}

static void emit(const char *text)
{
    printf("%s\n", text);
}

/* ---- the crash tests (blk.fault=die:N, blk.fault=client-die:N) ----
 *
 * The server's thread writes to an unmapped address (a page fault init
 * sees as "init: monitor NAME faulted") during the Nth virtio write
 * request, after its data reached the disk and before its chain is used,
 * or during the Nth READ or WRITE of a client monitor (the pager's swap),
 * after the data moved and before the reply: a crash in the middle of a
 * request, for the restart tests (device-servers/README.md "Restart").
 * Only the first instance crashes (init tells a restarted one restart=K on
 * its command line), but with client-die-every:N each instance crashes in
 * its own Nth client request, until init's restarts are spent. */
static unsigned long die_at, vm_writes, client_die_at, client_rw;
static const char *client_die_opt;      /* the option that set client_die_at */

static void crash(void)
{
    volatile uint32_t *volatile where = (volatile uint32_t *)CRASH_ADDR;
    *where = 0;
}

static void written(void)
{
    if (++vm_writes != die_at)
        return;
    printf("blk %s: blk.fault=die:%lu: crashing in virtio write %lu (its data on the disk, its "
           "chain not used)\n", name, die_at, vm_writes);
    crash();
}

/* Client @i's READ or WRITE (@label) of @mr's sectors was served (@ok). */
static void client_served(unsigned i, nestor_word_t label, const nestor_word_t *mr, bool ok)
{
    if (!client_die_at || !ok || (label != BLK_REQ_READ && label != BLK_REQ_WRITE) ||
        ++client_rw != client_die_at)
        return;
    printf("blk %s: %s%lu: crashing in client %u's %s of sectors %lu-%lu (request %lu: %s, "
           "no reply sent)\n", name, client_die_opt, client_die_at, i,
           label == BLK_REQ_READ ? "read" : "write", mr[BLK_RW_MR_SECTOR],
           mr[BLK_RW_MR_SECTOR] + mr[BLK_RW_MR_COUNT] - 1, client_rw,
           label == BLK_REQ_READ ? "its data in the buffer" : "its data on the disk");
    crash();
}

/* ---- start: ports, disk, partitions ---- */

static void find_ports(const nestor_bootinfo_t *bi)
{
    for (nestor_word_t i = 0; i < bi->grant_count && i < NESTOR_BOOTINFO_MAX_GRANTS; i++) {
        const nestor_grant_desc_t *g = &bi->grants[i];
        if (g->kind != NESTOR_GRANT_IOPORT)
            continue;
        if (g->arg0 <= ATA_PRIMARY_BASE && g->arg1 >= ATA_PRIMARY_BASE + ATA_REGS - 1)
            cmd_ports = g->cptr;
        if (g->arg0 <= ATA_PRIMARY_CTL && g->arg1 >= ATA_PRIMARY_CTL)
            ctl_port = g->cptr;
    }
}

static void probe_disk(void)
{
    if (!cmd_ports || !ctl_port) {
        printf("blk %s: no disk: ports 0x1f0-0x1f7 and 0x3f6 are not granted (ioports)\n", name);
        return;
    }
    /* This thread, the only one that touches the disk, uses the command
     * block directly where the kernel grants it (else by invocation). */
    nestor_cptr_t grant = cmd_ports;
    if (nu_invoke(NESTOR_CAP_INIT_TCB, NESTOR_TCB_SET_IO_PORTS, 0, 0, &grant, 1, 0, 0) ==
        NESTOR_OK) {
        direct_cmd = true;
        ata_io.in_sector = io_in_sector;
        ata_io.out_sector = io_out_sector;
    }
    ata_err_t e = ata_probe(&ata, &ata_io, ATA_PRIMARY_BASE, ATA_PRIMARY_CTL);
    if (e != ATA_OK) {
        printf("blk %s: no disk: primary master: %s (status 0x%x, error 0x%x)\n", name,
               ata_strerror(e), ata.last_status, ata.last_error);
        return;
    }
    have_disk = true;
    disk = (blk_disk_t){ disk_read, disk_write, disk_flush, NULL, ata.info.sectors };
    printf("blk %s: disk \"%s\": %lu sectors (%lu MiB), %s addressing, %s data%s, %s\n",
           name, ata.info.model, ata.info.sectors, ata.info.sectors >> (20 - BLK_SECTOR_BITS),
           ata.info.lba48 ? "48-bit" : "28-bit", ata.info.dword_io ? "32-bit" : "16-bit",
           direct_cmd ? " by REP INS/OUTS" : " by invocation",
           ata.info.flush_ext ? "FLUSH CACHE EXT" : ata.info.flush ? "FLUSH CACHE"
                                                                   : "no write cache flush");
}

/* A partition from the command line, checked against the disk. */
static bool take_part(const char *who, const char *value, blk_part_t *p)
{
    if (!blk_parse_part(value, p)) {
        printf("blk %s: %s: partition \"%.24s\" is not FIRST:COUNT: refused\n", name, who, value);
        return false;
    }
    int e = have_disk ? blk_part_fits(p, disk.sectors) : BLK_E_NO_DISK;
    if (e != BLK_OK) {
        printf("blk %s: %s: sectors %lu-%lu: %s: every request will be refused\n", name, who,
               p->first, p->first + p->count - 1, blk_strerror(e));
        return false;
    }
    printf("blk %s: %s: sectors %lu-%lu (%lu)\n", name, who, p->first, p->first + p->count - 1,
           p->count);
    return true;
}

static void read_partitions(const char *cmdline)
{
    for (unsigned i = 0; i < BLK_MAX_CLIENTS; i++) {
        char key[24], who[16];
        fmt_snprintf(key, sizeof key, OPT_CLIENT "%u=", i);
        const char *v = nu_option(cmdline, key);
        if (!v)
            continue;
        fmt_snprintf(who, sizeof who, "client %u", i);
        clients[i].configured = true;
        clients[i].usable = take_part(who, v, &clients[i].part);
    }
    const char *v = nu_option(cmdline, OPT_VM_PART);
    if (v) {
        vm_configured = true;
        vblk.usable = take_part("vm", v, &vblk.part);
    }
    /* The checkpoint monitor stacked on our VM (init says which client):
     * it reads the VM's disk into its images and writes it back at a
     * restore (checkpoint/README.md "The disk"). */
    v = nu_option(cmdline, OPT_CKPT);
    unsigned long k = v ? strtoul(v, NULL, 10) : BLK_MAX_CLIENTS;
    if (k < BLK_MAX_CLIENTS && clients[k].configured) {
        clients[k].vm_disk = true;
        printf("blk %s: client %lu checkpoints the VM: its disk goes into the images\n", name,
               k);
    }
}

/* The VM disk's written-flags, once the disk is known. A restarted
 * instance does not know what its predecessor's VM wrote since the last
 * image: every chunk counts as written. */
static void dirty_start(bool restarted)
{
    blk_dirty_init(&vblk.dirty, vblk.usable ? vblk.part.count : 0);
    if (restarted)
        blk_dirty_mark(&vblk.dirty, 0, vblk.part.count);
}

/* ---- the VM's disk as a read-only image, copy-on-write (image.h) ---- */

static img_disk_t image;
static blk_disk_t image_disk;

/* A private page for a copy, from the server's budget (its memory-mib):
 * NULL when that is spent, and the write asking for it fails. */
static uint8_t *cow_page(void *ctx)
{
    (void)ctx;
    nestor_word_t va = BLK_COW_VA + image.copied * IMG_PAGE_SIZE;
    nestor_cptr_t frame;
    return nu_map_new_page(&alloc, NESTOR_CAP_INIT_VSPACE, va, &frame) == NESTOR_OK
               ? (uint8_t *)(uintptr_t)va : NULL;
}

/* With blk.image=NAME the VM's disk is that boot module (init gives it
 * to us, read-only), not sectors of the ATA disk. */
static void read_image(const nestor_bootinfo_t *bi)
{
    char file[BLK_NAME_MAX];
    if (!nu_option_copy(bi->cmdline, OPT_IMAGE, file, sizeof file))
        return;
    vm_configured = true;
    const nestor_module_desc_t *mod = nu_module(bi, SC_MODULE_IMAGE, file);
    image.new_page = cow_page;
    if (!mod || !img_init(&image, (const uint8_t *)(uintptr_t)mod->vaddr, mod->size,
                          &image_disk)) {
        printf("blk %s: vm: image \"%s\": %s: every request will be refused\n", name, file,
               mod ? "empty or larger than 64 MiB" : "no such module given");
        return;
    }
    vblk.disk = &image_disk;
    vblk.part = (blk_part_t){ 0, image_disk.sectors };
    vblk.usable = true;
    printf("blk %s: vm: image \"%s\", %lu bytes: %lu sectors, read-only, its writes "
           "copy-on-write in this server's memory\n", name, file, mod->size, image_disk.sectors);
}

/* ---- the VMM's setup call: the VM's RAM (devsrv.h) ---- */

/* One setup only: a second would remap over the first VM's RAM. */
static bool take_ram(nestor_cptr_t node, const nu_msg_t *m)
{
    const uint64_t paged_bytes = ds_setup_paged_bytes(m);
    if (vm_ready || !(vblk.ram_bytes = ds_map_ram(&alloc, node, m, BLK_RAM_VA)))
        return false;
    fmt_snprintf(paged_who, sizeof paged_who, "blk %s: vm %s", name, vblk.vm);
    return ds_paged_setup(&paged, &alloc, node, m, paged_bytes, BLK_RAM_VA, paged_who,
                          &vblk.window[1]) &&
           (!paged_check || ds_paged_check(&paged)) &&
           vblk_init(&vblk, (uint8_t *)(uintptr_t)BLK_RAM_VA);
}

static nu_msg_t setup(nestor_cptr_t node, const nu_msg_t *m)
{
    bool ok = vm_configured && take_ram(node, m);
    if (!ok)
        printf("blk %s: the VM handed over is not usable (%s; caps %u, %lu bytes of RAM)\n", name,
               vm_configured ? "bad numbers" : "no blk.vm partition",
               nestor_msginfo_extra_caps(m->info), m->mr[DS_SETUP_MR_RAM_BYTES]);
    else {
        unsigned dev = (unsigned)m->mr[DS_SETUP_MR_DEVICE];
        vm_ready = true;
        vm_window = vm_virtio_base(dev);
        printf("blk %s: serving vm %s's virtio block device %u (MMIO 0x%lx, IRQ %u, %lu MiB of "
               "RAM mapped): %lu sectors\n", name, vblk.vm, dev, vm_virtio_base(dev),
               vm_virtio_irq(dev), vblk.ram_bytes >> 20, vblk.usable ? vblk.part.count : 0);
        if (paged.pager)
            printf("blk %s: vm %s: %lu MiB of its RAM from 0x%lx is paged: pinned through "
                   "its pager a page at a time, at most %u at once\n", name, vblk.vm,
                   vblk.window[1].size >> 20, vblk.window[1].gpa, paged.paged.max);
    }
    return (nu_msg_t){ .info = nestor_msginfo(ok ? DS_OK : DS_REFUSED, 0, 0, 0) };
}

/* ---- clients ---- */

static void say_client(unsigned i, blk_client_t *c, const char *what, int code)
{
    if (c->logged > BLK_LOG_MAX)
        return;
    if (c->logged++ == BLK_LOG_MAX)
        printf("blk %s: client %u: more refusals: no longer logged\n", name, i);
    else
        printf("blk %s: client %u: %s refused: %s\n", name, i, what, blk_strerror(code));
}

/* BLK_REQ_ATTACH: map the frame the client sent as its buffer. */
static blk_reply_t attach(unsigned i, nestor_cptr_t cap, const nu_msg_t *m)
{
    blk_client_t *c = &clients[i];
    nestor_word_t type = 0, rights = 0, extra = 0;
    if (!c->configured || nestor_msginfo_extra_caps(m->info) != 1)
        return (blk_reply_t){ .label = BLK_E_BAD_REQUEST };
    /* The kernel says what it is: a frame, its size (bits), its rights. */
    if (nu_cap_identify(cap, &type, &rights, &extra) != NESTOR_OK ||
        (type != NESTOR_OBJ_FRAME_4K && type != NESTOR_OBJ_FRAME_2M) ||
        (extra != NESTOR_FRAME_4K_BITS && extra != NESTOR_FRAME_2M_BITS) ||
        (rights & MAP_RW) != MAP_RW)
        return (blk_reply_t){ .label = BLK_E_BAD_BUFFER };
    if (client_frame[i]) {      /* the old buffer goes; its slot serves again */
        nu_frame_unmap(client_frame[i]);
        nu_cnode_delete(alloc.cnode, client_frame[i], 64);
        freed_slot = client_frame[i];
        client_frame[i] = 0;
        c->buf = NULL;
        c->buf_bytes = 0;
    }
    uint64_t bytes = 1ULL << extra;
    nestor_word_t va = BLK_BUF_VA + i * BLK_BUF_STRIDE +
                       (extra == NESTOR_FRAME_4K_BITS ? 1ULL << NESTOR_FRAME_2M_BITS : 0);
    if (nu_map_frame(&alloc, NESTOR_CAP_INIT_VSPACE, va, cap, MAP_RW) != NESTOR_OK)
        return (blk_reply_t){ .label = BLK_E_BAD_BUFFER };
    client_frame[i] = cap;
    return blk_attached(c, (uint8_t *)(uintptr_t)va, bytes);
}

/* ---- the self-test: a client thread of the server's own ----
 *
 * With "blk.selftest=FIRST:COUNT" in the node's options, a thread of this
 * process speaks blk_proto.h to the server through a badged capability, as
 * a client monitor would: the kernel's IPC, the frame it attaches and the
 * server's mapping of it are the real ones. Its partition must not overlap
 * the VM's or a client's. It prints one line: its checks passed and failed.
 */
static struct {
    nestor_cptr_t ep, frame, not_frame, done;
    unsigned passed, failed;
} self;

static nestor_word_t st_call(nestor_word_t label, nestor_word_t a, nestor_word_t b,
                             nestor_word_t c, unsigned n_mrs, nestor_cptr_t cap, nu_msg_t *out)
{
    nu_msg_t m = { .info = nestor_msginfo(label, 0, cap ? 1 : 0, n_mrs), .mr = { a, b, c } };
    if (cap)
        nu_ipc_buffer()->caps_or_badges[0] = cap;
    if (nu_call(self.ep, &m) != NESTOR_OK)
        return ~0UL;
    if (out)
        *out = m;
    return nestor_msginfo_label(m.info);
}

static void st_check(bool ok, const char *what)
{
    if (ok)
        self.passed++;
    else {
        self.failed++;
        printf("blk %s: self-test: check failed: %s\n", name, what);
    }
}

static void st_fill(uint8_t *p, unsigned sectors, uint8_t seed)
{
    for (unsigned i = 0; i < sectors * BLK_SECTOR_SIZE; i++)
        p[i] = (uint8_t)(i * 13 + seed);
}

static bool st_same(const uint8_t *p, unsigned sectors, uint8_t seed)
{
    for (unsigned i = 0; i < sectors * BLK_SECTOR_SIZE; i++)
        if (p[i] != (uint8_t)(i * 13 + seed))
            return false;
    return true;
}

static void selftest(nestor_word_t count)
{
    uint8_t *buf = (uint8_t *)(uintptr_t)SELFTEST_BUF_VA;
    const nestor_word_t last = count - 8;      /* the partition's last 8 sectors */
    blk_conn_t c;
    nu_msg_t r;
    /* Through blk_client.h, as a client monitor does. */
    st_check(blk_connect(&c, self.ep) == BLK_OK && c.sectors == count && c.max_sectors == 0,
             "INFO: the partition's size, no buffer yet");
    st_check(blk_read(&c, 0, 1, 0) == BLK_E_NO_BUFFER, "READ before ATTACH: BLK_E_NO_BUFFER");
    st_check(blk_attach(&c, self.not_frame) == BLK_E_BAD_BUFFER,
             "ATTACH of an endpoint: BLK_E_BAD_BUFFER");
    st_check(blk_attach(&c, self.frame) == BLK_OK && c.buf_bytes == 4096 && c.max_sectors == 8,
             "ATTACH of a 4 KiB frame: 8 sectors a request");
    /* Write the first and last 8 sectors, read the first back. */
    st_fill(buf, 8, 1);
    st_check(blk_write(&c, 0, 8, 0) == BLK_OK, "WRITE of 8 sectors at 0");
    st_fill(buf, 8, 2);
    st_check(blk_write(&c, last, 8, 0) == BLK_OK, "WRITE of the last 8 sectors");
    for (unsigned i = 0; i < 4096; i++)
        buf[i] = 0;
    st_check(blk_read(&c, 0, 8, 0) == BLK_OK && st_same(buf, 8, 1),
             "READ of sectors 0-7: as written");
    /* Refused: each with its code, nothing written. */
    st_fill(buf, 8, 3);
    st_check(blk_write(&c, last + 4, 8, 0) == BLK_E_RANGE, "WRITE past the end: BLK_E_RANGE");
    st_check(blk_write(&c, ~0UL, 2, 0) == BLK_E_OVERFLOW, "WRITE at 2^64-1: BLK_E_OVERFLOW");
    st_check(blk_write(&c, last, 1, 100) == BLK_E_ALIGN, "WRITE from offset 100: BLK_E_ALIGN");
    st_check(blk_write(&c, last, 2, 3584) == BLK_E_TOO_BIG,
             "WRITE beyond the buffer: BLK_E_TOO_BIG");
    /* Malformed messages, which blk_client.h never sends. */
    st_check(st_call(BLK_REQ_WRITE, last, 1, 0, 2, 0, NULL) == BLK_E_BAD_REQUEST,
             "WRITE with two MRs: BLK_E_BAD_REQUEST");
    st_check(st_call(0x7777, 0, 0, 0, 0, 0, &r) == BLK_E_BAD_REQUEST,
             "an unknown label: BLK_E_BAD_REQUEST");
    st_check(blk_read(&c, last, 8, 0) == BLK_OK && st_same(buf, 8, 2),
             "the last 8 sectors as first written: no refused request wrote");
    st_check(blk_flush(&c) == BLK_OK, "FLUSH");
    /* Attaching again replaces the buffer (the old mapping goes). */
    for (unsigned i = 0; i < 4096; i++)
        buf[i] = 0;
    st_check(blk_attach(&c, self.frame) == BLK_OK && blk_read(&c, 0, 8, 0) == BLK_OK &&
             st_same(buf, 8, 1), "ATTACH again: reads go on into the new mapping");
    printf("blk %s: self-test client: %u passed, %u failed\n", name, self.passed, self.failed);
    for (;;)
        nu_wait(self.done);                     /* done: nobody ever signals it */
}

/* Start the self-test thread on client slot SELFTEST, if asked and its
 * partition is usable and apart from every other. */
static void start_selftest(const char *cmdline, nestor_cptr_t ep)
{
    const char *v = nu_option(cmdline, OPT_SELFTEST);
    blk_client_t *c = &clients[SELFTEST];
    if (!v)
        return;
    c->configured = true;
    c->usable = take_part("self-test client", v, &c->part);
    for (unsigned i = 0; c->usable && i <= BLK_MAX_CLIENTS; i++) {
        const blk_part_t *o = i < SELFTEST ? &clients[i].part : &vblk.part;
        bool has = i < SELFTEST ? clients[i].configured : vm_configured;
        if (has && c->part.first < o->first + o->count && o->first < c->part.first + c->part.count) {
            printf("blk %s: self-test client: its sectors overlap another partition: not run\n",
                   name);
            return;
        }
    }
    if (!c->usable || c->part.count < 16)
        return;
    self.ep = alloc.next_slot++;
    self.not_frame = alloc.next_slot++;
    self.done = nu_alloc_obj(&alloc, NESTOR_OBJ_NOTIFICATION, 0);
    if (nu_cnode_mint(alloc.cnode, self.ep, 64, alloc.cnode, ep, 64,
                      NESTOR_RIGHT_WRITE | NESTOR_RIGHT_GRANT, BLK_BADGE_CLIENT(SELFTEST)) ||
        nu_cnode_copy(alloc.cnode, self.not_frame, 64, alloc.cnode, ep, 64, NESTOR_RIGHTS_ALL) ||
        !self.done ||
        nu_map_new_page(&alloc, NESTOR_CAP_INIT_VSPACE, SELFTEST_BUF_VA, &self.frame) ||
        !nu_thread_new(&alloc, NESTOR_CAP_INIT_VSPACE, SELFTEST_REGION, selftest, c->part.count,
                       SELFTEST_PRIO, 0))
        printf("blk %s: self-test client: could not be started\n", name);
}

/* ---- a checkpoint of the VM's device (devsrv.h DS_REQ_SAVE/LOAD) ---- */

/* The state travels as DS_STATE_WORDS words from MR0 on (ds_state_ipc.h). */
static nu_msg_t checkpoint(nestor_word_t label, const nu_msg_t *m)
{
    ds_state_t st;
    if (label == DS_REQ_SAVE) {
        if (!vm_ready || !vblk_save(&vblk, &st))
            return (nu_msg_t){ .info = nestor_msginfo(DS_REFUSED, 0, 0, 0) };
        return ds_state_reply(&st);
    }
    unsigned e = DS_STATE_E_NO_DEVICE;
    if (vm_ready && ds_state_receive(m, &st))
        e = vblk_load(&vblk, &st);
    else if (vm_ready)
        e = DS_STATE_E_VERSION;
    if (e)
        return (nu_msg_t){ .info = nestor_msginfo(DS_REFUSED, 0, 0, 1), .mr = { e } };
    return (nu_msg_t){ .info = nestor_msginfo(DS_OK, 0, 0, DS_REPLY_MRS),
                       .mr = { 0, vblk_irq(&vblk) ? DS_REPLY_IRQ_LEVEL : 0 } };
}

/* ---- serving ---- */

/* The doorbell (ds_doorbell.h): the VMM's DS_REQ_DOORBELL brings its page. */
static ds_doorbell_t doorbell;

static bool db_access(void *dev, bool write, uint64_t offset, unsigned size, uint32_t *value)
{
    return vblk_access(dev, write, offset, size, value, *value);
}

static bool db_line(void *dev)
{
    return vblk_irq(dev);
}

static void serve(nestor_cptr_t ep)
{
    nestor_ipc_buffer_t *b = nu_ipc_buffer();
    nu_msg_t m = { 0 };
    nestor_cptr_t slot = alloc.next_slot++;     /* where a received capability lands */
    nu_receive_cap_into(slot);
    nestor_word_t st = nu_recv(ep, &m);
    for (;;) {
        nestor_word_t label = nestor_msginfo_label(m.info);
        bool got_cap = st == NESTOR_OK && nestor_msginfo_extra_caps(m.info) > 0;
        bool cap_kept = false;
        nu_msg_t r;
        if (st != NESTOR_OK) {
            r = (nu_msg_t){ .info = nestor_msginfo(DS_REFUSED, 0, 0, 0) };
        } else if (m.badge == DS_BADGE_SETUP) {
            r = setup(slot, &m);
            cap_kept = vm_ready;
        } else if (m.badge == DS_BADGE_MMIO) {
            uint32_t value = 0;
            bool ok = vm_ready && (label == DS_REQ_READ || label == DS_REQ_WRITE) &&
                      vblk_access(&vblk, label == DS_REQ_WRITE, m.mr[0], m.mr[1], &value,
                                  (uint32_t)m.mr[2]);
            if (vm_ready && label == DS_REQ_RESUME) {
                value = vblk_resume(&vblk, (uint32_t)m.mr[0]);
                ok = true;
            }
            if (vm_ready && label == DS_REQ_DOORBELL)
                ok = cap_kept = got_cap &&
                                ds_doorbell_take(&doorbell, &alloc, slot, &m, BLK_DOORBELL_VA,
                                                 (const uint8_t *)(uintptr_t)BLK_RAM_VA,
                                                 vblk.ram_bytes, vm_window, db_access, db_line,
                                                 &vblk);
            if (label == DS_REQ_SAVE || label == DS_REQ_LOAD)
                r = checkpoint(label, &m);
            else
                r = (nu_msg_t){ .info = nestor_msginfo(ok ? DS_OK : DS_REFUSED, 0, 0,
                                                       DS_REPLY_MRS),
                                .mr = { value, vm_ready && vblk_irq(&vblk) ? DS_REPLY_IRQ_LEVEL
                                                                           : 0 } };
            /* (Every reply above tells the VMM the line's level as it is
             * now; a save does not move it.) */
            ds_doorbell_vmm_knows(&doorbell, vm_ready && vblk_irq(&vblk));
        } else if (ds_doorbell_message(&m)) {
            r = ds_doorbell_answer(&doorbell, &m);
        } else if (m.badge >= BLK_BADGE_CLIENT_BASE &&
                   m.badge <= BLK_BADGE_CLIENT(SELFTEST)) {
            unsigned i = (unsigned)(m.badge - BLK_BADGE_CLIENT_BASE);
            blk_client_t *c = &clients[i];
            blk_reply_t br;
            if (label == BLK_REQ_ATTACH) {
                c->requests++;
                br = attach(i, slot, &m);
                cap_kept = br.label == BLK_OK;
            } else if (got_cap) {
                br = (blk_reply_t){ .label = BLK_E_BAD_REQUEST };
            } else if (blk_is_vm_request(label)) {
                blk_vm_disk_t vmd = { vblk.disk, &vblk.part, &vblk.dirty, vblk.usable };
                br = blk_serve_vm(&vmd, c, label, m.mr, nestor_msginfo_length(m.info));
            } else {
                br = blk_serve(&disk, c, label, m.mr, nestor_msginfo_length(m.info));
                client_served(i, label, m.mr, br.label == BLK_OK);
            }
            if (br.label != BLK_OK && !(label == BLK_REQ_VM_INFO && br.label == BLK_E_NOT_VM))
                say_client(i, c, label == BLK_REQ_READ ? "read" : label == BLK_REQ_WRITE
                                     ? "write" : label == BLK_REQ_ATTACH ? "attach" : "request",
                           (int)br.label);
            r = (nu_msg_t){ .info = nestor_msginfo(br.label, 0, 0, br.n_mrs) };
            for (unsigned k = 0; k < br.n_mrs; k++)
                r.mr[k] = br.mr[k];
        } else {
            printf("blk %s: a message with unknown badge 0x%lx: refused\n", name, m.badge);
            r = (nu_msg_t){ .info = nestor_msginfo(BLK_E_BAD_REQUEST, 0, 0, 0) };
        }
        if (got_cap) {
            /* The next capability lands elsewhere: in a slot an ATTACH
             * emptied, so clients attaching again and again use no more. */
            if (cap_kept) {
                slot = freed_slot ? freed_slot : alloc.next_slot++;
                freed_slot = 0;
            } else {
                nu_cnode_delete(alloc.cnode, slot, 64);
            }
            b->receive_index = slot;
        }
        m = r;
        st = nu_reply_recv(ep, &m);
    }
}

int main(const nestor_bootinfo_t *bi)
{
    if (!nu_option_copy(bi->cmdline, "monitor=", name, sizeof name))
        strncpy(name, "blk", sizeof name - 1);
    strncpy(vblk.name, name, sizeof vblk.name - 1);
    if (!nu_option_copy(bi->cmdline, "vm=", vblk.vm, sizeof vblk.vm))
        strncpy(vblk.vm, "?", sizeof vblk.vm - 1);
    vblk.emit = emit;
    vblk.disk = &disk;
    const char *restart = nu_option(bi->cmdline, OPT_RESTART);
    paged_check = nu_option(bi->cmdline, OPT_PAGECHECK) != NULL;
    const char *die = nu_option(bi->cmdline, OPT_FAULT);
    if (die && !restart && (die_at = strtoul(die, NULL, 10)) != 0)
        vblk.written = written;
    const char *client_die = nu_option(bi->cmdline, OPT_CLIENT_FAULT);
    const char *client_die_every = nu_option(bi->cmdline, OPT_CLIENT_FAULT_EVERY);
    if (client_die && !restart) {
        client_die_at = strtoul(client_die, NULL, 10);
        client_die_opt = OPT_CLIENT_FAULT;
    }
    if (client_die_every) {
        client_die_at = strtoul(client_die_every, NULL, 10);
        client_die_opt = OPT_CLIENT_FAULT_EVERY;
    }
    const nestor_grant_desc_t *service = nu_grant(bi, NESTOR_GRANT_SERVICE, NULL);
    unsigned n_untyped = nu_ram_untypeds(bi, untypeds, NULL);
    if (!service || n_untyped == 0) {
        printf("blk %s: no endpoint or no memory granted: nothing to serve\n", name);
        return 0;
    }
    alloc = (nu_alloc_t){ untypeds[0], NESTOR_CAP_INIT_CNODE, bi->empty.start, bi->empty.end,
                          untypeds + 1, n_untyped - 1 };
    find_ports(bi);
    probe_disk();
    read_partitions(bi->cmdline);
    read_image(bi);
    bool have_clients = false;
    for (unsigned i = 0; i < BLK_MAX_CLIENTS; i++)
        have_clients |= clients[i].configured;
    if (restart)
        printf("blk %s: a fresh instance (init's restart %lu):%s%s%s\n", name,
               strtoul(restart, NULL, 10), vm_configured ? " the VMM restores its device" : "",
               vm_configured && have_clients ? "," : "",
               have_clients ? " its client monitors reconnect" : "");
    dirty_start(restart != NULL);
    start_selftest(bi->cmdline, service->cptr);
    serve(service->cptr);
    return 1;
}
