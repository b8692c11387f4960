/*
 * tests/kernel/test_guestmem.c - guest memory at 4 KiB (issue 9): slices of
 * 2 MiB frames (NESTOR_FRAME_SLICE) and alias slices of frames mapped whole
 * (NESTOR_FRAME_SLICE_ALIAS, issue 10), EPT accessed/dirty flags
 * (NESTOR_EPT_READ_AD) and MMIO ranges that exit as EPT misconfigurations
 * (NESTOR_EPT_SET_MMIO). The guests run under VT-x (Bochs); without VMX
 * (QEMU TCG) those tests skip, the slice tests run everywhere.
 */
#include "vm_env.h"
#include <x86_vmx.h>
#include <string.h>

#define RW            (NESTOR_RIGHT_READ | NESTOR_RIGHT_WRITE)
#define GM_REGION     0x0000300000000000ULL  /* a PML4 slot nothing else uses */
#define GM_BIG_VA     (GM_REGION + (2ULL << 20))  /* PD entry 1: a whole 2 MiB frame */
#define PAGE          4096ULL
#define PRIO          100
#define EPT_RWX       (NESTOR_EPT_R | NESTOR_EPT_W | NESTOR_EPT_X)

/* NESTOR_FRAME_SLICE or NESTOR_FRAME_SLICE_ALIAS (@label) into @dest. */
static nestor_error_t slice_as(nestor_word_t label, nestor_cptr_t frame, nestor_word_t index,
                               nestor_cptr_t dest, nestor_word_t *res)
{
    const nestor_word_t args[] = { index, dest, ROOT_DEPTH };
    nestor_cptr_t root = ROOT_CNODE;
    return nu_invoke(frame, label, args, 3, &root, 1, res, res ? 2 : 0);
}

static nestor_error_t slice(nestor_cptr_t frame, nestor_word_t index, nestor_cptr_t dest,
                            nestor_word_t *res)
{
    return slice_as(NESTOR_FRAME_SLICE, frame, index, dest, res);
}

static nestor_error_t ept_map_type(nestor_cptr_t frame, nestor_cptr_t ept, nestor_word_t gpa,
                                   nestor_word_t rights, nestor_word_t memtype,
                                   nestor_word_t *res)
{
    const nestor_word_t args[] = { gpa, rights, memtype };
    return nu_invoke(frame, NESTOR_EPT_MAP_FRAME, args, 3, &ept, 1, res, res ? 2 : 0);
}

static nestor_error_t ept_map(nestor_cptr_t frame, nestor_cptr_t ept, nestor_word_t gpa,
                              nestor_word_t rights)
{
    return ept_map_type(frame, ept, gpa, rights, NESTOR_EPT_MEMTYPE_WB, 0);
}

static nestor_error_t read_ad(nestor_cptr_t ept, nestor_word_t gpa, nestor_word_t flags,
                              nestor_word_t *res)
{
    const nestor_word_t args[] = { gpa, flags };
    return nu_invoke(ept, NESTOR_EPT_READ_AD, args, 2, 0, 0, res, 2);
}

static nestor_error_t set_mmio(nestor_cptr_t ept, nestor_word_t gpa, nestor_word_t pages,
                               nestor_word_t op, nestor_word_t *res)
{
    const nestor_word_t args[] = { gpa, pages, op };
    return nu_invoke(ept, NESTOR_EPT_SET_MMIO, args, 3, 0, 0, res, res ? 2 : 0);
}

/* Page tables for GM_REGION: a PT for 4 KiB pages at GM_REGION, and room
 * for a 2 MiB frame at GM_BIG_VA. */
static nestor_error_t region_tables(void)
{
    nestor_error_t e = nu_page_table_map(env_obj(NESTOR_OBJ_PDPT, 0), ROOT_VSPACE, GM_REGION);
    if (!e)
        e = nu_page_table_map(env_obj(NESTOR_OBJ_PD, 0), ROOT_VSPACE, GM_REGION);
    if (!e)
        e = nu_page_table_map(env_obj(NESTOR_OBJ_PT, 0), ROOT_VSPACE, GM_REGION);
    return e;
}

/* Write @value into 4 KiB slice @index of @big through a whole mapping. */
static nestor_error_t fill_slice(nestor_cptr_t big, unsigned index, nestor_word_t value)
{
    nestor_error_t e = nu_frame_map(big, ROOT_VSPACE, GM_BIG_VA, RW, 0);
    if (e)
        return e;
    *(volatile nestor_word_t *)(GM_BIG_VA + index * PAGE) = value;
    return nu_frame_unmap(big);
}

static void reader(nestor_word_t addr)
{
    env_shared[1] = *(volatile nestor_word_t *)addr;
    env_shared[0] = 2;
}

/* Does reading @addr fault (nothing mapped there)? */
static int read_faults(nestor_word_t addr)
{
    nestor_cptr_t ep = env_obj(NESTOR_OBJ_ENDPOINT, 0);
    env_shared[0] = 0;
    env_thread(reader, addr, PRIO, ep);
    nu_msg_t m = { 0 };
    if (nu_recv(ep, &m) != NESTOR_OK)
        return 0;
    return nestor_msginfo_label(m.info) == NESTOR_FAULT_VM && env_shared[0] == 0;
}

/* Every way to get a slice wrong is refused, and a frame is used whole or
 * in slices, never both: a slice of a mapped frame (through any of its
 * capabilities) and a whole mapping of a sliced frame would alias one page
 * under two mappings, perhaps of two memory types. */
KTEST(guestmem_slice_refusals)
{
    KT_OK(region_tables());
    nestor_cptr_t big = env_obj(NESTOR_OBJ_FRAME_2M, 0), small = env_obj(NESTOR_OBJ_FRAME_4K, 0);
    nestor_cptr_t copy = env_slot(), s = env_slot();
    nestor_word_t res[2];
    KT_EQ(slice(small, 0, s, 0), NESTOR_ERR_ILLEGAL_OPERATION);      /* no slice of a slice */
    KT_EQ(slice(big, 512, s, res), NESTOR_ERR_RANGE);
    KT_EQ(res[1], 511);
    KT_EQ(slice(big, 0, small, res), NESTOR_ERR_DELETE_FIRST);        /* slot in use */
    KT_EQ(res[0], 0);
    KT_OK(nu_frame_map(big, ROOT_VSPACE, GM_BIG_VA, RW, 0));
    KT_EQ(slice(big, 0, s, res), NESTOR_ERR_DELETE_FIRST);            /* mapped whole */
    KT_EQ(res[0], 1);
    KT_EQ(res[1], GM_BIG_VA);
    KT_OK(nu_cnode_copy(ROOT_CNODE, copy, ROOT_DEPTH, ROOT_CNODE, big, ROOT_DEPTH, RW));
    KT_EQ(slice(copy, 0, s, 0), NESTOR_ERR_DELETE_FIRST);  /* another capability is mapped */
    KT_OK(nu_frame_unmap(big));
    KT_OK(slice(copy, 3, s, 0));
    KT_EQ(nu_frame_map(big, ROOT_VSPACE, GM_BIG_VA, RW, 0), NESTOR_ERR_REVOKE_FIRST);
    KT_EQ(nu_frame_map(copy, ROOT_VSPACE, GM_BIG_VA, RW, 0), NESTOR_ERR_REVOKE_FIRST);
    nestor_cptr_t ept = env_obj(NESTOR_OBJ_EPT_PML4, 0);
    KT_EQ(ept_map(big, ept, 0, EPT_RWX), NESTOR_ERR_REVOKE_FIRST);
    /* The slice has the rights of the capability it came from. */
    nestor_cptr_t ro = env_slot(), ros = env_slot();
    KT_OK(nu_cnode_copy(ROOT_CNODE, ro, ROOT_DEPTH, ROOT_CNODE, big, ROOT_DEPTH,
                        NESTOR_RIGHT_READ));
    KT_OK(slice(ro, 4, ros, 0));
    KT_EQ(nu_frame_map(ros, ROOT_VSPACE, GM_REGION, RW, 0), NESTOR_ERR_INSUFFICIENT_RIGHTS);
    /* With the slices gone, the frame maps whole again. */
    KT_OK(nu_cnode_delete(ROOT_CNODE, s, ROOT_DEPTH));
    KT_OK(nu_cnode_delete(ROOT_CNODE, ros, ROOT_DEPTH));
    KT_OK(nu_frame_map(big, ROOT_VSPACE, GM_BIG_VA, RW, 0));
    return KT_PASS;
}

/* A slice is one page of the frame, mappable (and copyable) like any 4 KiB
 * frame; revoking the frame deletes the slices and their copies and takes
 * their mappings away, while they are mapped. */
