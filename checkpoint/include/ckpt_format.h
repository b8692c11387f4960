/*
 * checkpoint/include/ckpt_format.h - the checkpoint image format, version 3
 * (checkpoint/README.md "Image format" is its prose specification). One
 * definition shared by the checkpoint monitor that writes images, the VMM
 * that restores them and the host tool that reads them
 * (`./nestor checkpoint ls|show IMAGE`).
 *
 * An image is: a header (ckpt_header_t, CKPT_HEADER_BYTES), a section
 * table (n_sections ckpt_section_t), then the sections' bytes, each at the
 * offset its table entry gives. All integers are little-endian. A disk
 * partition holds a chain of images, each starting on a CKPT_ALIGN
 * boundary right after the previous one: image 0 is full (every RAM page),
 * image k > 0 is incremental (the pages written since image k-1) and names
 * its predecessor's sequence number and header checksum, so that a chain
 * cannot be spliced from two runs. A VM restored from a chain goes on
 * with a generation of its own (version 3): a full image right after the
 * chain's last image, of the next generation, naming the header checksum
 * of the image it was restored from (its parent), then incremental images
 * on top of it; a restore loads the last generation. The header is
 * written last: an image whose header does not check is not there.
 *
 * Checksums are CRC-32 (IEEE 802.3, reflected, polynomial 0xEDB88320,
 * initial value and final XOR 0xFFFFFFFF: the one zlib and Ethernet use):
 * each section's bytes (its table entry's crc); the header (with
 * header_crc zero) followed by the section table (header_crc): the first
 * sector; and every byte after it, sections and the zero padding between
 * them, [CKPT_DATA_START, image_bytes) (image_crc). The writer streams the
 * sections and writes the first sector last, so every checksum is known by
 * then.
 */
#ifndef CKPT_FORMAT_H
#define CKPT_FORMAT_H
#include <stddef.h>
#include <stdint.h>
#include <stdbool.h>

#define CKPT_MAGIC          "NESTCKPT"   /* 8 bytes, no terminator in the image */
#define CKPT_MAGIC_BYTES    8
/* Version 2: the devices section holds every device model of the VMM and
 * its per-VM platform state (CKPT_DEV_PLATFORM); a version 1 image lacks
 * them, and a VM restored from one would find its LAPIC, I/O APIC, RTC and
 * TSC reset: refused. */
#define CKPT_VERSION_2      2
/* Version 3: the header's generation and parent_header_crc (taken from
 * what version 2 kept reserved, zero): images taken after a restore. A
 * version 2 image is read as the format says, generation 0 without a
 * parent (its reserved bytes must then be zero). */
#define CKPT_VERSION        3
#define CKPT_HEADER_BYTES   256
#define CKPT_ALIGN          512          /* images (and sections) start on a sector */
#define CKPT_DATA_START     CKPT_ALIGN   /* the first section: header and table fill sector 0 */
#define CKPT_PAGE_SIZE      4096
#define CKPT_NAME_BYTES     32
#define CKPT_MAX_SECTIONS   10
#define CKPT_MAX_IMAGES     64           /* longest chain a reader follows */

/* ckpt_header_t.kind */
#define CKPT_KIND_FULL          1
#define CKPT_KIND_INCREMENTAL   2

/* Section types (ckpt_section_t.type) */
#define CKPT_SEC_VCPU       1    /* ckpt_vcpu_t: one per vCPU */
#define CKPT_SEC_FPU        2    /* the vCPU's XSAVE (or FXSAVE) image, as NESTOR_TCB_READ_FPU */
#define CKPT_SEC_DEVICES    3    /* device-model records (ckpt_dev_record_t + data)... */
#define CKPT_SEC_RAM        4    /* ckpt_ram_t, then the pages */
#define CKPT_SEC_DISK       5    /* ckpt_disk_t, then the VM disk's chunks */

