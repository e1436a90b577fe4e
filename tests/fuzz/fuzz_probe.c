// SPDX-License-Identifier: LGPL-2.1-or-later
/* Built at configure time: can this clang link a libFuzzer target? */
#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return 0;
}
