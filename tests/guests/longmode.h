/* tests/guests/longmode.h - what longmode.c and longmode64.S share. */
#ifndef TESTS_GUESTS_LONGMODE_H
#define TESTS_GUESTS_LONGMODE_H

#define LM_SEL_CODE32        0x08       /* the guest library's flat code segment */
#define LM_SEL_DATA          0x10
#define LM_SEL_CODE64        0x18
#define LM_WIDE_INPUT        0x123456789
#define LM_WIDE_SHIFT        8
#define LM_WIDE_EXPECTED     0x12345678900ULL
#define LM_LAPIC_VERSION_GPA 0xFEE00030
#define LM_ALIAS_VA          0x40001234 /* 1 GiB + 0x1234 -> guest-physical 0x201234 */
#define LM_ALIAS_GPA         0x201234

/* struct lm_results offsets */
#define LM_RES_WIDE          0
#define LM_RES_EXT_EDX       8
#define LM_RES_LAPIC_VERSION 12
#define LM_RES_ALIAS         16
#define LM_RES_RAN64         20
#define LM_RES_STR_RDI       24         /* REP INSB, 64-bit addresses: RDI, RCX after */
#define LM_RES_STR_RCX       32
#define LM_RES_STR32_RDI     40         /* REP INSB, 32-bit addresses (0x67): RDI, RCX after */
#define LM_RES_STR32_RCX     48
#define LM_RES_STR_BUF       56         /* 8 bytes INSB writes into (3, then 2 more) */
#define LM_RES_CR8_TPR       64         /* the LAPIC TPR after MOV CR8 <- LM_CR8_VALUE */
#define LM_RES_TPR_CR8       68         /* CR8 after the TPR was written LM_TPR_VALUE */
#define LM_LAPIC_TPR_GPA     0xFEE00080
#define LM_CR8_VALUE         5
#define LM_TPR_VALUE         0x7C       /* class 7, sub-class C: CR8 reads 7 */
#define LM_ABSENT_PORT       0x2F0      /* no device: reads all ones (bare Bochs
                                         * 2.7 answers 0 at 0x2E0) */
#define LM_STR_HIGH          0xAB00000000000000 /* upper RDI/RCX bits 0x67 must clear */

#ifndef __ASSEMBLER__
#include <stdint.h>
struct lm_results {
    uint64_t wide;
    uint32_t ext_edx, lapic_version, alias, ran64;
    uint64_t str_rdi, str_rcx, str32_rdi, str32_rcx;
    uint8_t str_buf[8];
    uint32_t cr8_tpr, tpr_cr8;
};
_Static_assert(__builtin_offsetof(struct lm_results, cr8_tpr) == LM_RES_CR8_TPR, "layout");
_Static_assert(__builtin_offsetof(struct lm_results, tpr_cr8) == LM_RES_TPR_CR8, "layout");
_Static_assert(__builtin_offsetof(struct lm_results, str_buf) == LM_RES_STR_BUF, "layout");
_Static_assert(__builtin_offsetof(struct lm_results, ext_edx) == LM_RES_EXT_EDX, "layout");
_Static_assert(__builtin_offsetof(struct lm_results, ran64) == LM_RES_RAN64, "layout");
void long_mode_probe(struct lm_results *r);
#endif
#endif
