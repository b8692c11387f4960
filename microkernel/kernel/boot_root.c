/*
 * kernel/boot_root.c - build the root task and hand all free memory to it.
 *
 * Memory for the root task's own objects (CNode, TCB, PML4, page tables, its
 * image, stack, boot info and IPC buffer) comes from a boot allocator over the
 * free regions of the memory map; whatever is left becomes untyped
 * capabilities. After this the kernel allocates nothing.
 */
#include "kernel/boot_root.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/vm_boot.h"
#include "arch/x86_64/vmx.h"
#include "kernel/boot_mem.h"
#include "kernel/cnode_ops.h"
#include "kernel/console.h"
#include "kernel/objects.h"
#include "kernel/panic.h"
#include "kernel/sched.h"
#include "kernel/vspace.h"
#include <elf64.h>
#include <nestor/bootinfo.h>
#include <nestor/limits.h>
#include <string.h>

#define MAX_REGIONS 64
#define LOW_MEMORY_END 0x100000ULL      /* BIOS data, real-mode IVT, VGA, ROMs */
#define PAGE_MASK (PAGE_SIZE - 1ULL)
#define ROOT_UNTYPED_MIN_BITS 12

typedef struct {
    uint64_t start, end;
} range_t;

static range_t free_ranges[MAX_REGIONS];
static size_t n_free;

extern char kernel_phys_start[], kernel_end[];

/* ---- the boot allocator ---- */

static void add_free(uint64_t start, uint64_t end)
{
    if (start < end && n_free < MAX_REGIONS)
        free_ranges[n_free++] = (range_t){ start, end };
}

static void reserve(uint64_t start, uint64_t end)
{
    start &= ~PAGE_MASK;
    end = (end + PAGE_MASK) & ~PAGE_MASK;
    for (size_t i = 0; i < n_free; i++) {
        range_t r = free_ranges[i];
        if (end <= r.start || start >= r.end)
            continue;
        free_ranges[i] = free_ranges[--n_free];
        add_free(r.start, start < r.start ? r.start : start);
        add_free(end > r.end ? r.end : end, r.end);
        i = (size_t)-1;     /* the list changed: rescan */
    }
}

static uint64_t alloc_phys(unsigned bits)
{
    uint64_t size = 1ULL << bits;
    for (size_t i = 0; i < n_free; i++) {
        uint64_t a = (free_ranges[i].start + size - 1) & ~(size - 1);
        if (a + size <= free_ranges[i].end) {
            reserve(a, a + size);
            memset(phys_to_virt(a), 0, size);
            return a;
        }
    }
    return 0;
}

static uint64_t alloc_table(void)
{
    uint64_t pa = alloc_phys(NESTOR_PAGE_TABLE_BITS);
    if (!pa)
        kpanic("boot: out of memory while building the root task (machine too small)");
    return pa;
}

/* ---- root task pieces ---- */

typedef struct {
    cte_t *cnode;
    uint64_t *pml4;
    tcb_t *tcb;
    nestor_bootinfo_t *bi;
    cap_t pml4_cap;
} root_t;

static void map_page(root_t *r, uint64_t va, uint64_t pa, bool writable)
{
    vspace_boot_map(r->pml4, va, pa, writable, alloc_table);
}

static bool load_elf(root_t *r, const void *image, size_t size, uint64_t *entry)
{
    static elf_info_t info;
    elf_status_t st = elf_parse(image, size, NESTOR_USER_TOP, &info);
    if (st != ELF_OK) {
        kprintf("boot: root task image rejected: %s\n", elf_status_str(st));
        return false;
    }
    for (size_t i = 0; i < info.nseg; i++) {
        const elf_segment_t *s = &info.seg[i];
        for (uint64_t va = s->vaddr & ~PAGE_MASK; va < s->vaddr + s->memsz; va += PAGE_SIZE) {
            uint64_t pa = alloc_table();
            uint8_t *dst = phys_to_virt(pa);
            /* Copy the part of [va, va+4K) that lies in the file image. */
            for (uint64_t b = 0; b < PAGE_SIZE; b++) {
                uint64_t v = va + b;
                if (v >= s->vaddr && v < s->vaddr + s->filesz)
                    dst[b] = ((const uint8_t *)image)[s->offset + (v - s->vaddr)];
            }
            map_page(r, va, pa, s->flags & PF_W);
        }
    }
    *entry = info.entry;
    return true;
}

static cte_t *slot(root_t *r, unsigned i) { return &r->cnode[i]; }

static void put_frame_cap(root_t *r, unsigned i, uint64_t pa, uint64_t va)
{
    cdt_insert_root(slot(r, i), (cap_t){ .type = NESTOR_OBJ_FRAME_4K,
                                         .rights = NESTOR_RIGHTS_ALL,
                                         .size_bits = NESTOR_FRAME_4K_BITS,
                                         .obj = kobj_from_paddr(pa), .word1 = va,
                                         .word2 = vspace_map_record(&r->pml4_cap) });
}

