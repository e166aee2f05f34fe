# make run   - install missing packages, build, start the hub on http://localhost:3000 (dev mode)
# make test  - install, build, run every test suite: release, then the sanitizer builds
#              (asan-ubsan: unit + integration; tsan: the transport, fan-out and history tests)
# make test-long - make test, then the crash test with 20 SIGKILLs (scripts/crash-test-long)
# make bench - the history benchmarks (bench/durable_publish.sh, bench/resume_history.sh)
# make compare - our hub side by side with nginx + nchan (bench/compare; QUICK=1 for a smoke run)
# make soak  - 30 minutes of subscriber waves against the LMDB hub (bench/soak.sh; SOAK_SECONDS)
# make fuzz  - build the fuzz preset (clang, libFuzzer) and run each target FUZZ_SECONDS (scripts/fuzz)
PRESET ?= release
BUILD_DIR := build/$(PRESET)
HUB := $(BUILD_DIR)/mercure-hub
# Each has its own build directory (build/<preset>); they share only ccache.
SANITIZER_PRESETS := asan-ubsan tsan
# Unity build (CMake): each target's sources compiled in batches of 8, which halves a clean
# build (docs/reliability.md). UNITY=OFF compiles one object per source: slower from scratch,
# quicker to rebuild after a change to one .cpp.
UNITY ?= ON

.PHONY: all deps configure build run test test-sanitizers test-long test-unit bench compare soak fuzz lint format clean

all: build

deps:
	@scripts/install-deps

configure: deps
	@cmake --preset $(PRESET) -DMERCURE_UNITY_BUILD=$(UNITY) >/dev/null

build: configure
	@cmake --build --preset $(PRESET)

run: build
	@scripts/run-dev $(HUB)

test: build
	@ctest --preset $(PRESET)
	@$(MAKE) --no-print-directory test-sanitizers

# Builds only mercure-hub and unit_tests (the build presets' targets) and runs the test preset.
test-sanitizers: $(SANITIZER_PRESETS:%=test-sanitizer-%)

test-sanitizer-%: deps
	@cmake --preset $* -DMERCURE_UNITY_BUILD=$(UNITY) >/dev/null
	@cmake --build --preset $*
	@ctest --preset $*

test-long: test
	@scripts/crash-test-long $(abspath $(HUB))

bench: build
	@bench/durable_publish.sh $(HUB)
	@bench/resume_history.sh $(HUB)

compare: build
	@scripts/install-deps bench
	@bench/compare $(HUB)

soak: build
	@bench/soak.sh $(HUB)

# libFuzzer targets (fuzz/), build/fuzz; artifacts in build/fuzz/artifacts. Non-zero exit on any
# crash, leak or timeout. FUZZ_TARGETS narrows the run (default: every target).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?=
fuzz:
	@scripts/install-deps fuzz
	@cmake --preset fuzz >/dev/null
	@cmake --build --preset fuzz
	@scripts/fuzz --seconds $(FUZZ_SECONDS) $(FUZZ_TARGETS)

test-unit: build
	@$(BUILD_DIR)/unit_tests

# clang-tidy needs one compile command per source: a configure-only directory without batches.
lint: deps
	@cmake --preset $(PRESET) -B build/lint -DMERCURE_UNITY_BUILD=OFF >/dev/null
	@scripts/lint build/lint

format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf build