KTEST(guestmem_slice_is_a_page_and_revoke_takes_it_back)
{
    KT_OK(region_tables());
    nestor_cptr_t big = env_obj(NESTOR_OBJ_FRAME_2M, 0), s5 = env_slot(), s5c = env_slot();
    KT_OK(fill_slice(big, 5, 0x5555));
    KT_OK(slice(big, 5, s5, 0));
    KT_OK(nu_cnode_copy(ROOT_CNODE, s5c, ROOT_DEPTH, ROOT_CNODE, s5, ROOT_DEPTH, RW));
    nestor_word_t pa_big, pa_s5;
    KT_OK(nu_frame_get_address(big, &pa_big));
    KT_OK(nu_frame_get_address(s5, &pa_s5));
    KT_EQ(pa_s5, pa_big + 5 * PAGE);
    KT_OK(nu_frame_map(s5, ROOT_VSPACE, GM_REGION, RW, 0));
    KT_OK(nu_frame_map(s5c, ROOT_VSPACE, GM_REGION + PAGE, RW, 0));
    KT_EQ(*(volatile nestor_word_t *)GM_REGION, 0x5555);
    *(volatile nestor_word_t *)(GM_REGION + PAGE + 8) = 0x77;
    KT_EQ(*(volatile nestor_word_t *)(GM_REGION + 8), 0x77);
    KT_OK(nu_cnode_revoke(ROOT_CNODE, big, ROOT_DEPTH));
    KT_EQ(nu_frame_get_address(s5, &pa_s5), NESTOR_ERR_INVALID_CAPABILITY);
    KT_EQ(nu_frame_get_address(s5c, &pa_s5), NESTOR_ERR_INVALID_CAPABILITY);
    KT_ASSERT(read_faults(GM_REGION));
    KT_ASSERT(read_faults(GM_REGION + PAGE));
    KT_OK(nu_frame_map(big, ROOT_VSPACE, GM_BIG_VA, RW, 0));
    KT_EQ(*(volatile nestor_word_t *)(GM_BIG_VA + 5 * PAGE + 8), 0x77);
    return KT_PASS;
}

/* No slice outlives its frame: slices go when the frame's last capability
 * is deleted, mapped or not, whether made through the original (which
 * then sits between the frame's capabilities in the derivation list: the
 * original is not the last one for that) or through a copy (not a child
 * of the copy: copies cannot be revoked). */
KTEST(guestmem_slice_goes_with_the_last_frame_capability)
{
    KT_OK(region_tables());
    nestor_cptr_t big = env_obj(NESTOR_OBJ_FRAME_2M, 0), copy = env_slot();
    nestor_cptr_t sb = env_slot(), sc = env_slot();
    KT_OK(nu_cnode_copy(ROOT_CNODE, copy, ROOT_DEPTH, ROOT_CNODE, big, ROOT_DEPTH, RW));
    KT_OK(slice(big, 0, sb, 0));
    KT_OK(slice(copy, 511, sc, 0));
    KT_OK(nu_frame_map(sb, ROOT_VSPACE, GM_REGION, RW, 0));
    KT_OK(nu_frame_map(sc, ROOT_VSPACE, GM_REGION + PAGE, RW, 0));
    KT_OK(nu_cnode_revoke(ROOT_CNODE, copy, ROOT_DEPTH));            /* a copy: no children */
    KT_OK(nu_cnode_delete(ROOT_CNODE, big, ROOT_DEPTH));             /* not the last one */
    nestor_word_t pa;
    KT_OK(nu_frame_get_address(sb, &pa));
    KT_OK(nu_frame_get_address(sc, &pa));
    *(volatile nestor_word_t *)GM_REGION = 1;
    *(volatile nestor_word_t *)(GM_REGION + PAGE) = 1;
    KT_OK(nu_cnode_delete(ROOT_CNODE, copy, ROOT_DEPTH));            /* the last one */
    KT_EQ(nu_frame_get_address(sb, &pa), NESTOR_ERR_INVALID_CAPABILITY);
    KT_EQ(nu_frame_get_address(sc, &pa), NESTOR_ERR_INVALID_CAPABILITY);
    KT_ASSERT(read_faults(GM_REGION));
    KT_ASSERT(read_faults(GM_REGION + PAGE));
    return KT_PASS;
}

/* A pager maps, remaps and takes back single pages of a guest's RAM: the
 * guest reads guest-physical 0x8000 through slice 2, then slice 3 (the
 * unmapping's INVEPT, single-context for this EPT, drops the old
 * translation), then nothing (revoke): an EPT violation at 0x8000. */
KTEST(guestmem_slices_map_remap_and_take_back_guest_pages)
{
    static const uint8_t code[] = { I_MOV_EAX_MOFFS(0x8000), I_VMCALL };
    tvm_t vm;
    TVM_CREATE_OR_SKIP(&vm, code, 0);
    KT_OK(region_tables());
    nestor_cptr_t big = env_obj(NESTOR_OBJ_FRAME_2M, 0), s2 = env_slot(), s3 = env_slot();
    KT_OK(fill_slice(big, 2, 0x2222));
    KT_OK(fill_slice(big, 3, 0x3333));
    KT_OK(slice(big, 2, s2, 0));
    KT_OK(slice(big, 3, s3, 0));
    KT_OK(ept_map(s2, vm.ept, 0x8000, NESTOR_EPT_R));
    nu_msg_t m;
    KT_EQ(tvm_run(&vm, 0, &m), NESTOR_EXIT_VMCALL);
    KT_EQ(vm.s->rax, 0x2222);
    KT_OK(nu_frame_unmap(s2));
    KT_OK(ept_map(s3, vm.ept, 0x8000, NESTOR_EPT_R));
    vm.s->rip = TVM_CODE;
    KT_EQ(tvm_run(&vm, NESTOR_MTD_RIP, &m), NESTOR_EXIT_VMCALL);
    KT_EQ(vm.s->rax, 0x3333);
    KT_OK(nu_cnode_revoke(ROOT_CNODE, big, ROOT_DEPTH));
    vm.s->rip = TVM_CODE;
    KT_EQ(tvm_run(&vm, NESTOR_MTD_RIP, &m), NESTOR_EXIT_EPT_VIOLATION);
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_GUEST_PHYS), 0x8000);
    return KT_PASS;
}

/* SDM 28.3.5: with EPTP bit 6 set the CPU sets the accessed flag of every
 * leaf it uses and the dirty flag of those it writes through. The guest
 * writes page 5 and reads page 1: D only on page 5, A on both (and on the
 * code page), nothing on page 2. Cleared flags are set again by the next
 * access (the clear invalidates the EPT's cached translations). */
KTEST(guestmem_ept_accessed_dirty_flags)
{
    static const uint8_t code[] = { I_MOV_MOFFS_EAX(0x5000), I_MOV_EAX_MOFFS(0x1000), I_VMCALL };
    tvm_t vm;
    TVM_CREATE_OR_SKIP(&vm, code, 0);
    nestor_word_t res[2];
    nestor_error_t e = read_ad(vm.ept, 0x5000, 0, res);
    if (e == NESTOR_ERR_ILLEGAL_OPERATION) {
        printf("    (no EPT accessed/dirty flags here: nothing to check)\n");
        return KT_PASS;
    }
    KT_OK(e);
    KT_EQ(res[0], 0);
    KT_EQ(res[1], 12);
    nu_msg_t m;
    KT_EQ(tvm_run(&vm, 0, &m), NESTOR_EXIT_VMCALL);
    KT_OK(read_ad(vm.ept, 0x5000, 0, res));
    KT_EQ(res[0], NESTOR_EPT_ACCESSED | NESTOR_EPT_DIRTY);
    KT_OK(read_ad(vm.ept, 0x1000, 0, res));
    KT_EQ(res[0], NESTOR_EPT_ACCESSED);
    KT_OK(read_ad(vm.ept, 0x4000, 0, res));
    KT_EQ(res[0], NESTOR_EPT_ACCESSED);
    KT_OK(read_ad(vm.ept, 0x2000, 0, res));
    KT_EQ(res[0], 0);
    /* Read and clear, then the flags come back with the next run. */
    KT_OK(read_ad(vm.ept, 0x5000, NESTOR_EPT_AD_CLEAR, res));
    KT_EQ(res[0], NESTOR_EPT_ACCESSED | NESTOR_EPT_DIRTY);
    KT_OK(read_ad(vm.ept, 0x1000, NESTOR_EPT_AD_CLEAR, res));
    KT_OK(read_ad(vm.ept, 0x5000, 0, res));
    KT_EQ(res[0], 0);
    vm.s->rip = TVM_CODE;
    KT_EQ(tvm_run(&vm, NESTOR_MTD_RIP, &m), NESTOR_EXIT_VMCALL);
    KT_OK(read_ad(vm.ept, 0x5000, 0, res));
    KT_EQ(res[0], NESTOR_EPT_ACCESSED | NESTOR_EPT_DIRTY);
    KT_OK(read_ad(vm.ept, 0x1000, 0, res));
    KT_EQ(res[0], NESTOR_EPT_ACCESSED);
    /* Refused: nothing mapped, beyond 48 bits, unknown flags, not an EPT. */
    KT_EQ(read_ad(vm.ept, 0x100000, 0, res), NESTOR_ERR_FAILED_LOOKUP);
    KT_EQ(read_ad(vm.ept, 1ULL << 48, 0, res), NESTOR_ERR_INVALID_ARGUMENT);
    KT_EQ(read_ad(vm.ept, 0x5000, 2, res), NESTOR_ERR_INVALID_ARGUMENT);
    KT_EQ(res[0], 1);
    KT_EQ(read_ad(vm.vcpu, 0x5000, 0, res), NESTOR_ERR_ILLEGAL_OPERATION);
    return KT_PASS;
}

