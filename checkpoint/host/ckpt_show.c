/*
 * checkpoint/host/ckpt_show.c - listing and showing checkpoint images on
 * the host (ckpt_show.h). Every image is checked whole (ckpt_walk) before
 * anything of it is shown: what is printed was what a restore would load.
 */
#include "ckpt_show.h"
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char *kind_name(uint32_t kind)
{
    return kind == CKPT_KIND_FULL ? "full" : "incremental";
}

/* Image @k of the chain: its place (#k), kind, ...; a generation after
 * the first says so, and its full image names its parent. */
static void image_line(FILE *out, unsigned k, const ckpt_image_t *im)
{
    fprintf(out, "#%u %s vm=%s stack=0x%016" PRIx64 " ram=%" PRIu64 "KiB pages=%" PRIu64
            " time=%" PRIu64 " bytes=%" PRIu64 " at=%" PRIu64 " header=0x%08x", k,
            kind_name(im->h.kind), im->h.vm_name, im->h.stack_id, im->h.ram_bytes >> 10,
            im->h.pages, im->h.guest_time, im->h.image_bytes, im->base, im->h.header_crc);
    if (im->h.generation)
        fprintf(out, " generation=%u seq=%u", im->h.generation, im->h.seq);
    if (im->h.parent_header_crc)
        fprintf(out, " parent=0x%08x", im->h.parent_header_crc);
    fputc('\n', out);
}

/* The chain, with its verdict line; @img holds CKPT_MAX_IMAGES. */
static int walk(FILE *out, const ckpt_medium_t *m, ckpt_image_t *img, unsigned *n, bool list)
{
    ckpt_verdict_t v;
    bool ok = ckpt_walk(m, 0, img, CKPT_MAX_IMAGES, n, &v);
    if (list)
        for (unsigned i = 0; i < *n; i++)
            image_line(out, i, &img[i]);
    if (!ok) {
        fprintf(out, "image %u refused: %s: %s\n", *n, ckpt_err_name(v.err), v.why);
        return 1;
    }
    if (list && *n && img[*n - 1].h.generation)
        fprintf(out, "%u images, chain ok; a restore loads generation %u: #%u to #%u\n", *n,
                img[*n - 1].h.generation, ckpt_last_full(img, *n), *n - 1);
    else if (list)
        fprintf(out, "%u image%s, chain ok\n", *n, *n == 1 ? "" : "s");
    return 0;
}

int ckpt_ls(FILE *out, const ckpt_medium_t *m)
{
    ckpt_image_t *img = calloc(CKPT_MAX_IMAGES, sizeof *img);
    unsigned n = 0;
    int rc = img ? walk(out, m, img, &n, true) : 1;
    free(img);
    return rc;
}

static void seg(FILE *out, const char *name, const ckpt_seg_t *s)
{
    fprintf(out, "  %-4s sel=0x%04x base=0x%016" PRIx64 " limit=0x%08x ar=0x%05x\n", name, s->sel,
            s->base, s->limit, s->ar);
}

#define R(f) fprintf(out, "  %-16s 0x%016" PRIx64 "\n", #f, c.f)

static void show_vcpu(FILE *out, const ckpt_medium_t *m, const ckpt_image_t *im,
                      const ckpt_section_t *s)
{
    ckpt_vcpu_t c;
    if (!m->read(m->ctx, im->base + s->offset, &c, sizeof c))
        return;
    R(rax); R(rbx); R(rcx); R(rdx); R(rsi); R(rdi); R(rbp); R(rsp);
    R(r8); R(r9); R(r10); R(r11); R(r12); R(r13); R(r14); R(r15);
    R(rip); R(rflags); R(cr0); R(cr2); R(cr3); R(cr4); R(efer);
    seg(out, "es", &c.es); seg(out, "cs", &c.cs); seg(out, "ss", &c.ss);
    seg(out, "ds", &c.ds); seg(out, "fs", &c.fs); seg(out, "gs", &c.gs);
    seg(out, "ldtr", &c.ldtr); seg(out, "tr", &c.tr);
    R(gdtr_base); R(gdtr_limit); R(idtr_base); R(idtr_limit);
    R(interruptibility); R(activity); R(pending_dbg);
    R(sysenter_cs); R(sysenter_esp); R(sysenter_eip);
    R(star); R(lstar); R(cstar); R(fmask); R(kernel_gs_base); R(pat); R(tsc_aux);
    R(dr0); R(dr1); R(dr2); R(dr3); R(dr6); R(dr7); R(debugctl); R(xcr0);
    R(pdpte[0]); R(pdpte[1]); R(pdpte[2]); R(pdpte[3]);
    R(idt_vectoring); R(idt_vectoring_error); R(inject_info); R(inject_error);
    R(inject_instr_len);
}

