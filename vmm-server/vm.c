/*
 * vmm-server/vm.c - building a VM: RAM through EPT (2 MiB frames, also
 * mapped in the VMM to load images and read guest memory), the VCPU with its
 * vCPU thread, state page and exit table.
 */
#include "vmm.h"
#include "boot/multiboot.h"
#include "boot/multiboot2_load.h"
#include "boot/linux_load.h"
#include "boot/acpi_tables.h"
#include <elf64.h>
#include <virtio_abi.h>
#include <string.h>
#include <user/print.h>

#define VMM_RAM_WINDOW   0x0000400000000000ULL   /* + (index << 32) */
#define VMM_STATE_WINDOW 0x0000500000000000ULL   /* + (index << 12) */
#define VCPU_PRIO        100                     /* below the VMM: exits are served at once */
/* A boot sector: 512 bytes ending in 0x55 0xAA, started as a BIOS would, in
 * real mode at 0000:7C00 (an unrestricted guest, SDM Vol. 3C 25.6). */
#define BOOT_SECTOR_SIZE 512
#define BOOT_SECTOR_GPA  0x7C00
#define REAL_CR0         X86_CR0_ET             /* PE and PG clear */
#define REAL_LIMIT       0xFFFF
#define REAL_AR_CODE     0x9B                   /* present, DPL 0, code, read, accessed */
#define REAL_AR_DATA     0x93                   /* present, DPL 0, data, write, accessed */
/* An ELF64 image: its PT_LOAD segments go to guest-physical = p_vaddr and it
 * starts in 64-bit mode at e_entry, with the first GiB identity-mapped in
 * 2 MiB pages by tables the VMM writes into guest RAM below LM_BOOT_END
 * (SDM Vol. 3A 4.5, 9.8.5; the state as after a 64-bit boot protocol). */
#define LM_PML4_GPA      0x1000
#define LM_PDPT_GPA      0x2000
#define LM_PD_GPA        0x3000
#define LM_GDT_GPA       0x4000
#define LM_BOOT_END      0x5000
#define LM_STACK_TOP     0x80000
#define LM_PAGE_2M       0x200000ULL
#define LM_CR0           (X86_CR0_PG | X86_CR0_ET | X86_CR0_PE)
#define LM_CR4           X86_CR4_PAE
#define LM_EFER          (X86_EFER_LME | X86_EFER_LMA)
#define LM_SEL_CODE      0x08
#define LM_SEL_DATA      0x10
#define LM_AR_CODE       0xA09B                 /* G, L, present, code, read, accessed */
#define LM_AR_DATA       0xC093                 /* G, D/B, present, data, write, accessed */
#define LM_AR_TSS        0x8B                   /* present, busy 64-bit TSS */
#define LM_TSS_LIMIT     0x67
#define LM_FLAT_LIMIT    0xFFFFFFFF
static const uint64_t lm_gdt[] = { 0, 0x00AF9A000000FFFFULL, 0x00CF92000000FFFFULL };

/* A 2 MiB frame from the first untyped (from *@from on) that still holds
 * one whole: frames go where they fit, so the small objects nu_alloc puts
 * in its current untyped cost at most one frame's alignment, not one per
 * table. */
static nestor_cptr_t alloc_frame(nu_alloc_t *a, unsigned *from)
{
    if (a->next_slot >= a->end_slot)
        return 0;
    for (; *from <= a->n_spares; (*from)++) {
        nestor_cptr_t ut = *from == 0 ? a->untyped : a->spares[*from - 1];
        if (nu_untyped_retype(ut, NESTOR_OBJ_FRAME_2M, 0, a->cnode, 0, 0, a->next_slot, 1) ==
            NESTOR_OK)
            return a->next_slot++;
    }
    return 0;
}

