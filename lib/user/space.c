/* lib/user/space.c - address spaces from untyped memory. */
#include <string.h>
#include <user/print.h>
#include <user/runtime.h>
#include <user/space.h>

#define PAGE 4096ULL
extern char __image_start[], __image_end[];

unsigned nu_ram_untypeds(const nestor_bootinfo_t *bi, nestor_cptr_t *out, uint64_t *total)
{
    unsigned n = 0;
    for (nestor_word_t i = 0; i < bi->untyped.end - bi->untyped.start &&
                              i < NESTOR_BOOTINFO_MAX_UNTYPED; i++) {
        if (bi->untyped_list[i].is_device)
            continue;
        if (total)
            *total += 1ULL << bi->untyped_list[i].size_bits;
        unsigned j = n++;
        for (; j > 0 && bi->untyped_list[out[j - 1] - bi->untyped.start].size_bits <
                            bi->untyped_list[i].size_bits; j--)
            out[j] = out[j - 1];
        out[j] = bi->untyped.start + i;
    }
    return n;
}

bool nu_monitor_start(const nestor_bootinfo_t *bi, const char *kind, char *name,
                      size_t name_size, nestor_cptr_t *untypeds, nestor_cptr_t *ep,
                      nu_alloc_t *alloc)
{
    if (!nu_option_copy(bi->cmdline, "monitor=", name, name_size)) {
        strncpy(name, kind, name_size - 1);
        name[name_size - 1] = 0;
    }
    const nestor_grant_desc_t *service = nu_grant(bi, NESTOR_GRANT_SERVICE, NULL);
    unsigned n = nu_ram_untypeds(bi, untypeds, NULL);
    if (!service || n == 0) {
        printf("%s %s: no endpoint or no memory granted: nothing to serve\n", kind, name);
        return false;
    }
    *ep = service->cptr;
    *alloc = (nu_alloc_t){ untypeds[0], NESTOR_CAP_INIT_CNODE, bi->empty.start, bi->empty.end,
                           untypeds + 1, n - 1 };
    return true;
}

nestor_cptr_t nu_alloc_obj(nu_alloc_t *a, nestor_word_t type, nestor_word_t size_bits)
{
    if (a->next_slot >= a->end_slot)
        return 0;
    nestor_cptr_t s = a->next_slot;
    while (nu_untyped_retype(a->untyped, type, size_bits, a->cnode, 0, 0, s, 1) != NESTOR_OK) {
        if (a->n_spares == 0)
            return 0;
        a->untyped = *a->spares++;
        a->n_spares--;
    }
    a->next_slot++;
    return s;
}

/* Map @frame at @va, adding the PDPT/PD/PT it needs. */
nestor_error_t nu_map_frame(nu_alloc_t *a, nestor_cptr_t pml4, nestor_word_t va,
                                      nestor_cptr_t frame, nestor_word_t rights)
{
    static const nestor_word_t tables[] = { NESTOR_OBJ_PDPT, NESTOR_OBJ_PD, NESTOR_OBJ_PT };
    static const unsigned shifts[] = { 39, 30, 21 };
    nestor_error_t e = nu_frame_map(frame, pml4, va, rights, 0);
    for (int level = 0; e == NESTOR_ERR_FAILED_LOOKUP && level < 3; level++) {
        nestor_cptr_t t = nu_alloc_obj(a, tables[level], 0);
        if (!t)
            return NESTOR_ERR_NOT_ENOUGH_MEMORY;
        nestor_word_t base = va & ~((1ULL << shifts[level]) - 1);
        nestor_error_t te = nu_page_table_map(t, pml4, base);
        if (te != NESTOR_OK && te != NESTOR_ERR_DELETE_FIRST)
            return te;
        e = nu_frame_map(frame, pml4, va, rights, 0);
    }
    return e;
}