typedef struct {
    char magic[CKPT_MAGIC_BYTES];
    uint32_t version;            /* CKPT_VERSION */
    uint32_t header_bytes;       /* CKPT_HEADER_BYTES */
    uint64_t stack_id;           /* ckpt_stack_id() of the VM it was taken of */
    uint64_t image_bytes;        /* header + table + sections (before padding to CKPT_ALIGN) */
    uint32_t kind;               /* CKPT_KIND_* */
    uint32_t seq;                /* place in the chain: 0 is the full image */
    uint32_t prev_header_crc;    /* image seq-1's header_crc (0 for seq 0) */
    uint32_t n_sections;         /* 1..CKPT_MAX_SECTIONS, table right after the header */
    uint64_t ram_bytes;          /* the VM's guest-physical RAM [0, ram_bytes) */
    uint64_t guest_time;         /* guest time the VM had run when it was stopped, in the
                                    writer's units (VMX-preemption-timer ticks) */
    uint64_t pages;              /* RAM pages this image holds */
    char vm_name[CKPT_NAME_BYTES];   /* NUL-padded */
    uint32_t generation;         /* 0: taken of a VM that started fresh; g + 1: of a VM
                                    restored from generation g (version 3) */
    uint32_t parent_header_crc;  /* a full image of generation g > 0: the header_crc of
                                    the image its VM was restored from, the last of
                                    generation g - 1; else 0 */
    uint8_t reserved[CKPT_HEADER_BYTES - 120];  /* zero */
    uint32_t image_crc;          /* CRC-32 of bytes [CKPT_DATA_START, image_bytes) */
    uint32_t header_crc;         /* CRC-32 of the header with this field zero, then the table */
} ckpt_header_t;

typedef struct {
    uint32_t type;               /* CKPT_SEC_* */
    uint32_t crc;                /* CRC-32 of its bytes */
    uint64_t offset;             /* from the image's start, a CKPT_ALIGN multiple
                                    >= CKPT_DATA_START */
    uint64_t bytes;
} ckpt_section_t;

/* A segment register as the VMCS holds it (SDM Vol. 3C 24.4.1). */
typedef struct {
    uint64_t base;
    uint32_t limit;
    uint32_t ar;
    uint16_t sel;
    uint16_t pad[3];
} ckpt_seg_t;

/*
 * The vCPU section: every guest-state group the kernel's state page gives
 * (nestor/vcpu.h NESTOR_MTD_*), plus the event state of the exit boundary
 * it was taken at. A checkpoint is taken only where no event is in flight
 * (IDT-vectoring information not valid, SDM Vol. 3C 27.2.4) and none is
 * queued for injection; both are recorded so that a reader can check it.
 */
typedef struct {
    uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp;
    uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
    uint64_t rsp, rip, rflags;
    uint64_t cr0, cr2, cr3, cr4, efer;
    ckpt_seg_t es, cs, ss, ds, fs, gs, ldtr, tr;
    uint64_t gdtr_base, gdtr_limit, idtr_base, idtr_limit;
    /* SDM Vol. 3C 24.4.2: interruptibility state, activity state and
     * pending debug exceptions */
    uint64_t interruptibility, activity, pending_dbg;
    uint64_t sysenter_cs, sysenter_esp, sysenter_eip;
    uint64_t star, lstar, cstar, fmask, kernel_gs_base, pat, tsc_aux;
    uint64_t dr0, dr1, dr2, dr3, dr6, dr7, debugctl;
    uint64_t xcr0;
    uint64_t pdpte[4];
    /* Events: SDM 27.2.4 IDT-vectoring information of the exit it was
     * stopped at, and an injection queued for the next entry (24.8.3). */
    uint64_t idt_vectoring, idt_vectoring_error;
    uint64_t inject_info, inject_error, inject_instr_len;
    uint64_t vcpu_index;
} ckpt_vcpu_t;

/*
 * The device section: a sequence of records, each a ckpt_dev_record_t and
 * `bytes` bytes of the model's own state (its layout versioned by the
 * model: vmm-server devices' save/restore). A record ends on an 8-byte
 * boundary (padding zero).
 */
