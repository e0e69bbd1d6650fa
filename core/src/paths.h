/* Locating files relative to where libbitnet itself is installed, so a
 * copied or relocated install tree keeps working. */
#ifndef BITNET_PATHS_H
#define BITNET_PATHS_H

#include <stddef.h>

#include "bitnet/backend.h"

/* Directory holding libbitnet.so (the build tree's lib/ or install lib/). */
bn_status bn_lib_dir(char *out, size_t len);
/* <lib dir>/<rel>, e.g. "bitnet/plugins" or "../share/bitnet". */
bn_status bn_install_relative(const char *rel, char *out, size_t len);

#endif
