// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/* ctlmap_btf: no program, only BTF. It carries the control map's value structs
 * (include/xdpctl/ctlmap.h) and the metadata struct (include/xdpctl/meta.h) in its BTF, so that
 * libxdpctl describes every control map value from BTF alone, with no file on disk: the
 * skeleton's elf_bytes() is opened in memory and its BTF kept (loader/src/ctl/btf.cpp).
 *
 * Maps: none. Globals: one unused instance of each type, which is what puts the type in BTF.
 * Load: never loaded; `xdpctl ctl stats|attr|md` print values through this BTF.
 * Test: tests/ctl_btf_test.cpp prints every value type through it.
 */
#include "lib/common.h"
#include "xdpctl/ctlmap.h"
#include "xdpctl/meta.h"

struct bpf_ctrl_xdp_stats ctlmap_xdp_stats;
struct bpf_ctrl_xdp_attr ctlmap_xdp_attr;
struct bpf_ctrl_xdp_md ctlmap_xdp_md;
struct xdpctl_meta ctlmap_meta;
enum bpf_ctrl_type ctlmap_ctrl_type;
enum bpf_ctrl_cmd ctlmap_ctrl_cmd;

char LICENSE[] SEC("license") = "Dual BSD/GPL";