/* SDM 28.3.3.1, 29.3.3: a guest access through a misconfigured entry exits
 * with reason 49 (a device monitor's), through a missing one with 48 (the
 * RAM owner's); the exit carries the guest-physical address either way. */
KTEST(guestmem_ept_mmio_range_exits_as_misconfiguration)
{
    static const uint8_t code[] = { I_MOV_EAX_MOFFS(0x9004), I_VMCALL };
    tvm_t vm;
    TVM_CREATE_OR_SKIP(&vm, code, 0);
    nestor_word_t res[2];
    KT_OK(set_mmio(vm.ept, 0x9000, 2, NESTOR_EPT_MMIO_INSTALL, 0));
    nu_msg_t m;
    KT_EQ(tvm_run(&vm, 0, &m), NESTOR_EXIT_EPT_MISCONFIG);
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_GUEST_PHYS), 0x9004);
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_RIP), TVM_CODE);
    /* A frame cannot be mapped over such an entry, nor the range installed twice. */
    nestor_cptr_t f = env_obj(NESTOR_OBJ_FRAME_4K, 0);
    KT_EQ(ept_map(f, vm.ept, 0xA000, EPT_RWX), NESTOR_ERR_DELETE_FIRST);
    KT_EQ(set_mmio(vm.ept, 0x8000, 2, NESTOR_EPT_MMIO_INSTALL, res), NESTOR_ERR_DELETE_FIRST);
    KT_EQ(res[0], 0x9000);
    /* Removed, the same access is an EPT violation. */
    KT_OK(set_mmio(vm.ept, 0x9000, 2, NESTOR_EPT_MMIO_REMOVE, 0));
    KT_EQ(tvm_run(&vm, 0, &m), NESTOR_EXIT_EPT_VIOLATION);
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_GUEST_PHYS), 0x9004);
    /* Refused: over a frame, unaligned, no EPT PT there, page counts, the
     * operation, past 48 bits; and frames mapped write-without-read. */
    KT_EQ(set_mmio(vm.ept, 0x5000, 1, NESTOR_EPT_MMIO_INSTALL, res), NESTOR_ERR_DELETE_FIRST);
    KT_EQ(set_mmio(vm.ept, 0x4000, 2, NESTOR_EPT_MMIO_REMOVE, res), NESTOR_ERR_INVALID_ARGUMENT);
    KT_EQ(res[1], 0x4000);
    KT_EQ(set_mmio(vm.ept, 0x9800, 1, NESTOR_EPT_MMIO_INSTALL, 0), NESTOR_ERR_ALIGNMENT);
    KT_EQ(set_mmio(vm.ept, 0x40000000, 1, NESTOR_EPT_MMIO_INSTALL, res),
          NESTOR_ERR_FAILED_LOOKUP);
    KT_EQ(res[0], 0x40000000);
    KT_EQ(set_mmio(vm.ept, 0x9000, 0, NESTOR_EPT_MMIO_INSTALL, 0), NESTOR_ERR_RANGE);
    KT_EQ(set_mmio(vm.ept, 0x9000, NESTOR_EPT_MMIO_MAX_PAGES + 1, NESTOR_EPT_MMIO_INSTALL, 0),
          NESTOR_ERR_RANGE);
    KT_EQ(set_mmio(vm.ept, 0x9000, 1, 2, res), NESTOR_ERR_INVALID_ARGUMENT);
    KT_EQ(res[0], 2);
    KT_EQ(set_mmio(vm.ept, (1ULL << 48) - PAGE, 2, NESTOR_EPT_MMIO_INSTALL, 0),
          NESTOR_ERR_INVALID_ARGUMENT);
    KT_EQ(ept_map(f, vm.ept, 0xA000, NESTOR_EPT_W), NESTOR_ERR_INVALID_ARGUMENT);
    KT_EQ(ept_map(f, vm.ept, 0xA000, NESTOR_EPT_W | NESTOR_EPT_X), NESTOR_ERR_INVALID_ARGUMENT);
    KT_OK(ept_map(f, vm.ept, 0xA000, EPT_RWX));
    return KT_PASS;
}

/* ---- alias slices (NESTOR_FRAME_SLICE_ALIAS, kernel/paging.c) ---- */

static nestor_error_t alias(nestor_cptr_t frame, nestor_word_t index, nestor_cptr_t dest,
                            nestor_word_t *res)
{
    return slice_as(NESTOR_FRAME_SLICE_ALIAS, frame, index, dest, res);
}

/* An alias slice is made and used while its frame is mapped whole (here in
 * the test's own space, write-back): the guest reads through the alias what
 * was written through the whole mapping, and writes what the whole mapping
 * then reads (one page, two mappings of one memory type: SDM Vol. 3A
 * 11.12.4 allows that). The frame still maps whole (again) while the alias
 * lives; normal slices stay refused both while it is mapped whole and while
 * an alias exists. */
KTEST(guestmem_alias_slice_while_mapped_whole)
{
    static const uint8_t code[] = { I_MOV_EAX_MOFFS(0x8000), I_MOV_MOFFS_EAX(0x8010), I_VMCALL };
    tvm_t vm;
    TVM_CREATE_OR_SKIP(&vm, code, 0);
    KT_OK(region_tables());
    nestor_cptr_t big = env_obj(NESTOR_OBJ_FRAME_2M, 0), a6 = env_slot(), s = env_slot();
    nestor_word_t res[2];
    KT_OK(nu_frame_map(big, ROOT_VSPACE, GM_BIG_VA, RW, 0));
    volatile uint32_t *page6 = (volatile uint32_t *)(GM_BIG_VA + 6 * PAGE);
    page6[0] = 0x6060;
    KT_EQ(slice(big, 6, s, res), NESTOR_ERR_DELETE_FIRST);    /* a slice: still refused */
    KT_EQ(res[0], 1);
    KT_OK(alias(big, 6, a6, 0));
    nestor_word_t pa_big, pa_a6;
    KT_OK(nu_frame_get_address(big, &pa_big));
    KT_OK(nu_frame_get_address(a6, &pa_a6));
    KT_EQ(pa_a6, pa_big + 6 * PAGE);
    KT_OK(ept_map(a6, vm.ept, 0x8000, NESTOR_EPT_R | NESTOR_EPT_W));
    nu_msg_t m;
    KT_EQ(tvm_run(&vm, 0, &m), NESTOR_EXIT_VMCALL);
    KT_EQ(vm.s->rax & 0xFFFFFFFF, 0x6060);
    KT_EQ(page6[4], 0x6060);                                    /* the guest's write */
    /* The frame maps whole again while its alias is mapped; a normal
     * slice is refused while an alias exists, even unmapped whole. */
    KT_OK(nu_frame_unmap(big));
    KT_EQ(slice(big, 7, s, 0), NESTOR_ERR_REVOKE_FIRST);
    KT_OK(nu_frame_map(big, ROOT_VSPACE, GM_BIG_VA, RW, 0));
    KT_EQ(page6[4], 0x6060);
    /* Deleted, the alias's EPT entry goes: the same read is a violation. */
    KT_OK(nu_cnode_delete(ROOT_CNODE, a6, ROOT_DEPTH));
    vm.s->rip = TVM_CODE;
    KT_EQ(tvm_run(&vm, NESTOR_MTD_RIP, &m), NESTOR_EXIT_EPT_VIOLATION);
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_GUEST_PHYS), 0x8000);
    /* With no alias left and the frame unmapped, slices are allowed again,
     * and then an alias is refused. */
    KT_OK(nu_frame_unmap(big));
    KT_OK(slice(big, 7, s, 0));
    KT_EQ(alias(big, 8, a6, 0), NESTOR_ERR_REVOKE_FIRST);
    return KT_PASS;
}

/* An alias is used only as a write-back EPT mapping and stays with its
 * holder: no VSpace mapping, no other EPT memory type, no copy, no use as
 * a kernel-written page; no whole mapping of another type while it is
 * mapped, and no alias mapping while the frame is mapped whole with
 * another type (one page would have two memory types). */