nestor_error_t nu_map_new_page(nu_alloc_t *a, nestor_cptr_t pml4, nestor_word_t va,
                               nestor_cptr_t *frame_out)
{
    nestor_cptr_t f = nu_alloc_obj(a, NESTOR_OBJ_FRAME_4K, 0);
    if (!f)
        return NESTOR_ERR_NOT_ENOUGH_MEMORY;
    if (frame_out)
        *frame_out = f;
    return nu_map_frame(a, pml4, va, f, NESTOR_RIGHT_READ | NESTOR_RIGHT_WRITE);
}

nestor_cptr_t nu_fill_frame(nu_alloc_t *a, nestor_word_t type, nestor_word_t scratch_va,
                            nestor_cptr_t pml4, nestor_word_t va, nestor_word_t rights,
                            const void *src, size_t n, size_t offset)
{
    size_t bytes = type == NESTOR_OBJ_FRAME_2M ? 1ULL << NESTOR_FRAME_2M_BITS : PAGE;
    if (offset > bytes || n > bytes - offset)
        return 0;
    nestor_cptr_t f = nu_alloc_obj(a, type, 0);
    if (!f || nu_map_frame(a, NESTOR_CAP_INIT_VSPACE, scratch_va, f,
                           NESTOR_RIGHT_READ | NESTOR_RIGHT_WRITE) != NESTOR_OK)
        return 0;
    memset((void *)(uintptr_t)scratch_va, 0, bytes);
    if (n)
        memcpy((uint8_t *)(uintptr_t)scratch_va + offset, src, n);
    /* Unmapped, the same capability maps again, in the other space. */
    nu_frame_unmap(f);
    return nu_map_frame(a, pml4, va, f, rights) == NESTOR_OK ? f : 0;
}

nestor_cptr_t nu_fill_page(nu_alloc_t *a, nestor_word_t scratch_va, nestor_cptr_t pml4,
                           nestor_word_t va, nestor_word_t rights, const void *src, size_t n,
                           size_t offset)
{
    return nu_fill_frame(a, NESTOR_OBJ_FRAME_4K, scratch_va, pml4, va, rights, src, n, offset);
}

nestor_cptr_t nu_clone_space(nu_alloc_t *a, nestor_word_t scratch_va)
{
    nestor_cptr_t pml4 = nu_alloc_obj(a, NESTOR_OBJ_PML4, 0);
    if (!pml4)
        return 0;
    for (nestor_word_t va = (nestor_word_t)(uintptr_t)__image_start;
         va < (nestor_word_t)(uintptr_t)__image_end; va += PAGE)
        if (!nu_fill_page(a, scratch_va, pml4, va, NESTOR_RIGHT_READ | NESTOR_RIGHT_WRITE,
                          (const void *)(uintptr_t)va, PAGE, 0))
            return 0;
    return pml4;
}

/* The TLS block sits in the IPC buffer's page, after the buffer itself. */
#define TLS_OFFSET 2048
_Static_assert(sizeof(nestor_ipc_buffer_t) <= TLS_OFFSET, "IPC buffer fits before the TLS");

/* First code of every thread made by nu_thread_new. Its FS base already
 * points at its TLS block (set in its initial registers): fill it in. No
 * system call is needed, so this works whatever CSpace the thread has. */
static void thread_entry(void (*fn)(nestor_word_t), nestor_word_t arg, nestor_word_t buf_va)
{
    nu_tls_t *tls = (nu_tls_t *)(uintptr_t)(buf_va + TLS_OFFSET);
    tls->self = tls;
    tls->ipc_buffer = (nestor_ipc_buffer_t *)(uintptr_t)buf_va;
    fn(arg);
    nu_msg_t none = { 0 };
    for (;;)
        nu_recv(0, &none), nu_yield();
}

nestor_cptr_t nu_thread_new(nu_alloc_t *a, nestor_cptr_t pml4, nestor_word_t region,
                            void (*fn)(nestor_word_t), nestor_word_t arg, nestor_word_t prio,
                            nestor_cptr_t fault_ep)
{
    return nu_thread_new_in(a, a->cnode, pml4, region, fn, arg, prio, fault_ep);
}

