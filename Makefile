# xdpctl: the one entry point. `make` builds BPF objects, skeletons, the loader and the tests;
# `make test` runs them; `make deps` installs what a fresh Debian machine lacks.
#
#   make [V=1] [BUILD=build] [VMLINUX_BTF=/sys/kernel/btf/vmlinux]

BUILD ?= build
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
CLANG ?= clang
BPFTOOL ?= $(shell command -v bpftool 2>/dev/null || echo /usr/sbin/bpftool)
CMAKE ?= cmake
CTEST ?= ctest
ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# Programs of the collection (bpf/), test-only programs that drive them (tests/progs/), and the
# benchmarks' bare baselines (tests/bench/).
BPF_SRCS := $(wildcard bpf/*.bpf.c tests/progs/*.bpf.c tests/bench/*.bpf.c)
BPF_NAMES := $(patsubst %.bpf.c,%,$(notdir $(BPF_SRCS)))
BPF_OBJS := $(addprefix $(BUILD)/bpf/,$(addsuffix .bpf.o,$(BPF_NAMES)))
SKELS := $(addprefix skel/,$(addsuffix .skel.h,$(BPF_NAMES)))
BPF_HDRS := $(wildcard bpf/lib/*.h include/xdpctl/*.h tests/bench/*.bpf.h tests/progs/*.h)
VMLINUX_H := $(BUILD)/vmlinux/vmlinux.h

BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	-I$(BUILD)/vmlinux -Ibpf -Iinclude -mcpu=v3

CMAKE_DIR := $(BUILD)/cmake
DEPS_STAMP := $(BUILD)/.deps

.DELETE_ON_ERROR:
.PHONY: all deps bpf skel cxx test bench fuzz converge-soak demo kmod lane lane-soak clean dist install uninstall deb deb-check

all: cxx

deps:
	$(Q)bash scripts/deps.sh
	$(Q)mkdir -p $(BUILD) && touch $(DEPS_STAMP)

# Once deps ran in this build tree, `make` does not re-check packages on every call.
$(DEPS_STAMP): scripts/deps.sh
	$(Q)bash scripts/deps.sh
	$(Q)mkdir -p $(BUILD) && touch $@

$(VMLINUX_H): $(DEPS_STAMP)
	$(call msg,GEN,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@.tmp && mv $@.tmp $@

# clang output → `bpftool gen object` (static linking, BTF dedup) → skeleton
define bpf_compile
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(dir $@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@
endef
$(BUILD)/bpf/%.tmp.o: bpf/%.bpf.c $(BPF_HDRS) $(VMLINUX_H)
	$(bpf_compile)
$(BUILD)/bpf/%.tmp.o: tests/progs/%.bpf.c $(BPF_HDRS) $(VMLINUX_H)
	$(bpf_compile)
$(BUILD)/bpf/%.tmp.o: tests/bench/%.bpf.c $(BPF_HDRS) $(VMLINUX_H)
	$(bpf_compile)

$(BUILD)/bpf/%.bpf.o: $(BUILD)/bpf/%.tmp.o
	$(call msg,GEN-OBJ,$@)
	$(Q)$(BPFTOOL) gen object $@ $<

skel/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $* > $@.tmp && mv $@.tmp $@

.SECONDARY: $(patsubst %.bpf.o,%.tmp.o,$(BPF_OBJS))

bpf: $(BPF_OBJS)
skel: $(SKELS)

$(CMAKE_DIR)/build.ninja: CMakeLists.txt $(DEPS_STAMP)
	$(call msg,CMAKE,$(CMAKE_DIR))
	$(Q)$(CMAKE) -S . -B $(CMAKE_DIR) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DXDPCTL_BPF_OBJ_DIR=$(abspath $(BUILD)/bpf) $(CMAKE_ARGS) >/dev/null

cxx: $(SKELS) $(CMAKE_DIR)/build.ninja
	$(Q)$(CMAKE) --build $(CMAKE_DIR) $(if $(filter 1,$(V)),-- -v,)

# `make install [PREFIX=/usr/local] [DESTDIR=...]`: the CMake install rules (CMakeLists.txt, the
# end; what goes where: docs/install.md), after building what they install (not the tests).
# `make uninstall [DESTDIR=...]` removes what the last install wrote (its manifest; give the same
# DESTDIR) and the directories of xdpctl's own that are then empty.
PREFIX ?= /usr/local
dist: $(SKELS) $(CMAKE_DIR)/build.ninja
	$(Q)$(CMAKE) --build $(CMAKE_DIR) --target xdpctl_dist

install: dist
	$(Q)DESTDIR=$(DESTDIR) $(CMAKE) --install $(CMAKE_DIR) --prefix $(PREFIX)
	$(Q)cp $(CMAKE_DIR)/install_manifest.txt $(BUILD)/install_manifest.txt

uninstall:
	$(Q)test -f $(BUILD)/install_manifest.txt || { echo "uninstall: nothing installed from $(BUILD)" >&2; exit 1; }
	$(Q)DESTDIR=$(DESTDIR) $(CMAKE) -DMANIFEST=$(abspath $(BUILD))/install_manifest.txt -P cmake/uninstall.cmake

# `make deb`: the Debian packages (debian/), built with Debian's tools from the committed tree
# (git archive HEAD) in $(BUILD)/deb/src, then checked with lintian; the .debs land in $(BUILD)/deb.
DEB_DIR := $(BUILD)/deb
deb: $(DEPS_STAMP)
	$(Q)rm -rf $(DEB_DIR) && mkdir -p $(DEB_DIR)/src
	$(Q)git archive HEAD | tar -x -C $(DEB_DIR)/src
	$(Q)cd $(DEB_DIR)/src && dpkg-buildpackage -b -us -uc
	$(Q)lintian --info --display-info $(DEB_DIR)/*.changes

# The packages on a fresh bookworm (debootstrap, cached in $(BUILD)/deb-check): apt install,
# then --version, man, completion and a load/unload with nothing of the source tree.
deb-check: deb
	$(Q)bash scripts/deb-check.sh --build $(BUILD)

# ctest's summary line ("N% tests passed, N tests failed out of N") ends the output; with the
# kernel lane (LANE=1, the default) kmod/test-all.sh runs ctest, then the lane, and ends with a
# combined "all: N passed, N failed, N skipped". `make test LANE=0` is ctest alone.
LANE ?= 1
ifeq ($(LANE),1)
test: cxx kmod
	$(Q)bash kmod/test-all.sh --build $(BUILD) $(CTEST_ARGS)
else
test: cxx
	$(Q)cd $(CMAKE_DIR) && $(CTEST) --output-on-failure --timeout 300 $(CTEST_ARGS)
endif

# xdpctl demo on this machine (root): namespaces, veths, redirect, broadcast, an egress program,
# real traffic, the counters, and everything removed again. Builds the xdpctl binary only (not
# the test suites) first; a fresh machine gets its packages through the deps stamp, as for `make`.
demo: $(SKELS) $(CMAKE_DIR)/build.ninja
	$(Q)$(CMAKE) --build $(CMAKE_DIR) --target xdpctl
	$(Q)$(CMAKE_DIR)/bin/xdpctl demo

# every fuzzer of tests/fuzz/ against its model for FUZZ_SECONDS each (make test runs a fixed
# number of inputs per fuzzer instead)
FUZZ_SECONDS ?= 60
fuzz: cxx
	$(Q)bash tests/fuzz/run.sh --build $(BUILD) --seconds $(FUZZ_SECONDS)

# The control plane's crash and race trials turned up (make test runs 30 random kills and 3 x 30
# racing commands): every step boundary of every verb, CRASH_RANDOM kills at random moments,
# RACE_PROCS processes x RACE_ROUNDS commands each. Host only; prints the [ crash ] / [ race ] figures.
CRASH_RANDOM ?= 300
RACE_ROUNDS ?= 300
RACE_PROCS ?= 4
converge-soak: cxx
	$(Q)cd $(CMAKE_DIR) && XDPCTL_CRASH_RANDOM=$(CRASH_RANDOM) XDPCTL_RACE_ROUNDS=$(RACE_ROUNDS) \
		XDPCTL_RACE_PROCS=$(RACE_PROCS) ./loader_converge_test \
		--gtest_filter='LoaderConverge.KilledCommandsAreFinishedByRunningThemAgain:LoaderConverge.RacingProcessesLeaveATrueState'

# Benchmarks (tests/bench/run.sh): results in $(BUILD)/bench/ (results.json, chart.png) and the
# table of docs/bench.md; bounded by BENCH_TIMEOUT seconds, nothing left behind.
BENCH_TIMEOUT ?= 1500
bench: cxx
	$(Q)bash tests/bench/run.sh --build $(BUILD) --timeout $(BENCH_TIMEOUT)

# --- kernel lane (kmod/) -------------------------------------------------------------------
# Debian's 6.1 and 6.12 kernels unpacked into $(BUILD)/kernels (never installed), bpf_ctlmap.ko
# built for each into $(BUILD)/kmod/<kver>/, and the test binaries run under qemu (TCG).
LANE_KERNELS ?= 6.1 6.12
KMOD_SRCS := kmod/bpf_ctlmap.c kmod/Kbuild kmod/build-kmod.sh include/xdpctl/ctlmap.h include/xdpctl/types.h

$(BUILD)/kernels/%/.done: kmod/fetch-kernels.sh | $(DEPS_STAMP)
	$(Q)bash kmod/fetch-kernels.sh --build $(BUILD) $*

$(BUILD)/kmod/.built-%: $(KMOD_SRCS) $(BUILD)/kernels/%/.done $(BUILD)/kernels/6.12/.done
	$(Q)bash kmod/build-kmod.sh --build $(BUILD) $*
	$(Q)touch $@

kmod: $(foreach k,$(LANE_KERNELS),$(BUILD)/kmod/.built-$(k))
.SECONDARY: $(foreach k,$(LANE_KERNELS) 6.12,$(BUILD)/kernels/$(k)/.done)

# the lane alone: `make lane [LANE_KERNELS=6.1] [LANE_TESTS='prog_*_test']`
lane: cxx kmod
	$(Q)bash kmod/run-lane.sh --build $(BUILD) --kernels "$(LANE_KERNELS)"

# the whole lane N times in a row, every run counted (kmod/lane-soak.sh): `make lane-soak N=10`
N ?= 10
lane-soak: cxx kmod
	$(Q)LANE_KERNELS="$(LANE_KERNELS)" bash kmod/lane-soak.sh --build $(BUILD) $(N)

clean:
	rm -rf $(BUILD) skel/*.skel.h