KTEST(guestmem_alias_slice_refusals)
{
    static const uint8_t code[] = { I_VMCALL };
    tvm_t vm;
    TVM_CREATE_OR_SKIP(&vm, code, 0);
    KT_OK(region_tables());
    nestor_cptr_t big = env_obj(NESTOR_OBJ_FRAME_2M, 0), small = env_obj(NESTOR_OBJ_FRAME_4K, 0);
    nestor_cptr_t a = env_slot(), c = env_slot();
    nestor_word_t res[2];
    KT_EQ(alias(small, 0, a, 0), NESTOR_ERR_ILLEGAL_OPERATION);     /* only of 2 MiB frames */
    KT_EQ(alias(big, 512, a, res), NESTOR_ERR_RANGE);
    KT_OK(alias(big, 1, a, 0));
    KT_EQ(nu_frame_map(a, ROOT_VSPACE, GM_REGION, RW, 0), NESTOR_ERR_ILLEGAL_OPERATION);
    KT_EQ(ept_map_type(a, vm.ept, 0x8000, NESTOR_EPT_R, NESTOR_EPT_MEMTYPE_UC, res),
          NESTOR_ERR_INVALID_ARGUMENT);
    KT_EQ(nu_cnode_copy(ROOT_CNODE, c, ROOT_DEPTH, ROOT_CNODE, a, ROOT_DEPTH, RW),
          NESTOR_ERR_ILLEGAL_OPERATION);
    KT_EQ(nu_invoke(vm.vcpu, NESTOR_VCPU_SET_STATE_PAGE, 0, 0, &a, 1, 0, 0),
          NESTOR_ERR_ILLEGAL_OPERATION);
    /* Memory types: whole and alias mappings of one frame agree on WB. */
    KT_OK(nu_frame_map(big, ROOT_VSPACE, GM_BIG_VA, RW, NESTOR_FRAME_ATTR_UNCACHED));
    KT_EQ(ept_map_type(a, vm.ept, 0x8000, NESTOR_EPT_R, NESTOR_EPT_MEMTYPE_WB, res),
          NESTOR_ERR_DELETE_FIRST);
    KT_EQ(res[1], GM_BIG_VA);
    KT_OK(nu_frame_unmap(big));
    KT_OK(ept_map_type(a, vm.ept, 0x8000, NESTOR_EPT_R, NESTOR_EPT_MEMTYPE_WB, 0));
    KT_EQ(nu_frame_map(big, ROOT_VSPACE, GM_BIG_VA, RW, NESTOR_FRAME_ATTR_UNCACHED),
          NESTOR_ERR_REVOKE_FIRST);
    nestor_cptr_t ept2 = env_obj(NESTOR_OBJ_EPT_PML4, 0);
    KT_OK(nu_page_table_map(env_obj(NESTOR_OBJ_EPT_PDPT, 0), ept2, 0));
    KT_OK(nu_page_table_map(env_obj(NESTOR_OBJ_EPT_PD, 0), ept2, 0));
    KT_EQ(ept_map_type(big, ept2, 0, NESTOR_EPT_R, NESTOR_EPT_MEMTYPE_UC, 0),
          NESTOR_ERR_REVOKE_FIRST);
    KT_OK(ept_map_type(big, ept2, 0, NESTOR_EPT_R, NESTOR_EPT_MEMTYPE_WB, 0));
    KT_OK(nu_cnode_copy(ROOT_CNODE, c, ROOT_DEPTH, ROOT_CNODE, big, ROOT_DEPTH, RW));
    KT_OK(nu_frame_map(c, ROOT_VSPACE, GM_BIG_VA, RW, 0));
    return KT_PASS;
}

/* No alias outlives its frame: deleting the frame's last capability (the
 * alias made through a copy, the original deleted first) or revoking the
 * original deletes the alias and removes its EPT entry, so the guest's
 * next read of that page is an EPT violation, not a read of freed memory. */
KTEST(guestmem_alias_slice_goes_with_its_frame)
{
    static const uint8_t code[] = { I_MOV_EAX_MOFFS(0x8000), I_MOV_EAX_MOFFS(0x9000), I_VMCALL };
    tvm_t vm;
    TVM_CREATE_OR_SKIP(&vm, code, 0);
    KT_OK(region_tables());
    nestor_cptr_t big = env_obj(NESTOR_OBJ_FRAME_2M, 0), copy = env_slot(), a = env_slot();
    nestor_cptr_t big2 = env_obj(NESTOR_OBJ_FRAME_2M, 0), b = env_slot();
    KT_OK(fill_slice(big, 0, 0x1111));
    KT_OK(fill_slice(big2, 9, 0x9999));
    KT_OK(nu_cnode_copy(ROOT_CNODE, copy, ROOT_DEPTH, ROOT_CNODE, big, ROOT_DEPTH, RW));
    KT_OK(nu_frame_map(big, ROOT_VSPACE, GM_BIG_VA, RW, 0));
    KT_OK(alias(copy, 0, a, 0));
    KT_OK(alias(big2, 9, b, 0));
    KT_OK(ept_map(a, vm.ept, 0x8000, NESTOR_EPT_R));
    KT_OK(ept_map(b, vm.ept, 0x9000, NESTOR_EPT_R));
    nu_msg_t m;
    KT_EQ(tvm_run(&vm, 0, &m), NESTOR_EXIT_VMCALL);
    KT_EQ(vm.s->rax & 0xFFFFFFFF, 0x9999);
    KT_OK(nu_cnode_delete(ROOT_CNODE, big, ROOT_DEPTH));            /* not the last one */
    nestor_word_t pa;
    KT_OK(nu_frame_get_address(a, &pa));
    KT_OK(nu_cnode_delete(ROOT_CNODE, copy, ROOT_DEPTH));           /* the last one */
    KT_EQ(nu_frame_get_address(a, &pa), NESTOR_ERR_INVALID_CAPABILITY);
    vm.s->rip = TVM_CODE;
    KT_EQ(tvm_run(&vm, NESTOR_MTD_RIP, &m), NESTOR_EXIT_EPT_VIOLATION);
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_GUEST_PHYS), 0x8000);
    /* Revoking the original takes the other frame's alias back too. */
    KT_OK(nu_cnode_revoke(ROOT_CNODE, big2, ROOT_DEPTH));
    KT_EQ(nu_frame_get_address(b, &pa), NESTOR_ERR_INVALID_CAPABILITY);
    KT_OK(ept_map(env_obj(NESTOR_OBJ_FRAME_4K, 0), vm.ept, 0x8000, NESTOR_EPT_R));
    vm.s->rip = TVM_CODE;
    KT_EQ(tvm_run(&vm, NESTOR_MTD_RIP, &m), NESTOR_EXIT_EPT_VIOLATION);
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_GUEST_PHYS), 0x9000);
    return KT_PASS;
}

/* One memory type per page (SDM Vol. 3A 11.12.4: a page mapped with two
 * memory types "may lead to undefined operations that can result in a
 * system failure", one monitor's mapping choices a machine check for all).
 * However a page is reached (a 4 KiB frame's copies, a slice's copies, a 2
 * MiB frame whole through two of its capabilities, a slice while ...), a
 * mapping of another type than one in place is refused with the other
 * mapping's address, in VSpaces (write-back or uncached) and EPTs alike;
 * once that one is gone, it is allowed. */