static bool make_ram(vm_t *vm, nu_alloc_t *a)
{
    vm->ept = nu_alloc_obj(a, NESTOR_OBJ_EPT_PML4, 0);
    if (!vm->ept)
        return false;
    uint64_t window = VMM_RAM_WINDOW + ((uint64_t)vm->index << 32);
    uint64_t frames = vm->ram_bytes >> VMM_RAM_FRAME_BITS;
    /* First every frame (consecutive slots), then the tables that map them. */
    nestor_cptr_t first = a->next_slot;
    unsigned from = 0;
    vm->ram_frames = first;
    for (uint64_t i = 0; i < frames; i++)
        if (!alloc_frame(a, &from))
            return false;
    for (uint64_t i = 0; i < frames; i++) {
        uint64_t gpa = i << VMM_RAM_FRAME_BITS;
        nestor_cptr_t f = first + i, mine = a->next_slot++;
        /* One capability maps once: the guest's and the VMM's are two. */
        if (nu_cnode_copy(a->cnode, mine, 64, a->cnode, f, 64, NESTOR_RIGHTS_ALL) ||
            nu_ept_map_2m(a, vm->ept, gpa, f, NESTOR_EPT_R | NESTOR_EPT_W | NESTOR_EPT_X) != NESTOR_OK ||
            nu_map_frame(a, NESTOR_CAP_INIT_VSPACE, window + gpa, mine,
                         NESTOR_RIGHT_READ | NESTOR_RIGHT_WRITE) != NESTOR_OK)
            return false;
    }
    vm->ram = (uint8_t *)(uintptr_t)window;
    return true;
}

static bool make_exit_table(vm_t *vm, nu_alloc_t *a, nestor_cptr_t exit_ep)
{
    vm->exit_table = nu_alloc_obj(a, NESTOR_OBJ_CNODE, NESTOR_EXIT_TABLE_RADIX);
    if (!vm->exit_table)
        return false;
    /* Every reason's slot: our endpoint, badged with the VM so exits say whose
     * they are. The exception slots stay empty: the VMM intercepts no guest
     * exception (the kernel derives the exception bitmap from them). */
    for (unsigned slot = 0; slot < NESTOR_EXIT_SLOT_EXCEPTION; slot++) {
        if (nu_cnode_mint(vm->exit_table, slot, NESTOR_EXIT_TABLE_RADIX, a->cnode, exit_ep, 64,
                          NESTOR_RIGHTS_ALL, vm->index + 1) != NESTOR_OK)
            return false;
        /* What the kernel writes to the state page at each exit (exits.c). */
        const nestor_word_t args[] = { slot, vmm_exit_mask(slot) };
        if (nu_invoke(vm->vcpu, NESTOR_VCPU_SET_EXIT_MASK, args, 2, 0, 0, 0, 0) != NESTOR_OK)
            return false;
    }
    return nu_invoke(vm->vcpu, NESTOR_VCPU_SET_EXIT_TABLE, 0, 0, &vm->exit_table, 1, 0, 0) ==
           NESTOR_OK;
}

static bool make_vcpu(vm_t *vm, nu_alloc_t *a)
{
    nestor_cptr_t state;
    nestor_word_t state_va = VMM_STATE_WINDOW + ((uint64_t)vm->index << 12);
    vm->vcpu = nu_alloc_obj(a, NESTOR_OBJ_VCPU, 0);
    vm->tcb = nu_alloc_obj(a, NESTOR_OBJ_TCB, 0);
    if (!vm->vcpu || !vm->tcb || nu_map_new_page(a, NESTOR_CAP_INIT_VSPACE, state_va, &state))
        return false;
    vm->state = (nestor_vcpu_state_t *)(uintptr_t)state_va;
    vm->state_frame = state;
    nestor_cptr_t st = a->next_slot++;
    return nu_cnode_copy(a->cnode, st, 64, a->cnode, state, 64, NESTOR_RIGHTS_ALL) == NESTOR_OK &&
           nu_tcb_set_priority(vm->tcb, VCPU_PRIO) == NESTOR_OK &&
           nu_invoke(vm->vcpu, NESTOR_VCPU_SET_TCB, 0, 0, &vm->tcb, 1, 0, 0) == NESTOR_OK &&
           nu_invoke(vm->vcpu, NESTOR_VCPU_SET_EPT, 0, 0, &vm->ept, 1, 0, 0) == NESTOR_OK &&
           nu_invoke(vm->vcpu, NESTOR_VCPU_SET_STATE_PAGE, 0, 0, &st, 1, 0, 0) == NESTOR_OK;
}

/* Why a Multiboot2 header was refused, beyond the status: the tag to blame. */
static void mb2_blame(const mb_layout_t *l, mb_status_t st)
{
    if (st == MB2_BAD_ARCH)
        printf(" (architecture %u)", l->bad_tag);
    else if (st == MB2_UNKNOWN_REQUEST)
        printf(" (information type %u)", l->bad_tag);
    else if (st == MB2_UNSUPPORTED_TAG || st == MB2_BAD_HEADER || st == MB2_NO_ENTRY)
        printf(" (header tag type %u)", l->bad_tag);
}

