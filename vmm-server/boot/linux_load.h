/*
 * vmm-server/boot/linux_load.h - loading a Linux bzImage the way a boot
 * loader does, by the Linux x86 boot protocol (the kernel's
 * Documentation/arch/x86/boot.rst, "THE LINUX/x86 BOOT PROTOCOL"; section
 * names below are that document's):
 *   - the real-mode setup header at 0x1F1 ("THE REAL-MODE KERNEL HEADER"),
 *     protocol 2.06 or later (cmdline_size; a bzImage loaded high);
 *   - the protected-mode kernel (the file after the (setup_sects + 1) * 512
 *     bytes of setup) copied to code32_start's 1 MiB ("LOADING THE REST OF
 *     THE KERNEL"), with init_size bytes of RAM from there kept free;
 *   - the zero page (struct boot_params, "THE ZERO PAGE") with a copy of the
 *     setup header, type_of_loader, the command line, the initrd and the
 *     E820 memory map of the VM;
 *   - entered by the 32-bit boot protocol ("32-bit BOOT PROTOCOL"): protected
 *     mode, paging off, a GDT with flat __BOOT_CS (0x10) and __BOOT_DS
 *     (0x18), CS = 0x10, DS = ES = SS = 0x18, interrupts off, ESI = the zero
 *     page, EBP = EDI = EBX = 0, at code32_start.
 * Pure code like boot/multiboot.c: every header field is hostile, and nothing
 * is written outside guest RAM. Host-tested (unit-vmm-boot).
 */
#ifndef VMM_BOOT_LINUX_LOAD_H
#define VMM_BOOT_LINUX_LOAD_H
#include <stddef.h>
#include <stdint.h>

/* The setup header ("THE REAL-MODE KERNEL HEADER"): offsets in the file and
 * in the zero page alike. */
#define LX_HDR_START          0x1F1u
#define LX_OFF_SETUP_SECTS    0x1F1u   /* u8: 0 means 4 */
#define LX_OFF_BOOT_FLAG      0x1FEu   /* u16 0xAA55 */
#define LX_OFF_JUMP           0x200u   /* a short jump over the header: its end is 0x202 + byte 0x201 */
#define LX_OFF_HEADER         0x202u   /* u32 "HdrS" */
#define LX_OFF_VERSION        0x206u   /* u16 protocol version */
#define LX_OFF_TYPE_OF_LOADER 0x210u   /* u8 (write) */
#define LX_OFF_LOADFLAGS      0x211u   /* u8 */
#define LX_OFF_CODE32_START   0x214u   /* u32 */
#define LX_OFF_RAMDISK_IMAGE  0x218u   /* u32 (write) */
#define LX_OFF_RAMDISK_SIZE   0x21Cu   /* u32 (write) */
#define LX_OFF_HEAP_END_PTR   0x224u   /* u16 (write) */
#define LX_OFF_CMD_LINE_PTR   0x228u   /* u32 (write), 2.02+ */
#define LX_OFF_INITRD_MAX     0x22Cu   /* u32 initrd_addr_max, 2.03+ */
#define LX_OFF_CMDLINE_SIZE   0x238u   /* u32, 2.06+ */
#define LX_OFF_INIT_SIZE      0x260u   /* u32, 2.10+ */
#define LX_HDR_MAGIC          0x53726448u  /* "HdrS" */
#define LX_BOOT_FLAG          0xAA55u
#define LX_MIN_VERSION        0x0206u
#define LX_DEFAULT_SETUP_SECTS 4u
#define LX_SECTOR             512u
#define LX_LOADED_HIGH        0x01u    /* loadflags bit 0: protected-mode code at 1 MiB */
#define LX_CAN_USE_HEAP       0x80u    /* loadflags bit 7: heap_end_ptr is valid */
#define LX_LOADER_UNDEFINED   0xFFu    /* type_of_loader: a loader with no assigned id */
#define LX_KERNEL_ADDR        0x100000u    /* where a bzImage's protected-mode code goes */
#define LX_INITRD_MAX_DEFAULT 0x37FFFFFFu  /* initrd_addr_max before 2.03 */