KTEST(guestmem_one_memory_type_per_page)
{
    static const uint8_t code[] = { I_VMCALL };
    tvm_t vm;
    TVM_CREATE_OR_SKIP(&vm, code, 0);
    KT_OK(region_tables());
    nestor_word_t res[2];
    /* A 4 KiB frame through two copies. */
    nestor_cptr_t f = env_obj(NESTOR_OBJ_FRAME_4K, 0), f2 = env_slot();
    KT_OK(nu_cnode_copy(ROOT_CNODE, f2, ROOT_DEPTH, ROOT_CNODE, f, ROOT_DEPTH, RW));
    KT_OK(nu_frame_map(f, ROOT_VSPACE, GM_REGION, RW, NESTOR_FRAME_ATTR_UNCACHED));
    KT_EQ(ept_map_type(f2, vm.ept, 0x8000, NESTOR_EPT_R, NESTOR_EPT_MEMTYPE_WB, res),
          NESTOR_ERR_DELETE_FIRST);
    KT_EQ(res[0], 0x8000);
    KT_EQ(res[1], GM_REGION);
    KT_OK(ept_map_type(f2, vm.ept, 0x8000, NESTOR_EPT_R, NESTOR_EPT_MEMTYPE_UC, 0));
    KT_OK(nu_frame_unmap(f));
    KT_EQ(nu_frame_map(f, ROOT_VSPACE, GM_REGION, RW, 0), NESTOR_ERR_DELETE_FIRST);
    KT_OK(nu_frame_unmap(f2));
    KT_OK(nu_frame_map(f, ROOT_VSPACE, GM_REGION, RW, 0));
    /* A slice through two copies. */
    nestor_cptr_t big = env_obj(NESTOR_OBJ_FRAME_2M, 0), s = env_slot(), s2 = env_slot();
    KT_OK(slice(big, 2, s, 0));
    KT_OK(nu_cnode_copy(ROOT_CNODE, s2, ROOT_DEPTH, ROOT_CNODE, s, ROOT_DEPTH, RW));
    KT_OK(ept_map_type(s, vm.ept, 0x9000, NESTOR_EPT_R, NESTOR_EPT_MEMTYPE_WT, 0));
    KT_EQ(nu_frame_map(s2, ROOT_VSPACE, GM_REGION + PAGE, RW, 0), NESTOR_ERR_DELETE_FIRST);
    KT_EQ(ept_map_type(s2, vm.ept, 0xA000, NESTOR_EPT_R, NESTOR_EPT_MEMTYPE_WB, res),
          NESTOR_ERR_DELETE_FIRST);
    KT_EQ(res[1], 0x9000);
    KT_OK(ept_map_type(s2, vm.ept, 0xA000, NESTOR_EPT_R, NESTOR_EPT_MEMTYPE_WT, 0));
    /* Another slice of that frame is another page: its own type. */
    nestor_cptr_t s3 = env_slot();
    KT_OK(slice(big, 3, s3, 0));
    KT_OK(nu_frame_map(s3, ROOT_VSPACE, GM_REGION + PAGE, RW, 0));
    /* A 2 MiB frame whole through two capabilities. */
    nestor_cptr_t big2 = env_obj(NESTOR_OBJ_FRAME_2M, 0), c = env_slot();
    KT_OK(nu_cnode_copy(ROOT_CNODE, c, ROOT_DEPTH, ROOT_CNODE, big2, ROOT_DEPTH, RW));
    nestor_cptr_t ept2 = env_obj(NESTOR_OBJ_EPT_PML4, 0);
    KT_OK(nu_page_table_map(env_obj(NESTOR_OBJ_EPT_PDPT, 0), ept2, 0));
    KT_OK(nu_page_table_map(env_obj(NESTOR_OBJ_EPT_PD, 0), ept2, 0));
    KT_OK(nu_frame_map(big2, ROOT_VSPACE, GM_BIG_VA, RW, 0));
    KT_EQ(ept_map_type(c, ept2, 0, NESTOR_EPT_R, NESTOR_EPT_MEMTYPE_UC, res),
          NESTOR_ERR_DELETE_FIRST);
    KT_EQ(res[1], GM_BIG_VA);
    KT_OK(ept_map_type(c, ept2, 0, NESTOR_EPT_R, NESTOR_EPT_MEMTYPE_WB, 0));
    return KT_PASS;
}

/* ---- restricted EPT capabilities (NESTOR_EPT_RESTRICT, kernel/ept.c) ---- */

static nestor_error_t restrict_ept(nestor_cptr_t ept, nestor_word_t base, nestor_word_t bytes,
                                   nestor_cptr_t dest, nestor_word_t *res)
{
    const nestor_word_t args[] = { base, bytes, dest, ROOT_DEPTH };
    nestor_cptr_t root = ROOT_CNODE;
    return nu_invoke(ept, NESTOR_EPT_RESTRICT, args, 4, &root, 1, res, res ? 2 : 0);
}

/* What a pager holds of a VM's EPT: frames map and A/D flags read inside
 * its range only (MR0/MR1 of the refusal: the range); no tables, no MMIO
 * entries, no VCPU runs on it, a further restriction stays inside it. A
 * frame it maps is the guest's page there, and unmapping it takes the page
 * back (the guest's next access is an EPT violation again). */
KTEST(guestmem_ept_restricted_capability)
{
    static const uint8_t code[] = { I_MOV_EAX_MOFFS(0xA000), I_VMCALL };
    tvm_t vm;
    TVM_CREATE_OR_SKIP(&vm, code, 0);
    KT_OK(region_tables());
    nestor_cptr_t r = env_slot(), r2 = env_slot(), spare = env_slot();
    nestor_cptr_t f = env_obj(NESTOR_OBJ_FRAME_4K, 0), g = env_obj(NESTOR_OBJ_FRAME_4K, 0);
    nestor_word_t res[2];
    KT_OK(nu_frame_map(f, ROOT_VSPACE, GM_REGION, RW, 0));
    *(volatile nestor_word_t *)GM_REGION = 0xA0A0;
    KT_OK(nu_frame_unmap(f));
    KT_OK(restrict_ept(vm.ept, 0xA000, 0x2000, r, 0));          /* [0xA000, 0xC000) */
    KT_EQ(ept_map_type(f, r, 0x9000, EPT_RWX, NESTOR_EPT_MEMTYPE_WB, res), NESTOR_ERR_RANGE);
    KT_EQ(res[0], 0xA000);
    KT_EQ(res[1], 0xC000);
    KT_EQ(ept_map(f, r, 0xC000, EPT_RWX), NESTOR_ERR_RANGE);
    KT_EQ(nu_page_table_map(env_obj(NESTOR_OBJ_EPT_PT, 0), r, 0xA000), NESTOR_ERR_RANGE);
    KT_EQ(set_mmio(r, 0xB000, 1, NESTOR_EPT_MMIO_INSTALL, 0), NESTOR_ERR_RANGE);
    KT_OK(ept_map(f, r, 0xA000, EPT_RWX));
    nu_msg_t m;
    KT_EQ(tvm_run(&vm, 0, &m), NESTOR_EXIT_VMCALL);
    KT_EQ(vm.s->rax, 0xA0A0);
    nestor_error_t e = read_ad(r, 0xA000, 0, res);
    if (e != NESTOR_ERR_ILLEGAL_OPERATION) {            /* where the CPU has EPT A/D flags */
        KT_OK(e);
        KT_EQ(res[0], NESTOR_EPT_ACCESSED);
        KT_EQ(read_ad(r, 0x5000, 0, res), NESTOR_ERR_RANGE);    /* mapped, but not ours */
    }
    /* Narrower inside it, never wider; bad arguments. */
    KT_OK(restrict_ept(r, 0xB000, 0x1000, r2, 0));
    KT_EQ(ept_map(g, r2, 0xA000, EPT_RWX), NESTOR_ERR_RANGE);
    KT_EQ(restrict_ept(r, 0x9000, 0x2000, spare, res), NESTOR_ERR_RANGE);
    KT_EQ(restrict_ept(vm.ept, 0xA800, 0x1000, spare, 0), NESTOR_ERR_ALIGNMENT);
    KT_EQ(restrict_ept(vm.ept, 0xA000, 0, spare, 0), NESTOR_ERR_RANGE);
    KT_EQ(restrict_ept(vm.ept, NESTOR_EPT_RESTRICT_LIMIT, PAGE, spare, 0), NESTOR_ERR_RANGE);
    KT_EQ(restrict_ept(vm.ept, 0xA000, 0x1000, r2, 0), NESTOR_ERR_DELETE_FIRST);
    KT_EQ(restrict_ept(vm.vcpu, 0xA000, 0x1000, spare, 0), NESTOR_ERR_ILLEGAL_OPERATION);
    /* No VCPU runs in a part of a guest-physical space. */
    nestor_cptr_t v2 = env_obj(NESTOR_OBJ_VCPU, 0);
    KT_EQ(nu_invoke(v2, NESTOR_VCPU_SET_EPT, 0, 0, &r, 1, 0, 0), NESTOR_ERR_INSUFFICIENT_RIGHTS);
    /* Taken back: the guest's access exits again. */
    KT_OK(nu_frame_unmap(f));
    vm.s->rip = TVM_CODE;
    KT_EQ(tvm_run(&vm, NESTOR_MTD_RIP, &m), NESTOR_EXIT_EPT_VIOLATION);
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_GUEST_PHYS), 0xA000);
    return KT_PASS;
}

/* ---- rights withheld for watchpoints (NESTOR_EPT_PROTECT, kernel/ept.c) ---- */

static nestor_error_t protect(nestor_cptr_t ept, nestor_word_t gpa, nestor_word_t withhold,
                              nestor_word_t *res)
{
    const nestor_word_t args[] = { gpa, withhold };
    return nu_invoke(ept, NESTOR_EPT_PROTECT, args, 2, 0, 0, res, 3);
}

/* An inspector's EPT watchpoints: write withheld, the guest's write exits as
 * an EPT violation with the write bit (SDM 27.2.1, Table 27-7) and its read
 * does not; read and write withheld, its read exits too; given back, the
 * guest runs on. Never more than the mapping's own rights, never outside a
 * restricted capability's range, never a misconfiguration (SDM 28.3.3.1). */