/* 1: a Multiboot2 or Multiboot image, loaded with its modules and boot
 * information, *entry, *info and *magic (for EAX) set; 0: neither header;
 * -1: refused (said why). Multiboot2 is looked for first: an image with
 * both headers is loaded as Multiboot2 (GRUB chooses by the command,
 * "multiboot2" or "multiboot"; a VM has no command, and Multiboot2 is the
 * newer protocol with the fuller information). */
static int multiboot_load(vm_t *vm, const uint8_t *image, uint64_t size, uint64_t *entry,
                          uint64_t *info, uint32_t *magic)
{
    mb_layout_t l;
    bool v2 = true;
    mb_status_t st = mb2_parse_header(image, size, vm->ram_bytes, &l);
    if (st == MB_NO_HEADER) {
        v2 = false;
        st = mb_parse(image, size, vm->ram_bytes, &l);
    }
    if (st == MB_NO_HEADER)
        return 0;
    if (st != MB_OK) {
        if (v2)
            printf("vmm: %s: Multiboot2 image refused: %s", vm->name, mb_status_str(st));
        else
            printf("vmm: %s: Multiboot image refused (header flags 0x%x): %s", vm->name,
                   l.flags, mb_status_str(st));
        if (v2)
            mb2_blame(&l, st);
        if (l.bad_index >= 0)
            printf(" (program header %d: 0x%lx, 0x%lx bytes)", l.bad_index, l.bad_addr,
                   l.bad_size);
        printf("\n");
        return -1;
    }
    mb_boot_t boot;
    /* The information describes all the guest's RAM, a pager's part too,
     * but goes where the VMM can write it: below ram_bytes. Placement
     * depends on the kernel's end and the modules only (mb_place), so a
     * dry run with the VMM's part says whether it fits there. */
    if (vm->paged_bytes &&
        (mb_place(vm->ram_bytes, l.end, vm->mods, vm->n_mods, VMM_MB_INFO_BOUND, &boot) != MB_OK)) {
        printf("vmm: %s: image, modules and boot information do not fit in the first %lu MiB "
               "(the rest of RAM is the pager's)\n", vm->name, vm->ram_bytes >> 20);
        return -1;
    }
    st = (v2 ? mb2_build_info : mb_build_info)(vm->ram, vm->ram_bytes + vm->paged_bytes, l.end,
                                               vm->cmdline, vm->mods, vm->n_mods, &boot);
    if (st != MB_OK) {
        printf("vmm: %s: %s image refused: %s (kernel ends at 0x%lx, %u module%s, "
               "%lu MiB of RAM)\n", vm->name, v2 ? "Multiboot2" : "Multiboot", mb_status_str(st),
               l.end, vm->n_mods, vm->n_mods == 1 ? "" : "s", vm->ram_bytes >> 20);
        return -1;
    }
    mb_load(image, &l, vm->ram);
    vm->load_gpa = l.seg[0].load_addr;
    vm->mb_format = l.format;
    *entry = l.entry;
    *info = boot.info_addr;
    *magic = v2 ? MB2_BOOTLOADER_MAGIC : MB_LOADER_MAGIC;
    return 1;
}

static bool load_state_groups(vm_t *vm, nestor_word_t mask)
{
    return nu_invoke(vm->vcpu, NESTOR_VCPU_LOAD_STATE, &mask, 1, 0, 0, 0, 0) == NESTOR_OK;
}