typedef struct {
    uint32_t id;                 /* CKPT_DEV_* */
    uint32_t version;            /* of the model's state layout */
    uint32_t bytes;
    uint32_t instance;
} ckpt_dev_record_t;

#define CKPT_DEV_PIC     1
#define CKPT_DEV_PIT     2
#define CKPT_DEV_RTC     3
#define CKPT_DEV_LAPIC   4
#define CKPT_DEV_UART    5
#define CKPT_DEV_IOAPIC  6
#define CKPT_DEV_I8042   7
#define CKPT_DEV_ACPI_PM 8
#define CKPT_DEV_SYSCTL  9       /* port 92h and CF9h */
#define CKPT_DEV_PLATFORM 10     /* the VMM's per-VM state: MSRs it keeps, TSC, CR8 */
#define CKPT_DEV_VIRTIO  11      /* a device server's device: instance = its number in
                                    the VM's virtio (vmm-server/dev_state.h); a version 2
                                    image without them is of a VM without device servers */
/* Not the VMM's: nested-vmx's state of a VM whose guest is a hypervisor
 * (nested-vmx/nvmx_state.h nvmx_state_t), asked of nested-vmx by the
 * checkpoint monitor and given back to it (checkpoint/README.md "A guest
 * hypervisor and its L2"). Numbered apart from the device models'. */
#define CKPT_DEV_NESTED_VMX 32

/*
 * The RAM section: a ckpt_ram_t, then (CKPT_RAM_LIST) `pages` guest-
 * physical page numbers as uint64_t, padded to CKPT_ALIGN, then the pages'
 * contents, CKPT_PAGE_SIZE each, in that order; or (CKPT_RAM_DENSE) the
 * pages [first_page, first_page + pages) directly after a header padded
 * to CKPT_ALIGN.
 */
typedef struct {
    uint32_t encoding;           /* CKPT_RAM_* */
    uint32_t page_size;          /* CKPT_PAGE_SIZE */
    uint64_t first_page;         /* CKPT_RAM_DENSE: the first page number */
    uint64_t pages;
    uint64_t reserved;
} ckpt_ram_t;

#define CKPT_RAM_DENSE   1
#define CKPT_RAM_LIST    2

/*
 * The disk section (checkpoint/README.md "The disk"): the VM's virtio disk
 * when the monitor's block server serves it, as it was at the image. A
 * ckpt_disk_t, then (CKPT_DISK_LIST) `chunks` chunk numbers as uint64_t,
 * strictly increasing, padded to CKPT_ALIGN, then each chunk's
 * chunk_sectors * CKPT_DISK_SECTOR bytes in that order; or (CKPT_DISK_DENSE)
 * every chunk of the disk, 0 to chunks - 1, after the header padded to
 * CKPT_ALIGN. Chunk k is sectors [k * chunk_sectors, (k + 1) *
 * chunk_sectors) of the disk; the part of the last chunk past the disk's
 * end is zero and never written back. A full image holds the whole disk
 * (dense), an incremental one the chunks the VM wrote since the image
 * before it (list). Every image of a chain has one or none, all of one
 * disk size and chunk size.
 */
typedef struct {
    uint32_t encoding;           /* CKPT_DISK_* */
    uint32_t chunk_sectors;      /* a power of two, CKPT_DISK_CHUNK_MIN..CKPT_DISK_CHUNK_MAX */
    uint64_t disk_sectors;       /* the disk's size, >= 1 */
    uint64_t chunks;             /* chunks held (DENSE: all of the disk's) */
    uint64_t reserved;           /* zero */
} ckpt_disk_t;

#define CKPT_DISK_DENSE      1
#define CKPT_DISK_LIST       2
#define CKPT_DISK_SECTOR     512
#define CKPT_DISK_CHUNK_MIN  8           /* 4 KiB */
#define CKPT_DISK_CHUNK_MAX  4096        /* 2 MiB */

/* The disk's chunk count: ceil(disk_sectors / chunk_sectors). */
static inline uint64_t ckpt_disk_chunks(const ckpt_disk_t *d)
{
    return d->disk_sectors / d->chunk_sectors + (d->disk_sectors % d->chunk_sectors != 0);
}

