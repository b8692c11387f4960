/*
 * lib/include/string.h - the freestanding subset of <string.h> that kernel
 * and user-level Nestor code use (GCC may also emit calls to mem* itself).
 */
#ifndef LIB_STRING_H
#define LIB_STRING_H
#include <stddef.h>

void *memset(void *dst, int c, size_t n);
void *memcpy(void *restrict dst, const void *restrict src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
char *strncpy(char *dst, const char *src, size_t n);
void *memchr(const void *s, int c, size_t n);
size_t strnlen(const char *s, size_t max);
char *strrchr(const char *s, int c);

#endif
