/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/* uapi constants newer than the build host's headers (Debian bookworm ships 6.1 uapi). Each is
 * defined only when the headers lack it, with the value from the kernel's include/uapi.
 */
#ifndef XDPCTL_COMPAT_H
#define XDPCTL_COMPAT_H

#ifndef __VMLINUX_H__
#include <linux/bpf.h>

/* 6.3: program may be loaded bound to a device to use RX metadata kfuncs */
#ifndef BPF_F_XDP_DEV_BOUND_ONLY
#define BPF_F_XDP_DEV_BOUND_ONLY (1U << 6)
#endif
/* 5.18: program understands multi-buffer (frags) frames */
#ifndef BPF_F_XDP_HAS_FRAGS
#define BPF_F_XDP_HAS_FRAGS (1U << 5)
#endif
/* 5.18: test run transmits redirected frames for real */
#ifndef BPF_F_TEST_XDP_LIVE_FRAMES
#define BPF_F_TEST_XDP_LIVE_FRAMES (1U << 1)
#endif
#endif /* !__VMLINUX_H__ */

#endif
