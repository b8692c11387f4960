/* lib/user/include/user/print.h - console output for user code (debug putchar). */
#ifndef USER_PRINT_H
#define USER_PRINT_H

int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