/* The zero page ("THE ZERO PAGE", arch/x86/include/uapi/asm/bootparam.h). */
#define LX_ZP_SIZE            0x1000u
#define LX_ZP_ACPI_RSDP_ADDR  0x070u   /* u64 acpi_rsdp_addr (2.14+; older kernels scan) */
#define LX_ZP_E820_ENTRIES    0x1E8u   /* u8 */
#define LX_ZP_E820_TABLE      0x2D0u   /* struct boot_e820_entry[128]: u64 addr, u64 size, u32 type */
#define LX_E820_ENTRY_SIZE    20u
#define LX_E820_MAX           128u
#define LX_E820_RAM           1u
#define LX_E820_RESERVED      2u

/* Where this loader puts its pieces in low memory (below 640 KiB, free of
 * the kernel's use: "the zero page ... anywhere in low memory"). */
#define LX_GDT_GPA            0x1000u
#define LX_ZERO_PAGE_GPA      0x7000u
#define LX_CMDLINE_GPA        0x20000u
#define LX_CMDLINE_MAX        0x10000u     /* what fits before 0x30000 */
#define LX_BOOT_CS            0x10u
#define LX_BOOT_DS            0x18u
#define LX_GDT_ENTRIES        4u
/* The VM's memory map: low memory up to the EBDA a BIOS keeps at 0x9FC00,
 * the VGA/ROM hole, RAM from 1 MiB. */
#define LX_LOW_RAM_END        0x9FC00u
#define LX_HIGH_RAM_START     0x100000u
#define LX_PAGE               0x1000u

typedef enum {
    LX_OK,
    LX_NOT_LINUX,           /* no "HdrS" setup header: not a bzImage (try other formats) */
    LX_OLD_PROTOCOL,        /* protocol before 2.06 */
    LX_NOT_BZIMAGE,         /* not LOADED_HIGH (a zImage) */
    LX_BAD_SETUP,           /* setup_sects or the header's end beyond the file */
    LX_BAD_CODE32_START,    /* code32_start is not 1 MiB */
    LX_NO_ROOM,             /* kernel (init_size), initrd or command line do not fit the RAM */
    LX_CMDLINE_TOO_LONG,    /* longer than the kernel's cmdline_size */
} lx_status_t;

const char *lx_status_str(lx_status_t st);

/* Tell the kernel loaded in @ram where its ACPI RSDP is (the zero page's
 * acpi_rsdp_addr); it also finds it by scanning 0xE0000-0xFFFFF. */
void lx_set_rsdp(uint8_t *ram, uint64_t rsdp_gpa);

typedef struct {
    uint32_t setup_bytes;       /* (setup_sects + 1) * 512: where the protected-mode code starts */
    uint32_t header_end;        /* one past the setup header's last byte */
    uint16_t version;
    uint32_t kernel_bytes;      /* size - setup_bytes */
    uint32_t init_size;         /* RAM the kernel needs from 1 MiB while it decompresses */
    uint32_t initrd_max;        /* highest address the initrd may occupy */
    uint32_t cmdline_size;      /* longest command line, without its NUL */
} lx_layout_t;

/* Check the setup header of image[0..size): LX_NOT_LINUX if there is none. */
lx_status_t lx_parse(const uint8_t *image, uint64_t size, lx_layout_t *out);

typedef struct {
    uint32_t entry;             /* code32_start */
    uint32_t zero_page;         /* for ESI */
    uint32_t gdt, gdt_limit;    /* for GDTR */
    uint32_t initrd_addr, initrd_size;
} lx_boot_t;

/* Load a parsed image into ram[0..ram_bytes) with its command line and
 * initrd (NULL, 0 for none): kernel, zero page, GDT, initrd at the top of
 * the RAM it may use. Nothing is written unless everything fits. */
lx_status_t lx_load(const uint8_t *image, uint64_t size, const lx_layout_t *l, uint8_t *ram,
                    uint64_t ram_bytes, const char *cmdline, const uint8_t *initrd,
                    uint64_t initrd_size, lx_boot_t *out);

#endif