/* ---- checksums and identity (checkpoint/format.c) ---- */

uint32_t ckpt_crc32(uint32_t crc, const void *buf, size_t n);
#define CKPT_CRC_INIT    0u      /* ckpt_crc32(CKPT_CRC_INIT, ...) starts a checksum */

/* The stack identity: FNV-1a 64 over what makes a VM the same VM for a
 * restore: its name, RAM size, guest image name and device list (the
 * config's `devices`, comma-joined), each followed by a NUL. Any of them
 * changed: another stack, the image is refused. */
#define CKPT_FNV_OFFSET  0xcbf29ce484222325ull
#define CKPT_FNV_PRIME   0x100000001b3ull
uint64_t ckpt_fnv1a(uint64_t h, const void *buf, size_t n);
uint64_t ckpt_stack_id(const char *vm, uint64_t ram_bytes, const char *image,
                       const char *devices);

/* ---- writing ---- */

/* Round up to CKPT_ALIGN. */
static inline uint64_t ckpt_align(uint64_t n)
{
    return (n + CKPT_ALIGN - 1) & ~(uint64_t)(CKPT_ALIGN - 1);
}

/* Writes @n bytes (a CKPT_ALIGN multiple) at byte @off (a CKPT_ALIGN
 * multiple) of the image; false on failure. */
typedef bool (*ckpt_write_fn)(void *ctx, uint64_t off, const void *buf, size_t n);

/* A streaming writer: sections one after another, each started on a
 * CKPT_ALIGN boundary, staged in a CKPT_SCRATCH buffer and handed to the
 * write function in whole sectors; the first sector (header and table)
 * last, by ckpt_w_finish. */
typedef struct {
    ckpt_write_fn write;
    void *ctx;
    uint8_t *buf;                /* CKPT_SCRATCH bytes */
    uint64_t buf_off;            /* image offset of buf[0] */
    size_t fill;                 /* bytes staged */
    uint64_t off;                /* image offset of the next byte */
    uint32_t image_crc;
    uint32_t n;                  /* sections started */
    bool open, failed;
    ckpt_section_t sec[CKPT_MAX_SECTIONS];
} ckpt_writer_t;

void ckpt_w_init(ckpt_writer_t *w, ckpt_write_fn fn, void *ctx, uint8_t *buf);
/* Start a section of @type (the previous one ends here). */
bool ckpt_w_section(ckpt_writer_t *w, uint32_t type);
/* Append @n bytes to the open section. */
bool ckpt_w_put(ckpt_writer_t *w, const void *p, size_t n);
/* Append zero bytes up to the next CKPT_ALIGN boundary of the image. */
bool ckpt_w_pad(ckpt_writer_t *w);
/* End the image: @h's identity fields (stack_id, kind, seq,
 * prev_header_crc, generation, parent_header_crc, ram_bytes, guest_time,
 * pages, vm_name) are the caller's;
 * the rest is filled in here, sealed, and the first sector written. */
bool ckpt_w_finish(ckpt_writer_t *w, ckpt_header_t *h);
/* The header checksum of @h and its table @sec (header_crc taken as 0). */
uint32_t ckpt_header_crc(const ckpt_header_t *h, const ckpt_section_t *sec);

/* ---- reading ---- */

typedef enum {
    CKPT_OK = 0,
    CKPT_E_SHORT,        /* fewer bytes than the header or the image says */
    CKPT_E_MAGIC,        /* not a checkpoint image */
    CKPT_E_VERSION,      /* another format version */
    CKPT_E_HEADER_CRC,   /* the header's checksum does not match */
    CKPT_E_LAYOUT,       /* a size, count or offset out of range */
    CKPT_E_SECTION_CRC,  /* a section's checksum does not match */
    CKPT_E_IMAGE_CRC,    /* the overall checksum does not match */
    CKPT_E_STACK,        /* taken of another stack */
    CKPT_E_CHAIN,        /* an incremental image that does not follow its predecessor */
    CKPT_E_CONTENT,      /* a section that checks but says something impossible */
    CKPT_E_IO,           /* the reader could not read */
} ckpt_err_t;