static bool vm_create_elf64(vm_t *vm, const void *image, size_t size, nestor_word_t mask)
{
    if (vm->n_mods) {
        printf("vmm: %s: modules given, but an ELF64 image without a Multiboot header takes "
               "none\n", vm->name);
        return false;
    }
    elf_info_t info;
    elf_status_t st = elf_parse(image, size, vm->ram_bytes, &info);
    if (st != ELF_OK) {
        printf("vmm: %s: ELF64 image refused: %s\n", vm->name, elf_status_str(st));
        return false;
    }
    for (size_t i = 0; i < info.nseg; i++) {
        const elf_segment_t *s = &info.seg[i];
        if (s->vaddr < LM_BOOT_END) {
            printf("vmm: %s: ELF segment at 0x%lx overlaps the boot page tables "
                   "(below 0x%x)\n", vm->name, s->vaddr, LM_BOOT_END);
            return false;
        }
        memcpy(vm->ram + s->vaddr, (const uint8_t *)image + s->offset, s->filesz);
        memset(vm->ram + s->vaddr + s->filesz, 0, s->memsz - s->filesz);
    }
    uint64_t *pml4 = (uint64_t *)(vm->ram + LM_PML4_GPA), *pdpt = (uint64_t *)(vm->ram + LM_PDPT_GPA);
    uint64_t *pd = (uint64_t *)(vm->ram + LM_PD_GPA);
    memset(vm->ram + LM_PML4_GPA, 0, LM_BOOT_END - LM_PML4_GPA);
    pml4[0] = LM_PDPT_GPA | X86_PTE_P | X86_PTE_RW;
    pdpt[0] = LM_PD_GPA | X86_PTE_P | X86_PTE_RW;
    for (unsigned i = 0; i < 512; i++)
        pd[i] = i * LM_PAGE_2M | X86_PTE_P | X86_PTE_RW | X86_PTE_PS;
    memcpy(vm->ram + LM_GDT_GPA, lm_gdt, sizeof(lm_gdt));
    vm->load_gpa = info.seg[0].vaddr;
    vm->long_mode = true;
    irq_init(vm);
    nestor_vcpu_state_t *s = vm->state;
    *s = vm->reset_state;
    s->rip = info.entry;
    s->rsp = LM_STACK_TOP;
    s->rflags = X86_RFLAGS_FIXED;
    s->cr0 = LM_CR0;
    s->cr3 = LM_PML4_GPA;
    s->cr4 = LM_CR4;
    s->efer = LM_EFER;
    nestor_vcpu_seg_t *segs = &s->es;                    /* es cs ss ds fs gs */
    for (unsigned i = 0; i < 6; i++)
        segs[i] = (nestor_vcpu_seg_t){ .sel = i == 1 ? LM_SEL_CODE : LM_SEL_DATA,
                                       .limit = LM_FLAT_LIMIT,
                                       .ar = i == 1 ? LM_AR_CODE : LM_AR_DATA };
    s->ldtr = (nestor_vcpu_seg_t){ .ar = X86_AR_UNUSABLE };
    s->tr = (nestor_vcpu_seg_t){ .limit = LM_TSS_LIMIT, .ar = LM_AR_TSS };
    s->gdtr_base = LM_GDT_GPA;
    s->gdtr_limit = sizeof(lm_gdt) - 1;
    if (!load_state_groups(vm, mask | NESTOR_MTD_GPRS | NESTOR_MTD_RSP | NESTOR_MTD_RIP |
                                   NESTOR_MTD_RFLAGS | NESTOR_MTD_CR | NESTOR_MTD_SEGS |
                                   NESTOR_MTD_SYS_SEGS))
        return false;
    vm->status = VM_CREATED;
    return true;
}

/* The ACPI tables of a Linux VM (boot/acpi_tables.h) in the BIOS area of
 * its RAM, and their address in its zero page: its LAPIC and I/O APIC,
 * COM1 if it has the UART, its virtio windows (vm_layout.h) with their
 * lines. Written when the image is loaded and again when the VM starts,
 * once its virtio devices are attached. */