nestor_cptr_t nu_thread_new_in(nu_alloc_t *a, nestor_cptr_t cspace, nestor_cptr_t pml4,
                               nestor_word_t region, void (*fn)(nestor_word_t),
                               nestor_word_t arg, nestor_word_t prio, nestor_cptr_t fault_ep)
{
    nestor_cptr_t tcb = nu_alloc_obj(a, NESTOR_OBJ_TCB, 0), buf;
    if (!tcb || nu_map_new_page(a, pml4, region, 0) != NESTOR_OK ||
        nu_map_new_page(a, pml4, region + PAGE, &buf) != NESTOR_OK)
        return 0;
    if (nu_tcb_configure(tcb, fault_ep, cspace, pml4, buf, region + PAGE) != NESTOR_OK ||
        nu_tcb_set_priority(tcb, prio) != NESTOR_OK)
        return 0;
    nestor_user_context_t ctx = { 0 };
    ctx.rip = (nestor_word_t)(uintptr_t)thread_entry;
    ctx.rsp = region + PAGE - 8;
    ctx.rdi = (nestor_word_t)(uintptr_t)fn;
    ctx.rsi = arg;
    ctx.rdx = region + PAGE;
    ctx.fs_base = region + PAGE + TLS_OFFSET;
    return nu_tcb_write_registers(tcb, 1, &ctx) == NESTOR_OK ? tcb : 0;
}

/* The EPT tables above a 2 MiB leaf or an EPT PT: a PDPT (per 512 GiB) and
 * a PD (per 1 GiB). */
#define EPT_LEVELS_2M 2

/* Invoke @label on @obj with @args and the EPT @ept as CAP0 (a mapping at
 * @gpa), adding the EPT PDPT and PD it lacks. */
static nestor_error_t ept_map_with_tables(nu_alloc_t *a, nestor_cptr_t ept, uint64_t gpa,
                                          nestor_cptr_t obj, nestor_word_t label,
                                          const nestor_word_t *args, unsigned n)
{
    static const nestor_word_t tables[EPT_LEVELS_2M] = { NESTOR_OBJ_EPT_PDPT, NESTOR_OBJ_EPT_PD };
    static const unsigned shifts[EPT_LEVELS_2M] = { 39, 30 };
    nestor_error_t e = nu_invoke(obj, label, args, n, &ept, 1, 0, 0);
    for (int level = 0; e == NESTOR_ERR_FAILED_LOOKUP && level < EPT_LEVELS_2M; level++) {
        nestor_cptr_t t = nu_alloc_obj(a, tables[level], 0);
        if (!t)
            return NESTOR_ERR_NOT_ENOUGH_MEMORY;
        nestor_error_t te = nu_page_table_map(t, ept, gpa & ~((1ULL << shifts[level]) - 1));
        if (te != NESTOR_OK && te != NESTOR_ERR_DELETE_FIRST)
            return te;
        e = nu_invoke(obj, label, args, n, &ept, 1, 0, 0);
    }
    return e;
}

nestor_error_t nu_ept_map_2m(nu_alloc_t *a, nestor_cptr_t ept, uint64_t gpa, nestor_cptr_t frame,
                             nestor_word_t rights)
{
    const nestor_word_t args[] = { gpa, rights, NESTOR_EPT_MEMTYPE_WB };
    return ept_map_with_tables(a, ept, gpa, frame, NESTOR_EPT_MAP_FRAME, args, 3);
}

nestor_error_t nu_ept_map_pt(nu_alloc_t *a, nestor_cptr_t ept, uint64_t gpa, nestor_cptr_t pt)
{
    const nestor_word_t args[] = { gpa };
    return ept_map_with_tables(a, ept, gpa, pt, NESTOR_PAGE_TABLE_MAP, args, 1);
}
