#pragma once
// io_uring definitions newer than the liburing the build has (Debian's liburing 2.3), by their
// kernel values; a liburing that has them keeps its own.
#include <liburing.h>

// Receive flag (Linux 6.10, in sqe->ioprio): one receive may fill several provided buffers, taken in
// ring order, under one completion that names the first.
#ifndef IORING_RECVSEND_BUNDLE
#define IORING_RECVSEND_BUNDLE (1U << 4)
#endif
// io_uring_params.features bit (Linux 6.10): the kernel knows IORING_RECVSEND_BUNDLE.
#ifndef IORING_FEAT_RECVSEND_BUNDLE
#define IORING_FEAT_RECVSEND_BUNDLE (1U << 14)
#endif
