/* device-servers/common/access.c - forwarded guest accesses (ds_access.h). */
#include <ds_access.h>
#include <fmt.h>

void ds_access_str(char *buf, size_t len, bool write, uint64_t offset, uint64_t size)
{
    fmt_snprintf(buf, len, "%s of %lu bytes at 0x%lx", write ? "write" : "read",
                 (unsigned long)size, (unsigned long)offset);
}
