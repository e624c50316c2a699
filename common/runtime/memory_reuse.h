// Large blocks freed by one tensor operation are reused by the next (docs/architecture.md §10).
//
// glibc's malloc maps every block above a threshold (adaptive, at most 32 MB) with mmap and unmaps it on
// free, and gives the heap's free top back to the kernel above another. A category's tensors are often
// larger (Point-MAE's attention maps, 25 MB a block; the mapping networks' activations, ~60 MB), so each
// was mapped afresh and the kernel cleared it page by page on first touch, tens of milliseconds per
// tensor before any arithmetic.
#pragma once

namespace cfm {

// Raises both limits to 1 GiB for this process: blocks up to 1 GiB come from the heap and stay there
// after free, for the next allocation. The peak memory is unchanged; what stays mapped after a free is at
// most 1 GiB above what is in use. Call once, early, in a process that computes. False if the C library
// refused (not glibc: nothing changes).
bool keep_freed_memory_for_reuse();

}  // namespace cfm