KTEST(guestmem_ept_protect_withholds_rights)
{
    static const uint8_t code[] = { I_MOV_EAX_MOFFS(0x5000), I_MOV_MOFFS_EAX(0x5000), I_VMCALL };
    tvm_t vm;
    TVM_CREATE_OR_SKIP(&vm, code, 0);
    nestor_word_t res[3];
    nu_msg_t m;
    *(volatile uint32_t *)vm.page[5] = 0x5A5A;
    KT_OK(protect(vm.ept, 0x5004, NESTOR_EPT_WITHHOLD_W, res));
    KT_EQ(res[0], 12);
    KT_EQ(res[1], NESTOR_EPT_R | NESTOR_EPT_X);
    KT_EQ(res[2], 0);                                   /* nothing withheld before */
    KT_EQ(tvm_run(&vm, 0, &m), NESTOR_EXIT_EPT_VIOLATION);
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_GUEST_PHYS), 0x5000);
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_QUALIFICATION) & EPT_QUAL_ACCESS, EPT_QUAL_WRITE);
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_RIP), TVM_CODE + 5);       /* the read went through */
    KT_EQ(vm.s->rax, 0x5A5A);
    /* Withheld twice is withheld once: one give-back restores all. */
    KT_OK(protect(vm.ept, 0x5000, NESTOR_EPT_WITHHOLD_W, res));
    KT_EQ(res[2], NESTOR_EPT_W);
    KT_OK(protect(vm.ept, 0x5000, NESTOR_EPT_WITHHOLD_NONE, res));
    KT_EQ(res[1], EPT_RWX);
    KT_EQ(res[2], NESTOR_EPT_W);                        /* what was given back */
    KT_EQ(tvm_run(&vm, 0, &m), NESTOR_EXIT_VMCALL);
    /* Read and write: execute-only where the CPU has it (else refused). */
    nestor_error_t e = protect(vm.ept, 0x5000, NESTOR_EPT_WITHHOLD_RW, res);
    if (e == NESTOR_ERR_ILLEGAL_OPERATION) {
        printf("    (no execute-only EPT here: read watchpoints refused)\n");
    } else {
        KT_OK(e);
        KT_EQ(res[1], NESTOR_EPT_X);
        vm.s->rip = TVM_CODE;
        KT_EQ(tvm_run(&vm, NESTOR_MTD_RIP, &m), NESTOR_EXIT_EPT_VIOLATION);
        KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_QUALIFICATION) & EPT_QUAL_ACCESS, EPT_QUAL_READ);
        KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_RIP), TVM_CODE);
        KT_OK(protect(vm.ept, 0x5000, NESTOR_EPT_WITHHOLD_NONE, res));
        KT_EQ(tvm_run(&vm, 0, &m), NESTOR_EXIT_VMCALL);
    }
    /* All three (read watchpoints where the CPU has no execute-only EPT):
     * the code's leaf is not present to the CPU (SDM 28.3.2), so the fetch
     * exits (Table 27-7 bit 2); it stays the frame's mapping: nothing maps
     * over it, and given back the guest runs on. */
    KT_OK(protect(vm.ept, TVM_CODE, NESTOR_EPT_WITHHOLD_ALL, res));
    KT_EQ(res[1], 0);
    vm.s->rip = TVM_CODE;
    KT_EQ(tvm_run(&vm, NESTOR_MTD_RIP, &m), NESTOR_EXIT_EPT_VIOLATION);
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_QUALIFICATION) & EPT_QUAL_ACCESS, EPT_QUAL_FETCH);
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_GUEST_PHYS), TVM_CODE);
    nestor_cptr_t over = env_obj(NESTOR_OBJ_FRAME_4K, 0);
    KT_EQ(ept_map(over, vm.ept, TVM_CODE, EPT_RWX), NESTOR_ERR_DELETE_FIRST);
    KT_OK(protect(vm.ept, TVM_CODE, NESTOR_EPT_WITHHOLD_ALL, res));  /* twice: once */
    KT_EQ(res[2], EPT_RWX);
    KT_OK(protect(vm.ept, TVM_CODE, NESTOR_EPT_WITHHOLD_NONE, res));
    KT_EQ(res[1], EPT_RWX);
    KT_EQ(tvm_run(&vm, 0, &m), NESTOR_EXIT_VMCALL);
    /* A read-only mapping gains nothing: withholding W withholds nothing. */
    nestor_cptr_t g = env_obj(NESTOR_OBJ_FRAME_4K, 0);
    KT_OK(ept_map(g, vm.ept, 0xA000, NESTOR_EPT_R | NESTOR_EPT_X));
    KT_OK(protect(vm.ept, 0xA000, NESTOR_EPT_WITHHOLD_W, res));
    KT_EQ(res[1], NESTOR_EPT_R | NESTOR_EPT_X);
    KT_OK(protect(vm.ept, 0xA000, NESTOR_EPT_WITHHOLD_NONE, res));
    KT_EQ(res[1], NESTOR_EPT_R | NESTOR_EPT_X);
    KT_EQ(res[2], 0);                                   /* it had no W to withhold */
    /* A mapping left with no rights would be no mapping: refused. */
    nestor_cptr_t h = env_obj(NESTOR_OBJ_FRAME_4K, 0);
    KT_OK(ept_map(h, vm.ept, 0xB000, NESTOR_EPT_R | NESTOR_EPT_W));
    KT_EQ(protect(vm.ept, 0xB000, NESTOR_EPT_WITHHOLD_RW, res), NESTOR_ERR_ILLEGAL_OPERATION);
    /* Restricted: only inside the range. Bad arguments. */
    nestor_cptr_t r = env_slot();
    KT_OK(restrict_ept(vm.ept, 0x5000, 0x1000, r, 0));
    KT_EQ(protect(r, 0x4000, NESTOR_EPT_WITHHOLD_W, res), NESTOR_ERR_RANGE);
    KT_EQ(res[0], 0x5000);
    KT_EQ(res[1], 0x6000);
    KT_OK(protect(r, 0x5000, NESTOR_EPT_WITHHOLD_W, res));
    KT_OK(protect(r, 0x5000, NESTOR_EPT_WITHHOLD_NONE, res));
    KT_EQ(protect(vm.ept, 0x5000, NESTOR_EPT_X, res), NESTOR_ERR_INVALID_ARGUMENT);
    KT_EQ(protect(vm.ept, 0x5000, NESTOR_EPT_R, res), NESTOR_ERR_INVALID_ARGUMENT);
    KT_EQ(protect(vm.ept, 0x100000, NESTOR_EPT_WITHHOLD_W, res), NESTOR_ERR_FAILED_LOOKUP);
    KT_EQ(protect(vm.ept, 1ULL << 48, NESTOR_EPT_WITHHOLD_W, res), NESTOR_ERR_INVALID_ARGUMENT);
    KT_EQ(protect(vm.vcpu, 0x5000, NESTOR_EPT_WITHHOLD_W, res), NESTOR_ERR_ILLEGAL_OPERATION);
    return KT_PASS;
}

/* ---- 2 MiB leaves split into 4 KiB ones (NESTOR_EPT_SPLIT, kernel/ept.c) ---- */

#define SPLIT_GPA 0x200000ULL                   /* EPT PD entry 1: the 2 MiB frame */

static nestor_error_t split(nestor_cptr_t ept, nestor_word_t gpa, nestor_cptr_t table,
                            nestor_word_t *res)
{
    return nu_invoke(ept, NESTOR_EPT_SPLIT, &gpa, 1, &table, 1, res, res ? 2 : 0);
}

/* The guest reads page 1 of the frame and writes what it read to page 3. */
static const uint8_t split_code[] = { I_MOV_EAX_MOFFS(SPLIT_GPA + 0x1000),
                                      I_MOV_MOFFS_EAX(SPLIT_GPA + 0x3000), I_VMCALL };

/* The VM @vm (split_code) given a 2 MiB frame at SPLIT_GPA (also mapped,
 * through a copy *@seen, at GM_BIG_VA for the test to see), page 1
 * holding @value. */
static nestor_error_t split_vm(tvm_t *vm, nestor_cptr_t *big, nestor_cptr_t *seen,
                               nestor_word_t value)
{
    nestor_cptr_t copy = *seen = env_slot();
    *big = env_obj(NESTOR_OBJ_FRAME_2M, 0);
    nestor_error_t e = region_tables();
    if (!e)
        e = nu_cnode_copy(ROOT_CNODE, copy, ROOT_DEPTH, ROOT_CNODE, *big, ROOT_DEPTH, RW);
    if (!e)
        e = nu_frame_map(copy, ROOT_VSPACE, GM_BIG_VA, RW, 0);
    if (!e)
        *(volatile nestor_word_t *)(GM_BIG_VA + PAGE) = value;
    return e ? e : ept_map(*big, vm->ept, SPLIT_GPA, EPT_RWX);
}

/* Split, the guest's accesses go on as before; one 4 KiB piece protected,
 * only the access to it exits (SDM 28.3.3.2), not the read of the piece
 * beside it; A/D flags per piece; joined (the PT unmapped), one 2 MiB
 * leaf again with their A/D flags (an A/D scan misses no write made while
 * split) and what every piece withheld (a protection of the leaf
 * before the split survives, a piece's goes with the table). */