/* Reads @n bytes at byte @off of the medium into @buf; false on failure. */
typedef bool (*ckpt_read_fn)(void *ctx, uint64_t off, void *buf, size_t n);

typedef struct {
    ckpt_read_fn read;
    void *ctx;
    uint64_t limit;          /* bytes the medium has */
    uint8_t *scratch;        /* CKPT_SCRATCH bytes the reader may use */
} ckpt_medium_t;
#define CKPT_SCRATCH     4096

/* What a check found: the error, and a sentence saying why (the section,
 * the field, the values), for the user. */
typedef struct {
    ckpt_err_t err;
    char why[160];
} ckpt_verdict_t;

/* Check the header and section table at @base of @m (into @h and @sec,
 * CKPT_MAX_SECTIONS entries): magic, version, header checksum, sizes.
 * @expect_stack: 0 to accept any stack, else the identity it must have. */
bool ckpt_check_header(const ckpt_medium_t *m, uint64_t base, uint64_t expect_stack,
                       ckpt_header_t *h, ckpt_section_t *sec, ckpt_verdict_t *v);
/* Check the rest of the image at @base whose header passed
 * ckpt_check_header: where each section lies, its checksum, the overall
 * checksum, and the sections' own contents (sizes, page numbers). */
bool ckpt_check_image(const ckpt_medium_t *m, uint64_t base, const ckpt_header_t *h,
                      const ckpt_section_t *sec, ckpt_verdict_t *v);
/* Does image @next (checked) follow image @prev in a chain? An
 * incremental image of the same generation, or the full image of the
 * next generation whose parent is @prev. */
bool ckpt_check_follows(const ckpt_header_t *prev, const ckpt_header_t *next,
                        ckpt_verdict_t *v);
/* Where the image after the one at @base (header @h) starts. */
static inline uint64_t ckpt_next(uint64_t base, const ckpt_header_t *h)
{
    return base + ckpt_align(h->image_bytes);
}
/* A chain of images on one medium (a checkpoint partition), as
 * ckpt_walk found it. */
typedef struct {
    uint64_t base;               /* byte offset of the image on the medium */
    ckpt_header_t h;
    ckpt_section_t sec[CKPT_MAX_SECTIONS];
} ckpt_image_t;

/* Walk the chain from byte 0 of @m: image 0 must be there (full, of
 * generation 0); each image right after the last (ckpt_next) whose magic
 * is there must check whole and follow it (ckpt_check_follows: within a
 * generation, or the next generation's full image); the first place
 * without the magic ends the chain (a writer puts a zero sector after each
 * image it writes). Fills @img[0..*n) (at most @max); false with the
 * verdict at the first image that does not check, or when more than @max
 * images follow one another: nothing of such a chain may be restored. A
 * restore loads the last generation: from
 * ckpt_last_full(@img, *n) to the end. */
bool ckpt_walk(const ckpt_medium_t *m, uint64_t expect_stack, ckpt_image_t *img,
               unsigned max, unsigned *n, ckpt_verdict_t *v);

/* The disk section's header of image @im (checked by ckpt_check_image);
 * false if it has none (or it cannot be read). */
bool ckpt_disk_of(const ckpt_medium_t *m, const ckpt_image_t *im, ckpt_disk_t *d);

/* The index of the last full image of @img[0..@n) (the start of the
 * last generation); 0 when there is none. */
unsigned ckpt_last_full(const ckpt_image_t *img, unsigned n);

/* The first section of @type in @sec (@n entries), or NULL. */
const ckpt_section_t *ckpt_find(const ckpt_section_t *sec, uint32_t n, uint32_t type);
const char *ckpt_err_name(ckpt_err_t e);
const char *ckpt_sec_name(uint32_t type);
const char *ckpt_dev_name(uint32_t id);

#endif