static bool vm_write_acpi(vm_t *vm)
{
    acpi_platform_t p = {
        .lapic_base = LAPIC_BASE_GPA, .ioapic_base = IOAPIC_BASE_GPA, .lapic_id = 0,
        .ioapic_id = VM_IOAPIC_ID, .pit_irq = 0, .pit_gsi = IOAPIC_PIN_PIT,
        .lapic_nmi_lint = LAPIC_LVT_LINT1 - LAPIC_LVT_LINT0, .sci_irq = ACPI_SCI_IRQ,
        .pm1a_evt_port = ACPI_PM1A_EVT_PORT, .pm1a_cnt_port = ACPI_PM1A_CNT_PORT,
        .pm1_evt_len = ACPI_PM1_EVT_LEN, .pm1_cnt_len = ACPI_PM1_CNT_LEN,
        .kbc = true,                    /* the 8042 is always there (exits.c) */
        .com1 = vm->devices & SC_DEV_UART, .com1_port = UART_COM1_BASE,
        .com1_irq = UART_COM1_IRQ, .reset_port = SYSCTL_PORT_RESET,
        .reset_value = SYSCTL_CF9_SYS_RST | SYSCTL_CF9_RST_CPU, .n_virtio = vm->n_virtio,
        /* The PCI host bridge (devices/pci.h): its memory window is what
         * lies between the top of RAM and the virtio windows. */
        .pci = true, .pci_cfg_port = PCI_CONFIG_ADDRESS_PORT,
        .pci_cfg_len = PCI_CONFIG_DATA_PORT + PCI_CONFIG_DATA_LEN - PCI_CONFIG_ADDRESS_PORT,
        .pci_mem_base = (uint32_t)(vm->ram_bytes + vm->paged_bytes),
        .pci_mem_limit = VM_VIRTIO_MMIO_BASE - 1,
    };
    for (unsigned i = 0; i < vm->n_virtio; i++) {
        p.virtio[i].base = (uint32_t)vm->virtio[i].base;
        p.virtio[i].size = VM_VIRTIO_MMIO_STRIDE;
        p.virtio[i].gsi = vm->virtio[i].irq;       /* ISA line n is I/O APIC pin n */
    }
    if (!acpi_build(vm->ram + ACPI_TABLES_GPA, ACPI_TABLES_MAX, ACPI_TABLES_GPA, &p)) {
        printf("vmm: %s: the ACPI tables do not fit\n", vm->name);
        return false;
    }
    lx_set_rsdp(vm->ram, ACPI_TABLES_GPA);
    return true;
}

/* A Linux bzImage (boot/linux_load.h): its one module, if any, is the
 * initrd; entered by the 32-bit boot protocol: protected mode, paging off,
 * CS = __BOOT_CS and DS = ES = SS = __BOOT_DS in the GDT the loader wrote,
 * IF clear, ESI = the zero page, EBP = EDI = EBX = 0. */
#define LX_AR_CODE 0xC09B                       /* G, D/B, present, code, read, accessed */
#define LX_AR_DATA 0xC093                       /* G, D/B, present, data, write, accessed */
static bool vm_create_linux(vm_t *vm, const uint8_t *image, uint64_t size,
                            const lx_layout_t *l, nestor_word_t mask)
{
    if (vm->n_mods > 1) {
        printf("vmm: %s: Linux image refused: %u modules given; its one module is the initrd\n",
               vm->name, vm->n_mods);
        return false;
    }
    lx_boot_t boot;
    const uint8_t *initrd = vm->n_mods ? vm->mods[0].data : NULL;
    uint64_t initrd_size = vm->n_mods ? vm->mods[0].size : 0;
    lx_status_t st = lx_load(image, size, l, vm->ram, vm->ram_bytes, vm->cmdline, initrd,
                             initrd_size, &boot);
    if (st != LX_OK) {
        printf("vmm: %s: Linux image refused: %s (protocol %u.%02u, %u KiB to decompress, "
               "initrd %lu KiB, %lu MiB of RAM)\n", vm->name, lx_status_str(st),
               l->version >> 8, l->version & 0xFF, l->init_size >> 10, initrd_size >> 10,
               vm->ram_bytes >> 20);
        return false;
    }
    vm->load_gpa = boot.entry;
    vm->linux_boot = true;
    if (!vm_write_acpi(vm))
        return false;
    irq_init(vm);
    nestor_vcpu_state_t *s = vm->state;
    *s = vm->reset_state;
    s->rip = boot.entry;
    s->rsi = boot.zero_page;
    s->rbp = s->rdi = s->rbx = 0;
    s->rflags = X86_RFLAGS_FIXED;
    nestor_vcpu_seg_t *segs = &s->es;                    /* es cs ss ds fs gs */
    for (unsigned i = 0; i < 6; i++)
        segs[i] = (nestor_vcpu_seg_t){ .sel = i == 1 ? LX_BOOT_CS : LX_BOOT_DS,
                                       .limit = LM_FLAT_LIMIT,
                                       .ar = i == 1 ? LX_AR_CODE : LX_AR_DATA };
    s->gdtr_base = boot.gdt;
    s->gdtr_limit = boot.gdt_limit;
    printf("vmm: %s: Linux bzImage, boot protocol %u.%02u, %u KiB at 0x%x, initrd %u KiB at "
           "0x%x, command line \"%s\"\n", vm->name, l->version >> 8, l->version & 0xFF,
           l->kernel_bytes >> 10, boot.entry, boot.initrd_size >> 10, boot.initrd_addr,
           vm->cmdline);
    if (!load_state_groups(vm, mask | NESTOR_MTD_GPRS | NESTOR_MTD_RSP | NESTOR_MTD_RIP |
                                   NESTOR_MTD_RFLAGS | NESTOR_MTD_SEGS | NESTOR_MTD_SYS_SEGS))
        return false;
    vm->status = VM_CREATED;
    return true;
}