KTEST(guestmem_ept_split_protects_one_page)
{
    tvm_t vm;
    nestor_cptr_t big, seen;
    TVM_CREATE_OR_SKIP(&vm, split_code, 0);
    KT_OK(split_vm(&vm, &big, &seen, 0x1111));
    volatile uint32_t *page3 = (volatile uint32_t *)(GM_BIG_VA + 3 * PAGE);
    nestor_cptr_t pt = env_obj(NESTOR_OBJ_EPT_PT, 0);
    nestor_word_t res[3];
    nu_msg_t m;
    /* A protection of the whole leaf before the split (write withheld). */
    KT_OK(protect(vm.ept, SPLIT_GPA, NESTOR_EPT_WITHHOLD_W, res));
    KT_EQ(res[0], 21);
    nestor_word_t ad[2];
    const bool have_ad = read_ad(vm.ept, SPLIT_GPA, 0, ad) == NESTOR_OK;
    if (have_ad)
        KT_EQ(ad[0], 0);                                /* the guest has not run yet */
    KT_OK(split(vm.ept, SPLIT_GPA + 0x1234, pt, 0));
    KT_OK(protect(vm.ept, SPLIT_GPA + 0x5000, NESTOR_EPT_WITHHOLD_NONE, res));
    KT_EQ(res[0], 12);                                  /* a 4 KiB leaf now */
    KT_EQ(res[2], NESTOR_EPT_W);                        /* it had the leaf's withheld W */
    KT_OK(protect(vm.ept, SPLIT_GPA + 0x3000, NESTOR_EPT_WITHHOLD_NONE, res));
    KT_OK(protect(vm.ept, SPLIT_GPA + 0x1000, NESTOR_EPT_WITHHOLD_NONE, res));
    /* Page 3 protected: the read of page 1 goes through, the write exits. */
    KT_OK(protect(vm.ept, SPLIT_GPA + 0x3000, NESTOR_EPT_WITHHOLD_W, res));
    KT_EQ(res[0], 12);
    KT_EQ(tvm_run(&vm, 0, &m), NESTOR_EXIT_EPT_VIOLATION);
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_GUEST_PHYS), SPLIT_GPA + 0x3000);
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_QUALIFICATION) & EPT_QUAL_ACCESS, EPT_QUAL_WRITE);
    KT_EQ(vm.s->rax & 0xFFFFFFFF, 0x1111);
    KT_EQ(page3[0], 0);
    KT_OK(protect(vm.ept, SPLIT_GPA + 0x3000, NESTOR_EPT_WITHHOLD_NONE, res));
    KT_EQ(tvm_run(&vm, 0, &m), NESTOR_EXIT_VMCALL);
    KT_EQ(page3[0], 0x1111);                            /* the frame's own byte */
    /* A/D per piece (where the CPU has EPT A/D flags). */
    if (have_ad) {
        KT_OK(read_ad(vm.ept, SPLIT_GPA + 0x3000, 0, ad));
        KT_EQ(ad[1], 12);
        KT_ASSERT(ad[0] & NESTOR_EPT_DIRTY);
        KT_OK(read_ad(vm.ept, SPLIT_GPA + 0x3000, NESTOR_EPT_AD_CLEAR, ad));
        KT_OK(read_ad(vm.ept, SPLIT_GPA + 0x3000, 0, ad));
        KT_EQ(ad[0], 0);
        vm.s->rip = TVM_CODE;
        KT_EQ(tvm_run(&vm, NESTOR_MTD_RIP, &m), NESTOR_EXIT_VMCALL);
    }
    /* Still the frame's one memory type (SDM Vol. 3A 11.12.4): an uncached
     * mapping of it is refused, the split leaf's type found (the test's
     * own write-back view unmapped first: the EPT's split leaf refuses). */
    KT_OK(nu_frame_unmap(seen));
    nestor_cptr_t c2 = env_slot();
    KT_OK(nu_cnode_copy(ROOT_CNODE, c2, ROOT_DEPTH, ROOT_CNODE, big, ROOT_DEPTH, RW));
    nestor_cptr_t ept2 = env_obj(NESTOR_OBJ_EPT_PML4, 0);
    KT_OK(nu_page_table_map(env_obj(NESTOR_OBJ_EPT_PDPT, 0), ept2, 0));
    KT_OK(nu_page_table_map(env_obj(NESTOR_OBJ_EPT_PD, 0), ept2, 0));
    KT_EQ(ept_map_type(c2, ept2, SPLIT_GPA, EPT_RWX, NESTOR_EPT_MEMTYPE_UC, res),
          NESTOR_ERR_DELETE_FIRST);
    /* Nothing maps over a piece, no MMIO entry goes there. */
    nestor_cptr_t small = env_obj(NESTOR_OBJ_FRAME_4K, 0);
    KT_EQ(ept_map(small, vm.ept, SPLIT_GPA + 0x7000, EPT_RWX), NESTOR_ERR_DELETE_FIRST);
    KT_EQ(set_mmio(vm.ept, SPLIT_GPA + 0x7000, 1, NESTOR_EPT_MMIO_INSTALL, 0),
          NESTOR_ERR_DELETE_FIRST);
    /* Joined: one 2 MiB leaf; page 3's protection went with the table, the
     * leaf's withheld W stays where every piece kept it. */
    KT_OK(protect(vm.ept, SPLIT_GPA + 0x3000, NESTOR_EPT_WITHHOLD_RW, res));
    KT_OK(protect(vm.ept, SPLIT_GPA + 0x4000, NESTOR_EPT_WITHHOLD_W, res));
    KT_OK(nu_page_table_unmap(pt));
    if (have_ad) {              /* the pieces' flags in the leaf: page 3 was written */
        KT_OK(read_ad(vm.ept, SPLIT_GPA, 0, ad));
        KT_EQ(ad[1], 21);
        KT_EQ(ad[0], NESTOR_EPT_ACCESSED | NESTOR_EPT_DIRTY);
    }
    KT_OK(protect(vm.ept, SPLIT_GPA + 0x3000, NESTOR_EPT_WITHHOLD_NONE, res));
    KT_EQ(res[0], 21);
    KT_EQ(res[1], EPT_RWX);
    KT_EQ(res[2], 0);                                   /* not every piece withheld W */
    vm.s->rip = TVM_CODE;
    KT_EQ(tvm_run(&vm, NESTOR_MTD_RIP, &m), NESTOR_EXIT_VMCALL);
    /* The same table splits again; what every piece withholds (the leaf's
     * W, all of them) stays withheld when they join; the unmapped PT
     * joins nothing twice. */
    KT_OK(protect(vm.ept, SPLIT_GPA, NESTOR_EPT_WITHHOLD_W, res));
    KT_OK(split(vm.ept, SPLIT_GPA, pt, 0));
    KT_OK(nu_page_table_unmap(pt));
    KT_OK(nu_page_table_unmap(pt));
    KT_OK(protect(vm.ept, SPLIT_GPA, NESTOR_EPT_WITHHOLD_NONE, res));
    KT_EQ(res[0], 21);
    KT_EQ(res[2], NESTOR_EPT_W);
    return KT_PASS;
}

/* Every way to split what the capability does not cover is refused, with
 * nothing changed: not a PT, a mapped PT, a 4 KiB leaf (a split one: no
 * second split), nothing mapped, a leaf not wholly in a restricted
 * capability's range, not an EPT. */
KTEST(guestmem_ept_split_refusals)
{
    tvm_t vm;
    nestor_cptr_t big, seen;
    TVM_CREATE_OR_SKIP(&vm, split_code, 0);
    KT_OK(split_vm(&vm, &big, &seen, 0x2222));
    nestor_cptr_t pt = env_obj(NESTOR_OBJ_EPT_PT, 0), pt2 = env_obj(NESTOR_OBJ_EPT_PT, 0);
    nestor_cptr_t pd = env_obj(NESTOR_OBJ_EPT_PD, 0), frame = env_obj(NESTOR_OBJ_FRAME_4K, 0);
    nestor_word_t res[3];
    nu_msg_t m;
    KT_EQ(split(vm.ept, SPLIT_GPA, pd, res), NESTOR_ERR_INVALID_CAPABILITY);
    KT_EQ(split(vm.ept, SPLIT_GPA, frame, res), NESTOR_ERR_INVALID_CAPABILITY);
    KT_EQ(nu_invoke(vm.ept, NESTOR_EPT_SPLIT, (nestor_word_t[]){ SPLIT_GPA }, 1, 0, 0, 0, 0),
          NESTOR_ERR_INVALID_CAPABILITY);
    KT_EQ(split(vm.ept, 0x5000, pt, res), NESTOR_ERR_ILLEGAL_OPERATION);    /* a 4 KiB frame */
    KT_EQ(split(vm.ept, 0x400000, pt, res), NESTOR_ERR_FAILED_LOOKUP);
    KT_EQ(split(vm.ept, 1ULL << 48, pt, res), NESTOR_ERR_INVALID_ARGUMENT);
    KT_EQ(split(vm.vcpu, SPLIT_GPA, pt, res), NESTOR_ERR_ILLEGAL_OPERATION);
    /* Restricted: only a leaf wholly inside the range. */
    nestor_cptr_t part = env_slot(), whole = env_slot();
    KT_OK(restrict_ept(vm.ept, SPLIT_GPA, 0x100000, part, 0));
    KT_EQ(split(part, SPLIT_GPA, pt, res), NESTOR_ERR_RANGE);
    KT_EQ(res[0], SPLIT_GPA);
    KT_EQ(split(part, 0x5000, pt, res), NESTOR_ERR_RANGE);
    KT_OK(restrict_ept(vm.ept, 0, 2 * SPLIT_GPA, whole, 0));
    KT_OK(protect(vm.ept, SPLIT_GPA, NESTOR_EPT_WITHHOLD_NONE, res));
    KT_EQ(res[0], 21);                                  /* none of those split it */
    KT_OK(split(whole, SPLIT_GPA, pt, 0));
    /* Twice: the leaf is 4 KiB now; a mapped PT is refused anywhere. */
    KT_EQ(split(vm.ept, SPLIT_GPA + 0x1000, pt2, res), NESTOR_ERR_ILLEGAL_OPERATION);
    KT_EQ(split(whole, SPLIT_GPA, pt2, res), NESTOR_ERR_ILLEGAL_OPERATION);
    KT_EQ(split(vm.ept, SPLIT_GPA, pt, res), NESTOR_ERR_DELETE_FIRST);
    /* The restricted holder still cannot map a table or a frame outside. */
    KT_EQ(nu_page_table_map(pt2, whole, 0x600000), NESTOR_ERR_RANGE);
    /* The split PT is not a table to map frames into through it. */
    KT_EQ(nu_page_table_map(pt, vm.ept, 0x600000), NESTOR_ERR_DELETE_FIRST);
    KT_EQ(tvm_run(&vm, 0, &m), NESTOR_EXIT_VMCALL);
    KT_EQ(*(volatile uint32_t *)(GM_BIG_VA + 3 * PAGE), 0x2222);
    return KT_PASS;
}

