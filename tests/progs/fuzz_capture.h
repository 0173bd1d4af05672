/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* The record fuzz_capture.bpf.c puts in its ring buffer `frames` for every frame a port's peer
 * received (read by tests/fuzz/fuzz.cpp). */
#ifndef XDPCTL_FUZZ_CAPTURE_H
#define XDPCTL_FUZZ_CAPTURE_H

#define FUZZ_CAPTURE_MAX 4096

struct fuzz_frame {
	__u32 ifindex; /* the device that received it */
	__u32 len;     /* the frame's length; data holds at most FUZZ_CAPTURE_MAX of it */
	__u8 data[FUZZ_CAPTURE_MAX];
};

#endif
