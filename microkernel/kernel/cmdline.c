/* kernel/cmdline.c - find "key=value" options in the kernel command line. */
#include "kernel/cmdline.h"

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

/* Does the word at @w (ending at space/NUL) have key @key? Sets *val. */
static bool word_matches(const char *w, const char *key, const char **val)
{
    size_t i = 0;
    while (key[i] && w[i] == key[i])
        i++;
    if (key[i] != '\0')
        return false;
    if (w[i] == '=') {
        *val = w + i + 1;
        return true;
    }
    if (w[i] == '\0' || is_space(w[i])) {
        *val = w + i;
        return true;
    }
    return false;
}

bool cmdline_get(const char *cmdline, const char *key, char *out, size_t outlen)
{
    const char *found = NULL;
    if (!cmdline || !key || !*key || !out || outlen == 0)
        return false;
    for (const char *p = cmdline; *p;) {
        while (is_space(*p))
            p++;
        if (!*p)
            break;
        const char *val;
        if (word_matches(p, key, &val))
            found = val;
        while (*p && !is_space(*p))
            p++;
    }
    if (!found)
        return false;
    size_t n = 0;
    while (found[n] && !is_space(found[n])) {
        if (n + 1 >= outlen)
            return false;
        out[n] = found[n];
        n++;
    }
    out[n] = '\0';
    return true;
}