/* Load the VM's image into its RAM and set the vCPU to its start state
 * (at creation and at each reset): the state groups @mask are loaded. */
static bool vm_load(vm_t *vm, nestor_word_t mask)
{
    const void *image = vm->image;
    uint64_t size = vm->image_size, load_gpa = vm->image_gpa;
    const uint8_t *b = image;
    bool elf = size >= 4 && b[0] == 0x7F && b[1] == 'E' && b[2] == 'L' && b[3] == 'F';
    vm->real_mode = !elf && size == BOOT_SECTOR_SIZE && b[510] == 0x55 && b[511] == 0xAA;
    uint64_t entry = 0, info = 0;
    uint32_t magic = MB_LOADER_MAGIC;
    if (vm->linux_kernel || (!vm->real_mode && !elf)) {
        lx_layout_t lx;
        lx_status_t st = lx_parse(b, size, &lx);
        if (st == LX_OK)
            return vm_create_linux(vm, b, size, &lx, mask);
        /* Its config said 'kernel': nothing but Linux will do. */
        if (st != LX_NOT_LINUX || vm->linux_kernel) {
            printf("vmm: %s: Linux image refused: %s\n", vm->name, lx_status_str(st));
            return false;
        }
    }
    int mb = vm->real_mode ? 0 : multiboot_load(vm, b, size, &entry, &info, &magic);
    if (mb < 0)
        return false;
    /* An ELF64 image with no Multiboot header boots in 64-bit mode. */
    if (elf && mb == 0)
        return vm_create_elf64(vm, image, size, mask);
    vm->multiboot = mb > 0;
    if (!vm->multiboot && vm->n_mods) {
        printf("vmm: %s: modules given, but the image is not a Multiboot kernel\n", vm->name);
        return false;
    }
    if (!vm->multiboot) {
        if (vm->real_mode)
            load_gpa = BOOT_SECTOR_GPA;
        vm->load_gpa = entry = load_gpa;
        memcpy(vm->ram + load_gpa, image, size);
    }
    irq_init(vm);
    /* Start as a Multiboot loader leaves a kernel (Multiboot 3.2, Multiboot2
     * 3.3 "I386 machine state", the same for both): the VCPU's initial state
     * (nestor/vcpu.h) is 32-bit protected mode with CR0.PE set and PG clear,
     * CS a flat 32-bit execute/read code segment and DS, ES, FS, GS, SS flat
     * 32-bit read/write data segments (base 0, limit 0xFFFFFFFF; SDM Vol. 3A
     * 3.4.5), EFLAGS with IF and VM clear (only the fixed bit 1), A20 on (guest
     * RAM never wraps at 1 MiB; devices/sysctl.h); EAX = the loader magic,
     * EBX = the boot information. Or a boot sector as a BIOS leaves it. */
    *vm->state = vm->reset_state;
    vm->state->rip = entry;
    vm->state->rflags = X86_RFLAGS_FIXED;
    if (!vm->real_mode) {
        /* A flat image gets the boot information a Multiboot kernel would. */
        if (!vm->multiboot) {
            mb_boot_t boot;
            uint64_t end = vm->load_gpa + size;
            if (mb_build_info(vm->ram, vm->ram_bytes, end, vm->cmdline, NULL, 0, &boot) != MB_OK) {
                printf("vmm: %s: no room for the boot information above the image\n", vm->name);
                return false;
            }
            info = boot.info_addr;
        }
        vm->state->rax = magic;
        vm->state->rbx = info;
    }
    mask |= NESTOR_MTD_GPRS | NESTOR_MTD_RSP | NESTOR_MTD_RIP | NESTOR_MTD_RFLAGS;
    if (vm->real_mode) {
        vm->state->rsp = BOOT_SECTOR_GPA;
        vm->state->cr0 = REAL_CR0;
        nestor_vcpu_seg_t *segs = &vm->state->es;          /* es cs ss ds fs gs */
        for (unsigned i = 0; i < 6; i++)
            segs[i] = (nestor_vcpu_seg_t){ .sel = 0, .base = 0, .limit = REAL_LIMIT,
                                           .ar = i == 1 ? REAL_AR_CODE : REAL_AR_DATA };
        mask |= NESTOR_MTD_CR | NESTOR_MTD_SEGS;
    }
    if (!load_state_groups(vm, mask))
        return false;
    vm->status = VM_CREATED;
    return true;
}

