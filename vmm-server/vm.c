/*
 * vmm-server/vm.c - building a VM: RAM through EPT (2 MiB frames, also
 * mapped in the VMM to load images and read guest memory), the VCPU with its
 * vCPU thread, state page and exit table.
 */
#include "vmm.h"
#include <string.h>
#include <user/print.h>

#define VMM_RAM_WINDOW   0x0000400000000000ULL   /* + (index << 32) */
#define VMM_STATE_WINDOW 0x0000500000000000ULL   /* + (index << 12) */
#define VCPU_PRIO        100                     /* below the VMM: exits are served at once */
#define EPT_RWX          7
#define EPT_LEVELS       2                       /* PDPT and PD above a 2 MiB frame */
#define GUEST_RFLAGS     0x2
/* A boot sector: 512 bytes ending in 0x55 0xAA, started as a BIOS would, in
 * real mode at 0000:7C00 (an unrestricted guest, SDM Vol. 3C 25.6). */
#define BOOT_SECTOR_SIZE 512
#define BOOT_SECTOR_GPA  0x7C00
#define REAL_CR0         0x10                   /* ET; PE and PG clear */
#define REAL_LIMIT       0xFFFF
#define REAL_AR_CODE     0x9B                   /* present, DPL 0, code, read, accessed */
#define REAL_AR_DATA     0x93                   /* present, DPL 0, data, write, accessed */
/* What the kernel writes to the state page at each exit. */
#define EXIT_MASK_DEFAULT (NESTOR_MTD_GPRS | NESTOR_MTD_RSP | NESTOR_MTD_RIP | NESTOR_MTD_RFLAGS)
#define EXIT_MASK_FULL    NESTOR_MTD_ALL

/* Map a 2 MiB frame into the EPT, adding the EPT PDPT and PD it needs. */
static nestor_error_t ept_map(nu_alloc_t *a, nestor_cptr_t ept, uint64_t gpa, nestor_cptr_t frame)
{
    static const nestor_word_t tables[EPT_LEVELS] = { NESTOR_OBJ_EPT_PDPT, NESTOR_OBJ_EPT_PD };
    static const unsigned shifts[EPT_LEVELS] = { 39, 30 };
    const nestor_word_t args[] = { gpa, EPT_RWX };
    nestor_error_t e = nu_invoke(frame, NESTOR_EPT_MAP_FRAME, args, 2, &ept, 1, 0, 0);
    for (int level = 0; e == NESTOR_ERR_FAILED_LOOKUP && level < EPT_LEVELS; level++) {
        nestor_cptr_t t = nu_alloc_obj(a, tables[level], 0);
        if (!t)
            return NESTOR_ERR_NOT_ENOUGH_MEMORY;
        nestor_error_t te = nu_page_table_map(t, ept, gpa & ~((1ULL << shifts[level]) - 1));
        if (te != NESTOR_OK && te != NESTOR_ERR_DELETE_FIRST)
            return te;
        e = nu_invoke(frame, NESTOR_EPT_MAP_FRAME, args, 2, &ept, 1, 0, 0);
    }
    return e;
}

static bool make_ram(vm_t *vm, nu_alloc_t *a)
{
    vm->ept = nu_alloc_obj(a, NESTOR_OBJ_EPT_PML4, 0);
    uint64_t window = VMM_RAM_WINDOW + ((uint64_t)vm->index << 32);
    for (uint64_t gpa = 0; vm->ept && gpa < vm->ram_bytes; gpa += 1ULL << VMM_RAM_FRAME_BITS) {
        nestor_cptr_t f = nu_alloc_obj(a, NESTOR_OBJ_FRAME_2M, 0), mine = a->next_slot++;
        /* One capability maps once: the guest's and the VMM's are two. */
        if (!f || nu_cnode_copy(a->cnode, mine, 64, a->cnode, f, 64, NESTOR_RIGHTS_ALL) ||
            ept_map(a, vm->ept, gpa, f) != NESTOR_OK ||
            nu_map_frame(a, NESTOR_CAP_INIT_VSPACE, window + gpa, mine,
                         NESTOR_RIGHT_READ | NESTOR_RIGHT_WRITE) != NESTOR_OK)
            return false;
    }
    vm->ram = (uint8_t *)(uintptr_t)window;
    return vm->ept != 0;
}