static void show_devices(FILE *out, const ckpt_medium_t *m, const ckpt_image_t *im,
                         const ckpt_section_t *s)
{
    uint64_t off = 0;
    while (off + sizeof(ckpt_dev_record_t) <= s->bytes) {
        ckpt_dev_record_t d;
        if (!m->read(m->ctx, im->base + s->offset + off, &d, sizeof d))
            return;
        fprintf(out, "  %s.%u version %u, %u bytes\n", ckpt_dev_name(d.id), d.instance,
                d.version, d.bytes);
        off += (sizeof d + (uint64_t)d.bytes + 7) & ~7ull;
    }
}

static void show_ram(FILE *out, const ckpt_medium_t *m, const ckpt_image_t *im,
                     const ckpt_section_t *s)
{
    ckpt_ram_t r;
    if (!m->read(m->ctx, im->base + s->offset, &r, sizeof r))
        return;
    if (r.encoding == CKPT_RAM_DENSE) {
        fprintf(out, "  dense: pages %" PRIu64 "-%" PRIu64 " (gpa 0x%" PRIx64 "-0x%" PRIx64 ")\n",
                r.first_page, r.first_page + r.pages - (r.pages != 0),
                r.first_page * CKPT_PAGE_SIZE, (r.first_page + r.pages) * CKPT_PAGE_SIZE);
        return;
    }
    fprintf(out, "  list: %" PRIu64 " pages", r.pages);
    for (uint64_t i = 0; i < r.pages && i < 8; i++) {
        uint64_t pn = 0;
        m->read(m->ctx, im->base + s->offset + sizeof r + i * sizeof pn, &pn, sizeof pn);
        fprintf(out, " 0x%" PRIx64, pn * CKPT_PAGE_SIZE);
    }
    fprintf(out, r.pages > 8 ? " ...\n" : "\n");
}

/* The VM's disk as the image holds it (checkpoint/README.md "The disk"). */
static void show_disk(FILE *out, const ckpt_medium_t *m, const ckpt_image_t *im,
                      const ckpt_section_t *s)
{
    ckpt_disk_t d;
    if (!m->read(m->ctx, im->base + s->offset, &d, sizeof d))
        return;
    fprintf(out, "  vm disk: %" PRIu64 " sectors (%" PRIu64 " KiB) in %" PRIu64 " chunks of %u "
            "sectors\n", d.disk_sectors, d.disk_sectors / 2, ckpt_disk_chunks(&d),
            d.chunk_sectors);
    if (d.encoding == CKPT_DISK_DENSE) {
        fprintf(out, "  dense: the whole disk, chunks 0-%" PRIu64 "\n", d.chunks - (d.chunks != 0));
        return;
    }
    fprintf(out, "  list: %" PRIu64 " chunks written since the image before:", d.chunks);
    for (uint64_t i = 0; i < d.chunks && i < 8; i++) {
        uint64_t k = 0;
        m->read(m->ctx, im->base + s->offset + sizeof d + i * sizeof k, &k, sizeof k);
        fprintf(out, " %" PRIu64 " (sector %" PRIu64 ")", k, k * d.chunk_sectors);
    }
    fprintf(out, d.chunks > 8 ? " ...\n" : "\n");
}

int ckpt_show(FILE *out, const ckpt_medium_t *m, unsigned index)
{
    ckpt_image_t *img = calloc(CKPT_MAX_IMAGES, sizeof *img);
    unsigned n = 0;
    if (!img)
        return 1;
    int rc = walk(out, m, img, &n, false);
    if (index >= n) {
        if (rc == 0)
            fprintf(out, "no image %u: the chain has %u\n", index, n);
        free(img);
        return 1;
    }
    const ckpt_image_t *im = &img[index];
    const ckpt_header_t *h = &im->h;
    fprintf(out, "image %u: %s, format version %u, %" PRIu64 " bytes at byte %" PRIu64 "\n",
            index, kind_name(h->kind), h->version, h->image_bytes, im->base);
    fprintf(out, "generation %u, seq %u, parent header 0x%08x\n", h->generation, h->seq,
            h->parent_header_crc);
    fprintf(out, "vm %s, stack identity 0x%016" PRIx64 ", RAM %" PRIu64 " KiB, %" PRIu64
            " pages saved, taken after %" PRIu64 " units of guest time\n", h->vm_name,
            h->stack_id, h->ram_bytes >> 10, h->pages, h->guest_time);
    fprintf(out, "checksums: header 0x%08x, image 0x%08x, previous header 0x%08x\n",
            h->header_crc, h->image_crc, h->prev_header_crc);
    for (uint32_t i = 0; i < h->n_sections; i++) {
        const ckpt_section_t *s = &im->sec[i];
        fprintf(out, "section %u: %s, %" PRIu64 " bytes at %" PRIu64 ", crc 0x%08x\n", i,
                ckpt_sec_name(s->type), s->bytes, s->offset, s->crc);
        if (s->type == CKPT_SEC_VCPU)
            show_vcpu(out, m, im, s);
        else if (s->type == CKPT_SEC_DEVICES)
            show_devices(out, m, im, s);
        else if (s->type == CKPT_SEC_RAM)
            show_ram(out, m, im, s);
        else if (s->type == CKPT_SEC_DISK)
            show_disk(out, m, im, s);
    }
    free(img);
    return rc;
}