bool vm_create(vm_t *vm, nu_alloc_t *a, nestor_cptr_t exit_ep, const void *image, uint64_t size,
               uint64_t load_gpa)
{
    if (load_gpa > vm->ram_bytes || size > vm->ram_bytes - load_gpa) {
        printf("vmm: %s: image of %lu bytes does not fit in %lu MiB of RAM\n", vm->name, size,
               vm->ram_bytes >> 20);
        return false;
    }
    if (!make_ram(vm, a) || !make_vcpu(vm, a) || !make_exit_table(vm, a, exit_ep)) {
        printf("vmm: %s: cannot create the VM (out of memory or slots?)\n", vm->name);
        return false;
    }
    msr_enable_rdtscp(vm);
    irq_enable_virtual_nmis(vm);
    vm->image = image;
    vm->image_size = size;
    vm->image_gpa = load_gpa;
    /* The fresh VCPU's whole state (nestor/vcpu.h: 32-bit flat, paging
     * off), kept as the base of every (re)start. */
    const nestor_word_t all = VM_RESET_GROUPS;
    memset(vm->state, 0, sizeof(*vm->state));
    if (nu_invoke(vm->vcpu, NESTOR_VCPU_STORE_STATE, &all, 1, 0, 0, 0, 0) != NESTOR_OK) {
        printf("vmm: %s: cannot read the new VCPU's state\n", vm->name);
        return false;
    }
    vm->reset_state = *vm->state;
    return vm_load(vm, 0);
}

/*
 * A system reset (port 92h, CF9h, the 8042's pulse, devices/sysctl.h): the
 * VM restarts as it was created, with no firmware in between. RAM is
 * cleared and the image loaded again, the same way (a Multiboot kernel is
 * entered at its entry with fresh boot information, a boot sector at
 * 0000:7C00, an ELF64 image in 64-bit mode); the devices return to their
 * power-up state (PIC, PIT, LAPIC, UART scratch, system-control ports) and
 * so do the vCPU's registers, MSRs and XCR0 (every state group but
 * injection). What a PC keeps across a reset is kept: the RTC and its CMOS
 * RAM (battery-backed, MC146818A) and the TSC, which counts on (with its
 * IA32_TSC_ADJUST).
 */
bool vm_reset(vm_t *vm)
{
    uart_flush(vm);
    rtc_t rtc = vm->rtc;
    uint64_t tsc_offset = vm->tsc_offset, tsc_adjust = vm->tsc_adjust;
    memset(vm->ram, 0, vm->ram_bytes);
    bool ok = vm_load(vm, VM_RESET_GROUPS);     /* devices too (irq_init) */
    vm->rtc = rtc;
    vm->tsc_offset = tsc_offset;
    vm->tsc_adjust = tsc_adjust;
    vm->cr8 = 0;
    vm->shutdown_pos = 0;
    vm->halted = false;
    vm->irq_quiet = false;      /* the LAPIC's pending NMI went with irq_init; a window
                                   exiting control left on only costs one exit */
    vm->status = VM_RUNNING;
    /* Its virtio devices are reset as their drivers reset them (Virtio 1.2
     * 4.2.2: writing 0 to Status), through their servers. */
    for (unsigned n = 0; n < vm->n_virtio; n++)
        vfwd_write(&vm->virtio[n], vm->virtio[n].base + VIRTIO_MMIO_STATUS, VIRTIO_MMIO_REG_SIZE,
                   0);
    return ok;
}

bool vm_start(vm_t *vm)
{
    if (vm->linux_boot && !vm_write_acpi(vm))
        return false;
    if (nu_tcb_resume(vm->tcb) != NESTOR_OK)
        return false;
    vm->status = VM_RUNNING;
    vm->started_ns = vm_now_ns();
    return true;
}