static bool make_exit_table(vm_t *vm, nu_alloc_t *a, nestor_cptr_t exit_ep)
{
    vm->exit_table = nu_alloc_obj(a, NESTOR_OBJ_CNODE, NESTOR_EXIT_TABLE_RADIX);
    if (!vm->exit_table)
        return false;
    /* Every slot: our endpoint, badged with the VM so exits say whose they are. */
    for (unsigned slot = 0; slot < (1u << NESTOR_EXIT_TABLE_RADIX); slot++) {
        if (nu_cnode_mint(vm->exit_table, slot, NESTOR_EXIT_TABLE_RADIX, a->cnode, exit_ep, 64,
                          NESTOR_RIGHTS_ALL, vm->index + 1) != NESTOR_OK)
            return false;
        nestor_word_t mask = (slot == NESTOR_EXIT_EPT_VIOLATION || slot >= NESTOR_EXIT_SLOT_ENTRY_FAIL)
                                 ? EXIT_MASK_FULL : EXIT_MASK_DEFAULT;
        const nestor_word_t args[] = { slot, mask };
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
    nestor_cptr_t st = a->next_slot++;
    return nu_cnode_copy(a->cnode, st, 64, a->cnode, state, 64, NESTOR_RIGHTS_ALL) == NESTOR_OK &&
           nu_tcb_set_priority(vm->tcb, VCPU_PRIO) == NESTOR_OK &&
           nu_invoke(vm->vcpu, NESTOR_VCPU_SET_TCB, 0, 0, &vm->tcb, 1, 0, 0) == NESTOR_OK &&
           nu_invoke(vm->vcpu, NESTOR_VCPU_SET_EPT, 0, 0, &vm->ept, 1, 0, 0) == NESTOR_OK &&
           nu_invoke(vm->vcpu, NESTOR_VCPU_SET_STATE_PAGE, 0, 0, &st, 1, 0, 0) == NESTOR_OK;
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
    const uint8_t *b = image;
    vm->real_mode = size == BOOT_SECTOR_SIZE && b[510] == 0x55 && b[511] == 0xAA;
    if (vm->real_mode)
        load_gpa = BOOT_SECTOR_GPA;
    vm->load_gpa = load_gpa;
    memcpy(vm->ram + load_gpa, image, size);
    irq_init(vm);
    /* Start as a Multiboot loader leaves a kernel: 32-bit flat, at the image
     * (the VCPU's initial state); or a boot sector as a BIOS leaves it. */
    memset(vm->state, 0, sizeof(*vm->state));
    vm->state->rip = load_gpa;
    vm->state->rflags = GUEST_RFLAGS;
    nestor_word_t mask = NESTOR_MTD_GPRS | NESTOR_MTD_RSP | NESTOR_MTD_RIP | NESTOR_MTD_RFLAGS;
    if (vm->real_mode) {
        vm->state->rsp = BOOT_SECTOR_GPA;
        vm->state->cr0 = REAL_CR0;
        nestor_vcpu_seg_t *segs = &vm->state->es;          /* es cs ss ds fs gs */
        for (unsigned i = 0; i < 6; i++)
            segs[i] = (nestor_vcpu_seg_t){ .sel = 0, .base = 0, .limit = REAL_LIMIT,
                                           .ar = i == 1 ? REAL_AR_CODE : REAL_AR_DATA };
        mask |= NESTOR_MTD_CR | NESTOR_MTD_SEGS;
    }
    if (nu_invoke(vm->vcpu, NESTOR_VCPU_LOAD_STATE, &mask, 1, 0, 0, 0, 0) != NESTOR_OK)
        return false;
    vm->status = VM_CREATED;
    return true;
}

bool vm_start(vm_t *vm)
{
    if (nu_tcb_resume(vm->tcb) != NESTOR_OK)
        return false;
    vm->status = VM_RUNNING;
    vm->started_ns = vm_now_ns();
    return true;
}
