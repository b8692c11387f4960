/* nestor/version.h - name and version printed in banners. */
#ifndef NESTOR_VERSION_H
#define NESTOR_VERSION_H

#define NESTOR_NAME    "Nestor microkernel"
#define NESTOR_VERSION "0.1"

#endif
