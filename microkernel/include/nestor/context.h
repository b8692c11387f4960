/*
 * nestor/context.h - a user thread's register state as read and written with
 * NESTOR_TCB_READ_REGISTERS / WRITE_REGISTERS and carried in fault messages.
 * Word order is the order of the fields.
 */
#ifndef NESTOR_CONTEXT_H
#define NESTOR_CONTEXT_H
#include <nestor/types.h>

typedef struct nestor_user_context {
    nestor_word_t rip, rsp, rflags;
    nestor_word_t rax, rbx, rcx, rdx, rsi, rdi, rbp;
    nestor_word_t r8, r9, r10, r11, r12, r13, r14, r15;
    nestor_word_t fs_base, gs_base;
} nestor_user_context_t;

#define NESTOR_CONTEXT_WORDS (sizeof(nestor_user_context_t) / sizeof(nestor_word_t))

#endif
