# make run   - install missing packages, build, start the hub on http://localhost:3000 (dev mode)
# make test  - install, build, run every test suite
# make test-long - make test, then the crash test with 20 SIGKILLs (scripts/crash-test-long)
# make bench - the history benchmarks (bench/durable_publish.sh, bench/resume_history.sh)
PRESET ?= release
BUILD_DIR := build/$(PRESET)
HUB := $(BUILD_DIR)/mercure-hub

.PHONY: all deps configure build run test test-long test-unit bench lint format clean

all: build

deps:
	@scripts/install-deps

configure: deps
	@cmake --preset $(PRESET) >/dev/null

build: configure
	@cmake --build --preset $(PRESET)

run: build
	@scripts/run-dev $(HUB)

test: build
	@ctest --preset $(PRESET)

test-long: test
	@scripts/crash-test-long $(abspath $(HUB))

bench: build
	@bench/durable_publish.sh $(HUB)
	@bench/resume_history.sh $(HUB)

test-unit: build
	@$(BUILD_DIR)/unit_tests

lint: configure
	@scripts/lint $(BUILD_DIR)

format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf build