/* No piece survives anything that removes the frame's mapping, and the
 * caller's table never takes the guest's RAM with it: the frame unmapped
 * (the VMM's remap), its last capability deleted, the EPT's PD unmapped,
 * the EPT deleted:
 * the guest's access exits, the PT is empty (mapped as an ordinary table
 * afterwards it maps nothing); the PT deleted (its holder gone): the
 * 2 MiB leaf is back. */
KTEST(guestmem_ept_split_goes_with_the_frame_mapping)
{
    tvm_t vm;
    nestor_cptr_t big, seen;
    TVM_CREATE_OR_SKIP(&vm, split_code, 0);
    KT_OK(split_vm(&vm, &big, &seen, 0x3333));
    nestor_cptr_t pt = env_obj(NESTOR_OBJ_EPT_PT, 0), pt2 = env_obj(NESTOR_OBJ_EPT_PT, 0);
    nestor_word_t res[3];
    nu_msg_t m;
    /* The frame unmapped while split: every piece gone. */
    KT_OK(split(vm.ept, SPLIT_GPA, pt, 0));
    KT_OK(nu_frame_unmap(big));
    KT_EQ(tvm_run(&vm, 0, &m), NESTOR_EXIT_EPT_VIOLATION);
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_GUEST_PHYS), SPLIT_GPA + 0x1000);
    KT_EQ(protect(vm.ept, SPLIT_GPA + 0x1000, NESTOR_EPT_WITHHOLD_NONE, res),
          NESTOR_ERR_FAILED_LOOKUP);
    /* Mapped again (the VMM's remap); the old PT unmaps to nothing and
     * splits again. */
    KT_OK(ept_map(big, vm.ept, SPLIT_GPA, EPT_RWX));
    KT_OK(nu_page_table_unmap(pt));
    KT_OK(protect(vm.ept, SPLIT_GPA, NESTOR_EPT_WITHHOLD_NONE, res));
    KT_EQ(res[0], 21);
    KT_OK(split(vm.ept, SPLIT_GPA, pt, 0));
    vm.s->rip = TVM_CODE;
    KT_EQ(tvm_run(&vm, NESTOR_MTD_RIP, &m), NESTOR_EXIT_VMCALL);
    /* The PT deleted (its holder's memory revoked): joined, the guest
     * keeps its RAM. */
    KT_OK(protect(vm.ept, SPLIT_GPA + 0x3000, NESTOR_EPT_WITHHOLD_W, res));
    KT_OK(nu_cnode_delete(ROOT_CNODE, pt, ROOT_DEPTH));
    KT_OK(protect(vm.ept, SPLIT_GPA, NESTOR_EPT_WITHHOLD_NONE, res));
    KT_EQ(res[0], 21);
    vm.s->rip = TVM_CODE;
    KT_EQ(tvm_run(&vm, NESTOR_MTD_RIP, &m), NESTOR_EXIT_VMCALL);
    /* The frame's last capability deleted while split: no piece stays
     * (the memory goes back to its untyped); the PT, mapped as a table
     * where the leaf was, is empty: a 4 KiB frame maps into it. */
    KT_OK(split(vm.ept, SPLIT_GPA, pt2, 0));
    KT_OK(nu_cnode_revoke(ROOT_CNODE, big, ROOT_DEPTH));
    KT_OK(nu_cnode_delete(ROOT_CNODE, big, ROOT_DEPTH));
    vm.s->rip = TVM_CODE;
    KT_EQ(tvm_run(&vm, NESTOR_MTD_RIP, &m), NESTOR_EXIT_EPT_VIOLATION);
    KT_EQ(tvm_mr(&m, NESTOR_EXIT_MR_GUEST_PHYS), SPLIT_GPA + 0x1000);
    KT_OK(nu_page_table_unmap(pt2));
    KT_OK(nu_page_table_map(pt2, vm.ept, SPLIT_GPA));
    for (unsigned i = 0; i < 512; i += 73)
        KT_EQ(protect(vm.ept, SPLIT_GPA + i * PAGE, NESTOR_EPT_WITHHOLD_NONE, res),
              NESTOR_ERR_FAILED_LOOKUP);
    nestor_cptr_t small = env_obj(NESTOR_OBJ_FRAME_4K, 0);
    KT_OK(ept_map(small, vm.ept, SPLIT_GPA + 0x1000, EPT_RWX));
    /* A split under an EPT PD that is unmapped: the PD emptied, the pieces
     * out of the EPT; mapped again, nothing there. */
    nestor_cptr_t big2 = env_obj(NESTOR_OBJ_FRAME_2M, 0), pt3 = env_obj(NESTOR_OBJ_EPT_PT, 0);
    nestor_cptr_t pd = env_obj(NESTOR_OBJ_EPT_PD, 0);
    KT_OK(nu_page_table_map(pd, vm.ept, 1ULL << 30));
    KT_OK(ept_map(big2, vm.ept, (1ULL << 30) + SPLIT_GPA, EPT_RWX));
    KT_OK(split(vm.ept, (1ULL << 30) + SPLIT_GPA, pt3, 0));
    KT_OK(nu_page_table_unmap(pd));
    KT_OK(nu_page_table_map(pd, vm.ept, 1ULL << 30));
    KT_EQ(protect(vm.ept, (1ULL << 30) + SPLIT_GPA, NESTOR_EPT_WITHHOLD_NONE, res),
          NESTOR_ERR_FAILED_LOOKUP);
    KT_OK(nu_page_table_unmap(pt3));                    /* joins nothing */
    KT_EQ(protect(vm.ept, (1ULL << 30) + SPLIT_GPA, NESTOR_EPT_WITHHOLD_NONE, res),
          NESTOR_ERR_FAILED_LOOKUP);
    KT_OK(nu_frame_unmap(big2));
    KT_OK(ept_map(big2, vm.ept, (1ULL << 30) + SPLIT_GPA, EPT_RWX));
    /* A split in an EPT that is deleted whole: the PT is emptied when it
     * goes (its root gone, nothing to join), and maps nothing afterwards;
     * the frame unmaps to nothing and maps again. */
    nestor_cptr_t ept2 = env_obj(NESTOR_OBJ_EPT_PML4, 0), big3 = env_obj(NESTOR_OBJ_FRAME_2M, 0);
    nestor_cptr_t pt4 = env_obj(NESTOR_OBJ_EPT_PT, 0);
    KT_OK(nu_page_table_map(env_obj(NESTOR_OBJ_EPT_PDPT, 0), ept2, 0));
    KT_OK(nu_page_table_map(env_obj(NESTOR_OBJ_EPT_PD, 0), ept2, 0));
    KT_OK(ept_map(big3, ept2, SPLIT_GPA, EPT_RWX));
    KT_OK(split(ept2, SPLIT_GPA, pt4, 0));
    KT_OK(nu_cnode_delete(ROOT_CNODE, ept2, ROOT_DEPTH));
    KT_OK(nu_page_table_unmap(pt4));
    KT_OK(nu_page_table_map(pt4, vm.ept, 2 * SPLIT_GPA));
    KT_EQ(protect(vm.ept, 2 * SPLIT_GPA + PAGE, NESTOR_EPT_WITHHOLD_NONE, res),
          NESTOR_ERR_FAILED_LOOKUP);
    KT_OK(nu_frame_unmap(big3));
    KT_OK(ept_map(big3, vm.ept, 3 * SPLIT_GPA, EPT_RWX));
    return KT_PASS;
}