static void map_modules(root_t *r, const mb2_boot_t *boot)
{
    uint64_t va = NESTOR_ROOT_MODULES_VADDR;
    for (size_t i = 0; i < boot->module_count && i < NESTOR_BOOTINFO_MAX_MODULES; i++) {
        const mb2_module_t *m = &boot->modules[i];
        nestor_module_desc_t *d = &r->bi->modules[r->bi->module_count++];
        d->vaddr = va + (m->start & PAGE_MASK);
        d->size = m->end - m->start;
        strncpy(d->name, m->cmdline, sizeof(d->name) - 1);
        for (uint64_t pa = m->start & ~PAGE_MASK; pa < m->end; pa += PAGE_SIZE, va += PAGE_SIZE)
            map_page(r, va, pa, false);
        va += PAGE_SIZE;    /* a guard page between modules */
    }
}

static void give_untyped(root_t *r)
{
    nestor_bootinfo_t *bi = r->bi;
    unsigned next = NESTOR_CAP_FIRST_FREE_FIXED, n = 0;
    bi->untyped.start = next;
    for (size_t i = 0; i < n_free; i++) {
        mem_block_t blocks[64];
        size_t cnt = boot_mem_split(free_ranges[i].start, free_ranges[i].end,
                                    ROOT_UNTYPED_MIN_BITS, NESTOR_UNTYPED_MAX_BITS, blocks, 64);
        for (size_t b = 0; b < cnt && b < 64 && n < NESTOR_BOOTINFO_MAX_UNTYPED; b++, n++) {
            bi->untyped_list[n] = (nestor_untyped_desc_t){ blocks[b].base,
                                                           (uint8_t)blocks[b].size_bits, 0, {0} };
            cdt_insert_root(slot(r, next++), (cap_t){ .type = NESTOR_OBJ_UNTYPED,
                                                      .rights = NESTOR_RIGHTS_ALL,
                                                      .size_bits = (uint8_t)blocks[b].size_bits,
                                                      .obj = kobj_from_paddr(blocks[b].base) });
        }
    }
    bi->untyped.end = next;
    bi->empty.start = next;
    bi->empty.end = 1u << NESTOR_ROOT_CNODE_RADIX;
}

static const mb2_module_t *find_root_module(const mb2_boot_t *boot)
{
    size_t tag = strlen(ROOT_TASK_MODULE_TAG);
    for (size_t i = 0; i < boot->module_count; i++) {
        const char *c = boot->modules[i].cmdline;
        if (strncmp(c, ROOT_TASK_MODULE_TAG, tag) == 0 && (c[tag] == ' ' || !c[tag]))
            return &boot->modules[i];
    }
    return 0;
}

static void init_free_memory(const mb2_boot_t *boot, uint64_t mbi_phys, uint32_t mbi_size)
{
    for (size_t i = 0; i < boot->mmap_count; i++) {
        const mb2_mmap_entry_t *m = &boot->mmap[i];
        if (m->type != MB2_MEM_AVAILABLE)
            continue;
        uint64_t s = (m->base + PAGE_MASK) & ~PAGE_MASK, e = (m->base + m->length) & ~PAGE_MASK;
        if (s < LOW_MEMORY_END)
            s = LOW_MEMORY_END;
        if (e > PHYSMAP_BOOT_LIMIT)
            e = PHYSMAP_BOOT_LIMIT;     /* only memory the kernel can reach */
        add_free(s, e);
    }
    reserve((uint64_t)(uintptr_t)kernel_phys_start, (uint64_t)(uintptr_t)kernel_end - KERNEL_VMA);
    reserve(mbi_phys, mbi_phys + mbi_size);
    for (size_t i = 0; i < boot->module_count; i++)
        reserve(boot->modules[i].start, boot->modules[i].end);
}

