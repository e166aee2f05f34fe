# make run   - install missing packages, build, start the hub on http://localhost:3000 (dev mode)
# make test  - install, build, run every test suite
PRESET ?= release
BUILD_DIR := build/$(PRESET)
HUB := $(BUILD_DIR)/mercure-hub

.PHONY: all deps configure build run test test-unit lint format clean

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

test-unit: build
	@$(BUILD_DIR)/unit_tests

lint: configure
	@scripts/lint $(BUILD_DIR)

format:
	@git ls-files '*.cpp' '*.hpp' | xargs clang-format -i

clean:
	rm -rf build