static void make_root_objects(root_t *r)
{
    unsigned cnode_bits = NESTOR_ROOT_CNODE_RADIX + NESTOR_CNODE_SLOT_BITS;
    r->cnode = phys_to_virt(alloc_phys(cnode_bits));
    r->tcb = phys_to_virt(alloc_table());
    r->pml4 = phys_to_virt(alloc_table());
    r->pml4_cap = (cap_t){ .type = NESTOR_OBJ_PML4, .rights = NESTOR_RIGHTS_ALL,
                           .obj = kobj_addr(r->pml4) };
    vspace_init_pml4(&r->pml4_cap);
    /* Guard: a cptr is just the slot index (the guard eats the top bits). */
    cap_t cn = { .type = NESTOR_OBJ_CNODE, .rights = NESTOR_RIGHTS_ALL,
                 .size_bits = NESTOR_ROOT_CNODE_RADIX,
                 .guard_bits = NESTOR_WORD_BITS - NESTOR_ROOT_CNODE_RADIX,
                 .obj = kobj_addr(r->cnode) };
    cdt_insert_root(slot(r, NESTOR_CAP_INIT_CNODE), cn);
    cdt_insert_root(slot(r, NESTOR_CAP_INIT_VSPACE), r->pml4_cap);
    cdt_insert_root(slot(r, NESTOR_CAP_INIT_TCB), (cap_t){ .type = NESTOR_OBJ_TCB,
                                                           .rights = NESTOR_RIGHTS_ALL,
                                                           .obj = kobj_addr(r->tcb) });
    cdt_insert_root(slot(r, NESTOR_CAP_IRQ_CONTROL),
                    (cap_t){ .type = NESTOR_OBJ_IRQ_CONTROL, .rights = NESTOR_RIGHTS_ALL });
    cdt_insert_root(slot(r, NESTOR_CAP_IOPORT_CONTROL),
                    (cap_t){ .type = NESTOR_OBJ_IOPORT_CONTROL, .rights = NESTOR_RIGHTS_ALL });
    cdt_insert_root(slot(r, NESTOR_CAP_DEBUG),
                    (cap_t){ .type = NESTOR_OBJ_DEBUG_CONTROL, .rights = NESTOR_RIGHTS_ALL });
}

bool boot_root_task(const mb2_boot_t *boot, uint64_t mbi_phys, uint32_t mbi_size,
                    const char *cmdline, bool vmx_present)
{
    const mb2_module_t *mod = find_root_module(boot);
    if (!mod) {
        kprintf("boot: no \"%s\" module: no root task to start\n", ROOT_TASK_MODULE_TAG);
        return false;
    }
    init_free_memory(boot, mbi_phys, mbi_size);
    static root_t r;
    make_root_objects(&r);

    uint64_t entry;
    if (!load_elf(&r, phys_to_virt(mod->start), mod->end - mod->start, &entry))
        return false;
    uint64_t bi_pa = alloc_table(), buf_pa = alloc_table();
    r.bi = phys_to_virt(bi_pa);
    map_page(&r, NESTOR_ROOT_BOOTINFO_VADDR, bi_pa, false);
    map_page(&r, NESTOR_ROOT_IPC_BUFFER_VADDR, buf_pa, true);
    put_frame_cap(&r, NESTOR_CAP_BOOTINFO_FRAME, bi_pa, NESTOR_ROOT_BOOTINFO_VADDR);
    put_frame_cap(&r, NESTOR_CAP_INIT_IPC_BUFFER, buf_pa, NESTOR_ROOT_IPC_BUFFER_VADDR);
    for (unsigned i = 1; i <= NESTOR_ROOT_STACK_PAGES; i++)
        map_page(&r, NESTOR_ROOT_STACK_TOP - i * PAGE_SIZE, alloc_table(), true);
    map_modules(&r, boot);

    nestor_bootinfo_t *bi = r.bi;
    bi->magic = NESTOR_BOOTINFO_MAGIC;
    bi->ipc_buffer = NESTOR_ROOT_IPC_BUFFER_VADDR;
    bi->tsc_per_tick = lapic_tsc_per_tick();
    bi->timer_hz = lapic_timer_hz();
    bi->vmx_present = vmx_present;
    bi->vmx_timer_rate = vmx_present ? vmx_raw_caps()->misc & VMX_MISC_PREEMPT_RATE_MASK : 0;
    strncpy(bi->cmdline, cmdline ? cmdline : "", sizeof(bi->cmdline) - 1);

    tcb_t *t = r.tcb;
    tcb_init_object(t, 0);
    cnode_derive_into(slot(&r, NESTOR_CAP_INIT_CNODE), &t->ctes[TCB_CTE_CSPACE], NESTOR_RIGHTS_ALL);
    cnode_derive_into(slot(&r, NESTOR_CAP_INIT_VSPACE), &t->ctes[TCB_CTE_VSPACE], NESTOR_RIGHTS_ALL);
    cnode_derive_into(slot(&r, NESTOR_CAP_INIT_IPC_BUFFER), &t->ctes[TCB_CTE_IPC_BUFFER],
                      NESTOR_RIGHTS_ALL);
    t->ipc_buffer_vaddr = NESTOR_ROOT_IPC_BUFFER_VADDR;
    t->frame.rip = entry;
    t->frame.rsp = NESTOR_ROOT_STACK_TOP;
    t->frame.rdi = NESTOR_ROOT_BOOTINFO_VADDR;
    t->priority = NESTOR_PRIORITY_MAX;

    give_untyped(&r);
    uint64_t total = 0;
    for (unsigned i = 0; i < bi->untyped.end - bi->untyped.start; i++)
        total += 1ULL << bi->untyped_list[i].size_bits;
    kprintf("boot: root task \"%s\": entry 0x%lx, %lu untyped caps (%lu KiB), "
            "first free slot %lu\n", mod->cmdline, entry, bi->untyped.end - bi->untyped.start,
            total / 1024, bi->empty.start);
    sched_make_ready(t);
    return true;
}
